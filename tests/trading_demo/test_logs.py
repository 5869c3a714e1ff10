"""Structured logs: one JSON object per line in production, with the request id and user id, no
secrets, e-mail addresses masked, and one line (no traceback) for a 403 or a 404."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
import structlog

from tests.factories import PASSWORD
from tests.servers import ROOT, Daphne, browser_session
from trading_demo.logs import formatter, request_id_for


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """A logger named like ours, on a handler with the production formatter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(json=True))
    logger = logging.getLogger("trades.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield out
    logger.removeHandler(handler)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_messages_mask_addresses_and_drop_tokens(json_lines):
    logger = logging.getLogger("trades.test_logs")
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

    logger.warning("login failed for tess@example.com with Authorization: Bearer %s", jwt)
    logger.info("personal key td_Zm9vYmFyYmF6cXV4 used by ada.lovelace@mail.example.org")

    first, second = lines(json_lines)
    assert first["event"] == (
        "login failed for t***@example.com with Authorization: Bearer [redacted]"
    )
    assert (first["level"], first["logger"]) == ("warning", "trades.test_logs")
    assert first["timestamp"].endswith("Z")  # type: ignore[union-attr]
    assert second["event"] == "personal key td_[redacted] used by a***@mail.example.org"


def test_structured_fields_named_like_secrets_are_dropped(json_lines):
    log = structlog.get_logger("trades.test_logs")

    log.info(
        "api call",
        email="theo@example.com",
        password="hunter2-hunter2",
        headers={
            "Authorization": "Token abc",
            "APCA-API-SECRET-KEY": "s3cr3t",
            "APCA-API-KEY-ID": "PK123",
            "Accept": "application/json",
        },
        refresh_token="r",
        deep={"a": {"b": {"c": {"d": {"e": "ada@example.com Bearer abcdefghijkl"}}}}},
    )

    (line,) = lines(json_lines)
    assert line["email"] == "t***@example.com"
    assert line["password"] == "[redacted]"
    assert line["refresh_token"] == "[redacted]"
    assert line["headers"] == {
        "Authorization": "[redacted]",
        "APCA-API-SECRET-KEY": "[redacted]",
        "APCA-API-KEY-ID": "[redacted]",
        "Accept": "application/json",
    }
    assert "hunter2" not in json_lines.getvalue() and "s3cr3t" not in json_lines.getvalue()
    assert "ada@" not in json_lines.getvalue() and "abcdefghijkl" not in json_lines.getvalue()


def test_a_traceback_is_one_json_line_and_scrubbed_too(json_lines):
    logger = logging.getLogger("trades.test_logs")
    try:
        raise ValueError("no account for tess@example.com")
    except ValueError:
        logger.exception("order failed")

    (line,) = lines(json_lines)
    assert line["level"] == "error"
    assert "ValueError: no account for t***@example.com" in line["exception"]  # type: ignore[operator]
    assert "tess@" not in json_lines.getvalue()


def test_only_sane_incoming_request_ids_are_kept():
    assert request_id_for("4f1c2a9e-0b7d-4c55-9b0e-4a1d7f3e2b10") == (
        "4f1c2a9e-0b7d-4c55-9b0e-4a1d7f3e2b10"
    )
    for hostile in ("", None, "a b", 'x"y', "x\r\nSet-Cookie: a=b", "x" * 129):
        generated = request_id_for(hostile)
        assert generated != hostile and len(generated) == 32


def test_production_settings_log_json_lines():
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "LOG_FORMAT"}}
    script = (
        "import django, logging; django.setup();"
        "logging.getLogger('trades').warning('filled for tess@example.com')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "trading_demo.settings",
            "DEBUG": "0",
            "SECRET_KEY": "k" * 50,
        },
    )
    (line,) = [json.loads(text) for text in result.stderr.splitlines()]
    assert line["event"] == "filled for t***@example.com"
    assert line["logger"] == "trades"


@pytest.fixture(scope="module")
def json_server(django_db_setup, django_db_blocker, oversight_shared) -> Iterator[Daphne]:
    server = Daphne(extra_env={"LOG_FORMAT": "json", "OVERSIGHT_GRPC_URL": oversight_shared.target})
    yield server
    server.stop()


def server_lines(server: Daphne, request_id: str) -> list[dict[str, object]]:
    server.log.flush()
    found = []
    with open(server.log.name) as log:
        for text in log:
            if request_id in text:
                found.append(json.loads(text))
    return found


@pytest.mark.django_db(transaction=True)
def test_403_and_404_are_one_line_each_with_the_request_and_user(json_server, viewer):
    session = browser_session(json_server.url, viewer.email, PASSWORD)

    missing = requests.get(
        json_server.url + "/no-such-page", headers={"X-Request-ID": "req-missing-1"}, timeout=5
    )
    forbidden = session.get(json_server.url + "/approvals/", timeout=5)

    assert (missing.status_code, missing.headers["X-Request-ID"]) == (404, "req-missing-1")
    assert forbidden.status_code == 403
    generated = forbidden.headers["X-Request-ID"]
    assert len(generated) == 32
    (not_found,) = server_lines(json_server, "req-missing-1")
    assert not_found | {"timestamp": None} == {
        "event": "Not Found: /no-such-page",
        "level": "warning",
        "logger": "django.request",
        "status_code": 404,
        "method": "GET",
        "path": "/no-such-page",
        "request_id": "req-missing-1",
        "timestamp": None,
    }
    (denied,) = server_lines(json_server, generated)
    assert denied["event"] == "Forbidden (Permission denied): /approvals/"
    assert denied["user_id"] == str(viewer.pk)
    assert "exception" not in denied
    with open(json_server.log.name) as log:
        assert "Traceback" not in log.read()


def test_the_grpc_servers_log_the_same_json_lines(tmp_path, monkeypatch):
    from tests.metering.conftest import MeteringServer

    monkeypatch.setenv("LOG_FORMAT", "json")
    server = MeteringServer(tmp_path)
    server.start()
    assert server.stop() == 0  # SIGTERM: it logs its graceful stop

    records = [json.loads(line) for line in server.log_path.read_text().splitlines()]
    assert records and all(record["timestamp"].endswith("Z") for record in records)
    assert records[-1] | {"timestamp": None} == {
        "event": "metering stopped",
        "level": "info",
        "logger": "metering.server",
        "timestamp": None,
    }


def test_the_log_set_up_of_the_grpc_servers_needs_no_django():
    script = "import sys, trading_demo.logs; print(sorted(m for m in sys.modules if m == 'django'))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
