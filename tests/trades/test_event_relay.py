"""Relay mode (no Redis: the HTTP workers reach the socket server through the database): an
order's events are written inside the order's own transaction, so an order takes SQLite's
write lock once, and nothing of a rolled-back order is relayed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.trades.conftest import order_body, set_quotes
from trading_demo import realtime
from trading_demo.models import RelayEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def relay_mode(monkeypatch):
    monkeypatch.setattr(realtime, "_relay_through_database", True)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's writer queue only")
def test_an_orders_events_commit_with_it_in_one_write_transaction(
    relay_mode, client_for, trader, acme
):
    set_quotes(acme, asks=[("100.10", 10)])
    api = client_for(trader)
    assert api.post("/api/trades", order_body(quantity=1), format="json").status_code == 201
    RelayEvent.objects.all().delete()  # the first order also opened the account
    with CaptureQueriesContext(connection) as captured:
        response = api.post("/api/trades", order_body(quantity=3), format="json")
    assert response.status_code == 201
    sql = [query["sql"] for query in captured.captured_queries]
    begins = [n for n, text in enumerate(sql) if text.startswith("BEGIN")]
    commits = [n for n, text in enumerate(sql) if text == "COMMIT"]
    relays = [n for n, text in enumerate(sql) if "trading_demo_relayevent" in text]
    assert len(begins) == 1 and len(commits) == 1, sql
    assert len(relays) == 1 and begins[0] < relays[0] < commits[0], sql
    events = [row.message["event"] for row in RelayEvent.objects.order_by("id")]
    assert "trade:created" in events and "trade:executed" in events


def test_a_refused_order_relays_nothing(relay_mode, client_for, trader, acme):
    set_quotes(acme, asks=[("100.10", 10)])
    api = client_for(trader)
    response = api.post("/api/trades", order_body(quantity=10**6), format="json")
    assert response.status_code in (400, 422), response.json()
    assert not RelayEvent.objects.exists()
    assert api.post("/api/trades", order_body(quantity=2), format="json").status_code == 201
    assert RelayEvent.objects.exists()
