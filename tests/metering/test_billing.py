"""What a user pays for: answered API calls (2xx/3xx) only. Refusals (400, 401, 403, 404, 405,
429) and failures are free; a write and its bill commit together; orders and cancels are billed
once, by their own service; viewers never write usage."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import PriceAlert
from metering.models import Quota, UsageRecord
from metering.services import quota_status
from tests.threads import at_once
from tests.trades.conftest import order_body, set_quotes
from trading_demo.throttling import ApiUserRateThrottle


def billed(user) -> list[str]:
    return sorted(UsageRecord.objects.filter(user=user).values_list("operation", flat=True))


def alert_body(threshold: str = "120.00") -> dict[str, str]:
    return {"symbol": "ACME", "condition": "above", "threshold": threshold}


@pytest.mark.django_db
def test_130_reads_against_a_rate_limit_of_99_bill_the_99_answered(monkeypatch, client_for, trader):
    # Per day: the windows are fixed and aligned, and a run across a minute's edge would
    # start a fresh one half-way.
    monkeypatch.setattr(ApiUserRateThrottle, "rate", "99/day", raising=False)
    api = client_for(trader)

    codes = [api.get("/api/portfolio").status_code for _ in range(130)]

    assert codes.count(200) == 99
    assert codes.count(429) == 31
    assert billed(trader) == ["portfolio.get"] * 99
    assert quota_status(user_id=trader.pk).used == 99


@pytest.mark.django_db
def test_refused_calls_are_not_billed(client_for, api, trader, viewer, acme):
    client = client_for(trader)
    refusals = {
        "400 bad filter": client.get("/api/trades", {"status": "bogus"}),
        "400 bad body": client.post("/api/alerts", alert_body("-1"), format="json"),
        "404 unknown order": client.get(f"/api/trades/{uuid.uuid4()}"),
        "404 unknown route": client.get("/api/no-such-thing"),
        "405 method": client.patch("/api/portfolio", {}, format="json"),
        "405 method on a write view": client.put("/api/alerts", {}, format="json"),
    }
    viewer_write = client_for(viewer).post("/api/alerts", alert_body(), format="json")
    anonymous = api.get("/api/portfolio")

    assert {name: r.status_code for name, r in refusals.items()} == {
        "400 bad filter": 400,
        "400 bad body": 400,
        "404 unknown order": 404,
        "404 unknown route": 404,
        "405 method": 405,
        "405 method on a write view": 405,
    }
    assert (viewer_write.status_code, anonymous.status_code) == (403, 401)
    assert UsageRecord.objects.count() == 0
    assert quota_status(user_id=trader.pk).used == 0
    assert client.get("/api/trades").status_code == 200
    assert billed(trader) == ["api.call"]  # the first answered call is the first bill


@pytest.mark.django_db
def test_a_call_over_quota_is_refused_and_free(client_for, trader):
    Quota.objects.create(user=trader, monthly_limit=2)
    api = client_for(trader)
    codes = [api.get("/api/portfolio").status_code for _ in range(4)]
    refused = api.get("/api/portfolio").json()

    assert codes == [200, 200, 429, 429]
    assert refused["error"] == "quota_exceeded"
    assert (refused["details"]["limit"], refused["details"]["used"]) == (2, 2)
    assert quota_status(user_id=trader.pk).used == 2
    assert api.get("/api/metering/quota").status_code == 200  # free: the trader can see why


@pytest.mark.django_db
def test_an_answered_write_is_billed_once_with_its_work(client_for, trader, acme):
    response = client_for(trader).post("/api/alerts", alert_body(), format="json")
    assert response.status_code == 201
    assert PriceAlert.objects.filter(user=trader).count() == 1
    assert billed(trader) == ["api.call"]


@pytest.mark.django_db
def test_orders_and_cancels_are_billed_by_their_service_only(client_for, trader, acme):
    set_quotes(acme, asks=[("100.05", 1_000)])
    api = client_for(trader)
    filled = api.post("/api/trades", order_body(client_order_id="f1"), format="json")
    resting = api.post(
        "/api/trades",
        order_body(order_type="LIMIT", price="95.00", time_in_force="GTC", client_order_id="r1"),
        format="json",
    )
    cancelled = api.delete(f"/api/trades/{resting.json()['id']}")
    replay = api.post("/api/trades", order_body(client_order_id="f1"), format="json")

    assert (filled.status_code, resting.status_code, cancelled.status_code) == (201, 201, 200)
    assert replay.status_code == 200  # the same order back, not a new one
    assert billed(trader) == ["trade.cancel", "trade.execute"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["reads", "writes"])
def test_concurrent_calls_at_the_quota_bill_exactly_the_quota(client_for, trader, acme, kind):
    # Every call may pass the quota gate at once; the bill itself counts exactly, and a write
    # refused at the bill leaves no work behind.
    Quota.objects.create(user=trader, monthly_limit=5)
    api = client_for(trader)

    def call(n: int) -> int:
        if kind == "reads":
            return api.get("/api/portfolio").status_code
        return api.post("/api/alerts", alert_body(f"{110 + n}.00"), format="json").status_code

    codes = at_once([lambda n=n: call(n) for n in range(12)])

    answered = 201 if kind == "writes" else 200
    assert sorted(codes) == [answered] * 5 + [429] * 7
    assert quota_status(user_id=trader.pk).used == 5
    assert UsageRecord.objects.filter(user=trader).count() == 5
    if kind == "writes":
        assert PriceAlert.objects.filter(user=trader).count() == 5


@pytest.mark.django_db
def test_viewers_never_write_usage_through_track(client_for, viewer, trader):
    response = client_for(viewer).post(
        "/api/metering/track", {"operation": "api.call", "quantity": 5}, format="json"
    )
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "permission_denied"
    assert set(body) == {"error", "message", "details"}
    assert UsageRecord.objects.filter(user=viewer).count() == 0
    assert quota_status(user_id=viewer.pk).used == 0

    ok = client_for(trader).post(
        "/api/metering/track", {"operation": "api.call", "quantity": 5}, format="json"
    )
    assert ok.status_code == 201
    assert quota_status(user_id=trader.pk).used == 5


@pytest.mark.django_db
def test_track_never_goes_past_the_quota(client_for, trader):
    Quota.objects.create(user=trader, monthly_limit=10)
    api = client_for(trader)
    first = api.post("/api/metering/track", {"operation": "api.call", "quantity": 8}, format="json")
    over = api.post("/api/metering/track", {"operation": "api.call", "quantity": 3}, format="json")

    assert (first.status_code, over.status_code) == (201, 429)
    assert over.json()["error"] == "quota_exceeded"
    assert quota_status(user_id=trader.pk).used == 8


@pytest.mark.django_db
def test_a_billed_read_costs_what_it_did_before_the_bill_moved(client_for, trader):
    api = client_for(trader)
    api.get("/api/portfolio")  # the month's counter exists

    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/portfolio").status_code == 200

    metering = [q["sql"] for q in queries.captured_queries if "metering_" in q["sql"]]
    # The quota check, the counter's UPDATE … RETURNING (with the limit), the record.
    assert sorted(sql.split()[0].upper() for sql in metering) == ["INSERT", "SELECT", "UPDATE"]
