# Two commands: `make run` and `make test`. Everything else is here for the curious.
SHELL := /bin/bash
PYTHON_VERSION := 3.12
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Development defaults; override on the command line or in the environment.
export DEBUG ?= 1
export PORT ?= 8000
export HOST ?= 127.0.0.1

.PHONY: run test check lint format typecheck security deploy-check install migrate seed certs screenshots clean protos protos-check bench bench-engine bench-orders bench-load bench-load-pg

# Find a Python 3.12: python3.12 on PATH, or one managed by pyenv.
PYTHON_BOOT := $(shell command -v python$(PYTHON_VERSION) 2>/dev/null || ls -d $$HOME/.pyenv/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION) 2>/dev/null | tail -n 1)

$(PY):
	@test -n "$(PYTHON_BOOT)" || { echo "Python $(PYTHON_VERSION) is needed (python$(PYTHON_VERSION) not found)"; exit 1; }
	$(PYTHON_BOOT) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	$(PY) -m trading_demo.supervisor

test: install
	$(PY) -m pytest

# Schemathesis against the served schema, as a trader and as a manager: every phase (coverage's
# boundary values too) and every check, FUZZ_EXAMPLES cases per operation and phase. `make test`
# runs the same test bounded (3 cases, no coverage phase).
FUZZ_EXAMPLES ?= 50
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	  $(PY) -m pytest tests/contract/test_schemathesis.py -q -s -p no:cacheprovider -o timeout=3600

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy .

# Medium severity and above fails; a `# nosec BXXX` carries its reason on the same line.
security: install
	$(VENV)/bin/bandit -q -c pyproject.toml -r . --severity-level medium

deploy-check: install
	DEBUG=0 HTTPS=1 SECRET_KEY=check-deploy-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	ALLOWED_HOSTS=trading.example.com $(PY) manage.py check --deploy --fail-level WARNING

protos: install
	$(PY) -m trading_demo.protogen

protos-check: install
	$(PY) -m trading_demo.protogen --check

# Speed is measured here, never by timed tests.
bench-engine: install
	$(PY) -m bench.engine

bench-orders: install
	$(PY) -m bench.orders

bench: bench-engine bench-orders

# The whole stack under wrk next to a bare DRF reference (bench/load.py); figures are printed,
# never asserted. BENCH_ARGS=--quick for a short run, --production for DEBUG=0, --soak N.
BENCH_ARGS ?=
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/trading_demo_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14

bench-load: install
	$(PY) -m bench.load --database-url '' --redis-url '' $(BENCH_ARGS)

# The same against PostgreSQL + Redis (the database is dropped and created, the Redis db flushed).
bench-load-pg: install
	$(PY) -m bench.load --database-url $(BENCH_DATABASE_URL) --redis-url $(BENCH_REDIS_URL) $(BENCH_ARGS)

check: lint typecheck security deploy-check protos-check

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# A self-signed certificate for docker-compose's nginx (localhost only).
certs:
	mkdir -p deploy/certs
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
	  -keyout deploy/certs/tls.key -out deploy/certs/tls.crt

# Browser tests write their screenshots into docs/screenshots for the README.
screenshots: install
	SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest tests/browser tests/alerts/test_alerts_browser.py -q
