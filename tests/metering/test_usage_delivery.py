"""The usage outbox: every billable operation reaches the real metering service exactly
once, even when the service is killed part way and comes back."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from metering import client
from metering.models import UsageRecord
from metering.services import usage_deliver_pending, usage_record
from tests.trades.conftest import order_body, set_quotes

pytestmark = pytest.mark.django_db
OPERATIONS = ["trade.execute", "trade.cancel", "portfolio.get", "api.call"]


def deliver_until_done(limit: int = 50) -> None:
    later = timezone.now()
    for _ in range(limit):
        if not UsageRecord.objects.filter(status="pending").exists():
            return
        later += timedelta(minutes=5)  # past any backoff
        usage_deliver_pending(now=later)
    raise AssertionError("records still pending")


def test_500_operations_survive_a_killed_service_exactly_once(metering, trader):
    for n in range(500):
        usage_record(user_id=trader.pk, operation=OPERATIONS[n % 4])
    first = usage_deliver_pending(batch=150)
    assert (first.delivered, first.failed) == (150, 0)
    metering.kill()
    down = usage_deliver_pending(batch=150)
    assert down.delivered == 0 and down.error
    assert UsageRecord.objects.filter(status="pending").count() == 350
    # A record whose acknowledgement was lost is sent again: the service counts it once.
    lost = UsageRecord.objects.filter(status="delivered").order_by("occurred_at").first()
    UsageRecord.objects.filter(pk=lost.pk).update(status="pending")
    metering.start()
    deliver_until_done()
    local = Counter(UsageRecord.objects.values_list("operation", flat=True))
    remote = client.get_usage(user_id=str(trader.pk), period="month")
    assert {line.type: line.count for line in remote.breakdown if line.count} == dict(local)
    assert remote.total_operations == 500
    assert not UsageRecord.objects.exclude(status="delivered").exists()


def test_a_record_the_service_refuses_stays_pending_with_its_reason_and_the_rest_go(
    metering, trader
):
    good = [usage_record(user_id=trader.pk, operation="api.call") for _ in range(3)]
    refused = usage_record(user_id=trader.pk, operation="trade.execute")
    # An operation the service has no price for (the table was edited by hand, say).
    UsageRecord.objects.filter(pk=refused.pk).update(operation="trade.teleport")

    report = usage_deliver_pending()

    assert (report.delivered, report.failed, report.error) == (3, 1, "")
    assert set(UsageRecord.objects.filter(status="delivered").values_list("pk", flat=True)) == {
        record.pk for record in good
    }
    kept = UsageRecord.objects.get(pk=refused.pk)
    assert kept.status == "pending" and kept.attempts == 1
    assert "unknown operation 'trade.teleport'" in kept.last_error
    assert kept.next_attempt_at > timezone.now()
    assert client.get_usage(user_id=str(trader.pk), period="month").total_operations == 3


def test_metering_down_never_blocks_a_trade(metering, client_for, trader, acme):
    metering.kill()
    set_quotes(acme, asks=[("100.00", 10)])
    response = client_for(trader).post("/api/trades", order_body(), format="json")
    assert response.status_code == 201 and response.json()["status"] == "filled"
    assert UsageRecord.objects.filter(user=trader, operation="trade.execute").count() == 1


def test_costs_of_n_trades_to_the_cent(client_for, trader, acme):
    api = client_for(trader)
    set_quotes(acme, asks=[("100.00", 1000)])
    for _ in range(7):
        api.post("/api/trades", order_body(quantity=1), format="json")
    resting = api.post(
        "/api/trades",
        order_body(order_type="LIMIT", price="95.00", time_in_force="GTC"),
        format="json",
    ).json()
    api.delete(f"/api/trades/{resting['id']}")
    api.get("/api/portfolio")
    api.get("/api/portfolio")
    usage = api.get("/api/metering/usage?period=month").json()
    lines = {line["type"]: (line["count"], line["cost"]) for line in usage["breakdown"]}
    assert lines["trade.execute"] == (7, "0.070")
    assert lines["trade.cancel"] == (1, "0.001")
    assert lines["portfolio.get"] == (2, "0.002")
    # Free: placing (billed on execution), the cancel request itself, and the metering reads.
    assert lines["api.call"] == (0, "0.000")
    assert usage["total_operations"] == 10 and usage["total_cost"] == "0.073"
    costs = api.get("/api/metering/costs").json()
    assert costs["total_cost"] == "0.073"
    assert costs["prices"]["trade.execute"] == "0.01"


def test_other_api_calls_are_billed_as_api_call(client_for, trader, acme):
    api = client_for(trader)
    api.get("/api/market/symbols")
    api.get("/api/trades")
    usage = api.get("/api/metering/usage?period=day").json()
    assert {line["type"]: line["count"] for line in usage["breakdown"]}["api.call"] == 2


def test_track_validates_and_estimate_prices(client_for, trader):
    api = client_for(trader)
    bad = api.post("/api/metering/track", {"operation": "coffee.brew"}, format="json")
    assert bad.status_code == 400 and "operation" in bad.json()["details"]
    ok = api.post("/api/metering/track", {"operation": "api.call", "quantity": 3}, format="json")
    assert ok.status_code == 201 and ok.json()["cost"] == "0.003"
    estimate = api.post(
        "/api/metering/estimate",
        {"counts": {"trade.execute": 1000, "api.call": 5000}},
        format="json",
    ).json()
    assert estimate["total_cost"] == "15.000"
    unknown = api.post("/api/metering/estimate", {"counts": {"x": 1}}, format="json")
    assert unknown.status_code == 400


def test_quota_exhausted_refuses_billable_calls_but_not_reads(client_for, trader, acme):
    from metering.models import Quota

    Quota.objects.create(user=trader, monthly_limit=3)
    api = client_for(trader)
    for _ in range(3):
        usage_record(user_id=trader.pk, operation="api.call")
    refused = api.post("/api/trades", order_body(), format="json")
    assert refused.status_code == 429
    assert refused.json()["error"] == "quota_exceeded"
    assert refused.json()["details"]["reset_at"]
    assert api.get("/api/portfolio").status_code == 429
    quota = api.get("/api/metering/quota").json()
    assert (quota["state"], quota["used"], quota["remaining"]) == ("exceeded", 3, 0)
    assert api.get("/api/auth/me").status_code == 200
    assert UsageRecord.objects.filter(user=trader).count() == 3
