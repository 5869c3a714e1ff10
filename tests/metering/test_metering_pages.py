from __future__ import annotations

import pytest

from metering.models import Quota
from metering.services import usage_record

pytestmark = pytest.mark.django_db


def test_metering_page_shows_usage_cost_quota_and_delivery(client, trader):
    Quota.objects.create(user=trader, monthly_limit=1000)
    for operation in ("trade.execute", "trade.execute", "api.call"):
        usage_record(user_id=trader.pk, operation=operation)
    client.force_login(trader)
    html = client.get("/metering/").content.decode()
    assert "$0.021" in html
    assert 'data-testid="pending">3<' in html
    assert "3</strong> of 1,000 billable operations" in html
    assert 'id="quota-badge"' in html and "Quota 0.3%" in html


def test_estimator_updates_as_you_type(client, trader):
    client.force_login(trader)
    response = client.post(
        "/metering/estimate/", {"trade.execute": "2000", "api.call": "10"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert 'data-testid="estimate-total">$20.01<' in html
    bad = client.post("/metering/estimate/", {"trade.execute": "-3"}).content.decode()
    assert "A whole number" in bad


def test_statement_csv_lists_the_months_records(client_for, trader):
    usage_record(user_id=trader.pk, operation="portfolio.get")
    response = client_for(trader).get("/api/metering/statement")
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("time,operation,quantity")
    assert lines[1].split(",")[1:4] == ["portfolio.get", "1", "0.001000"]
    assert client_for(trader).get("/api/metering/statement?month=2026-13").status_code == 400


def test_manager_sets_a_quota_in_admin_and_it_reaches_the_service(
    client, manager, trader, metering
):
    from metering import client as metering_client
    from trading_demo.services import roles_sync

    roles_sync()
    client.force_login(manager)
    response = client.post(
        "/admin/metering/quota/add/", {"user": str(trader.pk), "monthly_limit": "250"}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    quota = Quota.objects.get(user=trader)
    assert quota.monthly_limit == 250 and quota.synced_at is not None
    assert metering_client.check_quota(user_id=str(trader.pk)).limit == 250


def test_trader_cannot_set_quotas(client, trader):
    client.force_login(trader)
    assert client.get("/admin/metering/quota/add/").status_code == 302
