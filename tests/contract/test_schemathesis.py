"""Schemathesis against the served schema (issue 12): as a trader and as a manager, every check
on, a fixed seed, 0 failures. `make fuzz` runs the same with more examples per operation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conftest import jwt_for
from tests.contract.fuzz import examples_from_env, fuzz
from tests.metering.conftest import MeteringServer
from tests.oversight.conftest import OversightServer
from tests.servers import Daphne
from tests.trades.conftest import make_symbol, set_quotes
from trading_demo.urls import urlpatterns  # noqa: F401  (the URL conf the schema is made from)

# The suite's bounded run: a few cases per operation from the examples, fuzzing and stateful
# phases. `make fuzz` sets FUZZ_EXAMPLES and FUZZ_PHASES (all four, coverage's boundary values
# too).
BOUNDED_EXAMPLES = 3
BOUNDED_PHASES = "examples,fuzzing,stateful"


@pytest.fixture(scope="module")
def web(
    django_db_setup: None,
    oversight_shared: OversightServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Daphne]:
    """A real web server on the test database with real metering and oversight services; the
    rate limit raised so the run tests the API rather than the limiter."""
    metering = MeteringServer(Path(tmp_path_factory.mktemp("fuzz-metering")))
    metering.start()
    server = Daphne(
        extra_env={
            "OVERSIGHT_GRPC_URL": oversight_shared.target,
            "METERING_GRPC_URL": metering.target,
            "API_RATE_LIMIT": "100000/min",
        }
    )
    yield server
    server.stop()
    metering.kill()


@pytest.fixture
def market(transactional_db: None) -> None:
    """Two listed symbols with quotes, so orders can trade."""
    for code, bid, ask in (("AAPL", "189.95", "190.05"), ("MSFT", "409.95", "410.05")):
        symbol = make_symbol(code, bid)
        set_quotes(symbol, bids=[(bid, 500)], asks=[(ask, 500)])


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("role", ["trader", "manager"])
def test_schemathesis_finds_nothing(web, market, role, request):
    user = request.getfixturevalue(role)
    report = fuzz(
        base_url=web.url,
        token=jwt_for(user),
        max_examples=examples_from_env(BOUNDED_EXAMPLES),
        phases=os.environ.get("FUZZ_PHASES", BOUNDED_PHASES).split(","),
    )
    print(f"\n{role}: {report.summary()}")
    assert report.failures == [], report.summary()
    assert report.errors == [], report.summary()
    # Every operation of the served schema was called (and its answers checked).
    schema = requests.get(
        f"{web.url}/api/schema/",
        headers={"Accept": "application/vnd.oai.openapi+json"},
        timeout=30,
    ).json()
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    called = {operation for operation, _ in report.statuses}
    assert documented - called == set()
    assert report.cases >= 4 * len(documented), report.summary()
