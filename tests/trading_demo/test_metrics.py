"""`/metrics`: staff only; requests by route and status, latency, orders by status, outbox
backlogs and open sockets, and the same numbers whichever of several web processes answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from metering.models import UsageRecord
from tests.factories import PASSWORD
from tests.servers import Daphne, Granian, browser_session, cookie_header, wait_for
from tests.trades.conftest import order_body, set_quotes

TOKEN = "scrape-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_only_staff_and_the_scrape_token_see_metrics(client, settings, trader, manager, viewer):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 404
    for user in (trader, viewer):
        client.force_login(user)
        assert client.get("/metrics").status_code == 404
    client.force_login(manager)
    assert client.get("/metrics").status_code == 200
    client.logout()
    scraped = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert scraped.status_code == 200
    assert scraped["Content-Type"].startswith("text/plain; version=")
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


@pytest.mark.django_db
def test_without_a_token_configured_no_bearer_gets_in(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
def test_requests_are_counted_by_route_not_path(client, settings, client_for, trader):
    settings.METRICS_TOKEN = TOKEN
    api = client_for(trader)
    before = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    for _ in range(3):
        assert api.get("/api/auth/me").status_code == 200
    missing = "/api/trades/0190a0a0-0000-7000-8000-000000000000"
    assert api.get(missing).status_code == 404
    assert client.get("/no-such-page/wp-login.php").status_code == 404

    after = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("http_requests_total", route="api-me", method="GET", status="200") == 3
    assert grew("http_requests_total", route="api-trade", method="GET", status="404") == 1
    assert grew("http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert grew("http_request_duration_seconds_count", route="api-me", method="GET") == 3
    assert missing not in after and "wp-login" not in after


@pytest.mark.django_db
def test_orders_and_outboxes_come_from_the_database(client, settings, client_for, trader, acme):
    settings.METRICS_TOKEN = TOKEN
    set_quotes(acme, asks=[("100.00", 10)])
    api = client_for(trader)
    filled = api.post("/api/trades", order_body(client_order_id="m-1"), format="json")
    assert filled.status_code == 201
    resting = order_body(
        client_order_id="m-2", order_type="LIMIT", price="95.00", time_in_force="GTC"
    )
    assert api.post("/api/trades", resting, format="json").status_code == 201

    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    assert value(text, "trading_orders", status="filled") == 1
    assert value(text, "trading_orders", status="open") == 1
    assert value(text, "trading_orders", status="rejected") == 0
    pending = UsageRecord.objects.filter(status=UsageRecord.Status.PENDING).count()
    assert pending >= 1
    assert value(text, "trading_outbox_pending", outbox="usage") == pending
    assert value(text, "trading_outbox_pending", outbox="slack") == 0
    assert value(text, "trading_outbox_oldest_pending_age_seconds", outbox="usage") >= 0


@pytest.fixture
def servers(tmp_path: Path, oversight_shared) -> Iterator[tuple[Granian, Daphne]]:
    """Two Granian workers and a socket server counting into one multiprocess directory, as
    the supervisor runs them."""
    shared = {
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "METRICS_TOKEN": TOKEN,
        "OVERSIGHT_GRPC_URL": oversight_shared.target,
    }
    web = Granian(workers=2, extra_env=shared)
    sockets = Daphne(extra_env=shared)
    yield web, sockets
    sockets.stop()
    web.stop()


def scrape(web: Granian) -> str:
    response = requests.get(
        web.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200
    return response.text


@pytest.mark.django_db(transaction=True)
def test_counts_are_right_across_web_workers_and_sockets_are_counted(servers, trader):
    web, sockets = servers
    assert len(web.worker_pids()) == 2

    def logins() -> float:
        return value(scrape(web), "http_requests_total", route="login", method="GET", status="200")

    before = logins()  # the servers' start-up probes
    for _ in range(40):  # a new connection each: the workers take turns accepting them
        assert requests.get(web.url + "/login/", timeout=5).status_code == 200
    # Each scrape is answered by whichever worker takes it: every one must see all 40.
    assert {logins() - before for _ in range(8)} == {40}

    session = browser_session(sockets.url, trader.email, PASSWORD)
    headers = {"Cookie": cookie_header(session), "Origin": sockets.url}
    with (
        connect(sockets.ws_url + "/ws/", additional_headers=headers, open_timeout=5) as first,
        connect(sockets.ws_url + "/ws/", additional_headers=headers, open_timeout=5) as second,
    ):
        assert first.recv(timeout=5) and second.recv(timeout=5)  # both greeted
        assert value(scrape(web), "websocket_connections") == 2
        second.close()
        assert wait_for(lambda: value(scrape(web), "websocket_connections") == 1, timeout=10)
    assert wait_for(lambda: value(scrape(web), "websocket_connections") == 0, timeout=10)


def test_the_supervisor_gives_every_child_a_fresh_metrics_dir(tmp_path, monkeypatch):
    from trading_demo import supervisor

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    stale = tmp_path / "prometheus" / "counter_4242.db"
    stale.parent.mkdir()
    stale.write_bytes(b"from an earlier run")

    path = supervisor.metrics_dir_prepare()

    assert path == tmp_path / "prometheus"
    assert supervisor.os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(path)
    assert not stale.exists()
