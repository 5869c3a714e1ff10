"""The monthly quota holds when one trader's orders arrive all at once.

Real threads, each with its own database connection, through the real API (JWT, throttles,
the order service, the oversight server in its own process). The suite runs on SQLite and, in
CI's second run (`DATABASE_URL=postgres://…`), on PostgreSQL: on PostgreSQL each order's
transaction holds the trader's account row (`SELECT … FOR UPDATE`) when it reads the quota, on
SQLite the IMMEDIATE transaction holds the database's write lock.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from conftest import jwt_for
from metering.models import Quota, UsageRecord
from metering.services import quota_status
from portfolio.models import Account
from portfolio.selectors import ledger_check
from tests.threads import at_once
from tests.trades.conftest import make_symbol, order_body, set_quotes
from trades.models import Order

pytestmark = pytest.mark.django_db(transaction=True)
QUOTA = 30
ORDERS = 50


def signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(user)}")
    return client


@pytest.mark.parametrize("codes", [["ACME"], ["ACME", "BOLT", "CRUX", "DYNE", "EPIC"]])
def test_50_concurrent_orders_on_a_quota_of_30_accept_exactly_30(settings, trader, codes):
    # The 50 risk scores queue on the shared oversight server: give them time, so a refusal
    # can only be the quota's.
    settings.ORDER_TIMEOUT_SECONDS = 60.0
    for code in codes:
        set_quotes(make_symbol(code), asks=[("100.05", 1_000_000)])
    Quota.objects.create(user=trader, monthly_limit=QUOTA)
    api = signed_in(trader)

    def place(n: int) -> tuple[int, dict]:
        body = order_body(symbol=codes[n % len(codes)], quantity=1, client_order_id=f"q-{n}")
        response = api.post("/api/trades", body, format="json")
        return response.status_code, response.json()

    results = at_once([lambda n=n: place(n) for n in range(ORDERS)])

    assert len(results) == ORDERS  # every thread answered
    accepted = [body for code, body in results if code == 201]
    refused = [(code, body) for code, body in results if code != 201]
    assert len(accepted) == QUOTA
    assert {body["status"] for body in accepted} == {"filled"}
    assert len(refused) == ORDERS - QUOTA
    for code, body in refused:
        assert code == 429
        assert body["error"] == "quota_exceeded"
        assert body["message"].startswith(f"Monthly quota of {QUOTA} billable operations used up")
        assert (body["details"]["limit"], body["details"]["used"]) == (QUOTA, QUOTA)
    assert quota_status(user_id=trader.pk).used == QUOTA
    assert UsageRecord.objects.filter(user=trader, operation="trade.execute").count() == QUOTA
    # A refused order leaves nothing behind: no order row, no reserved cash, no extra shares.
    assert Order.objects.filter(user=trader).count() == QUOTA
    assert {o["client_order_id"] for o in accepted} == set(
        Order.objects.filter(user=trader).values_list("client_order_id", flat=True)
    )
    assert Account.objects.get(user=trader).reserved_cash == Decimal(0)
    assert ledger_check().differences == []


@pytest.mark.django_db
def test_an_order_costs_metering_one_quota_read_one_record_and_one_counter_update(trader, acme):
    """The order path's metering statements stay what they were made for speed: the quota
    check is one read, the bill one insert and one `UPDATE … RETURNING` that reads the limit
    back too, with no savepoint around them; billing after the answer adds nothing to it."""
    set_quotes(acme, asks=[("100.05", 1_000)])
    api = signed_in(trader)
    api.post("/api/trades", order_body(client_order_id="warm"), format="json")  # counter exists

    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/trades", order_body(client_order_id="next"), format="json")

    assert response.status_code == 201
    metering = [q["sql"] for q in queries.captured_queries if "metering_" in q["sql"]]
    kinds = sorted(sql.split()[0].upper() for sql in metering)
    assert kinds == ["INSERT", "SELECT", "UPDATE"]
    update = next(sql for sql in metering if sql.upper().startswith("UPDATE"))
    assert "RETURNING" in update.upper() and "monthly_limit" in update
    # One savepoint: the order's own transaction, nested in the test's (none of the bill's).
    statements = [q["sql"] for q in queries.captured_queries]
    savepoints = [i for i, sql in enumerate(statements) if sql.upper().startswith("SAVEPOINT")]
    assert len(savepoints) == 1
    # The quota is read before that transaction takes its lock, not while every writer waits.
    quota_read = next(i for i, sql in enumerate(statements) if sql in metering and "SELECT" in sql)
    assert quota_read < savepoints[0]
