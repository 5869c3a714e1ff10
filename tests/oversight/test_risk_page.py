"""The Risk page: managers read the service's rules and trading state; admins change them, and
the change takes effect on the next order (own oversight server: these tests change it)."""

from __future__ import annotations

import pytest

from alerts.models import Alert, AlertType
from oversight import client as oversight
from tests.trades.conftest import order_body, set_quotes
from trades.models import Order
from trading_demo.models import AuditEvent

pytestmark = pytest.mark.usefixtures("oversight_settings")


def rules_form(**changes: str) -> dict[str, str]:
    values = {
        "notional_bands": "0.30:30, 0.20:25, 0.10:15, 0.05:5",
        "position_bands": "0.40:25, 0.30:20, 0.20:10",
        "volatility_bands": "0.50:15, 0.30:10, 0.20:5",
        "depth_max_points": "10",
        "recent_orders_above": "20",
        "recent_orders_points": "10",
        "fat_finger_multiple": "5",
        "fat_finger_points": "10",
        "price_deviation_above": "0.05",
        "price_deviation_points": "10",
        "approval_notional_above": "10000",
        "medium_at": "30",
        "high_at": "50",
        "critical_at": "80",
    }
    values.update(changes)
    return values


def test_managers_read_the_rules_from_the_service(client, manager):
    client.force_login(manager)
    response = client.get("/risk/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "ACTIVE" in text and "0.30:30" in text and "10000" in text
    assert "Save rules" not in text  # read-only for managers
    assert client.post("/risk/", {"state": "HALTED"}).status_code == 403
    assert oversight.get_risk_config().trading_state is oversight.TradingState.ACTIVE


def test_traders_cannot_open_the_risk_page(client, trader):
    client.force_login(trader)
    assert client.get("/risk/").status_code == 403


def test_admin_kill_switch_halts_new_orders(client, client_for, admin_user, trader, manager, acme):
    set_quotes(acme, asks=[("100.00", 100)])
    client.force_login(admin_user)
    response = client.post("/risk/", {"state": "HALTED"})
    assert response.status_code == 302
    assert oversight.get_risk_config().trading_state is oversight.TradingState.HALTED
    refused = client_for(trader).post("/api/trades", order_body(), format="json")
    assert refused.status_code == 422
    assert refused.json()["error"] == "risk_rejected"
    assert "Trading is halted" in refused.json()["details"]["reasons"]
    assert not Order.objects.exists()
    assert AuditEvent.objects.filter(action="risk.trading_state_changed", actor=admin_user).exists()
    assert Alert.objects.filter(type=AlertType.RISK, message__contains="HALTED").exists()

    client.post("/risk/", {"state": "ACTIVE"})
    assert client_for(trader).post("/api/trades", order_body(), format="json").status_code == 201


def test_admin_lowers_the_approval_threshold(client, client_for, admin_user, trader, acme):
    client.force_login(admin_user)
    response = client.post("/risk/", rules_form(approval_notional_above="500"))
    assert response.status_code == 302, response.content.decode()
    assert oversight.get_risk_config().config.approval_notional_above == 500
    held = client_for(trader).post(
        "/api/trades",
        order_body(quantity=10, order_type="LIMIT", price="100.00", time_in_force="GTC"),
        format="json",
    )
    assert held.status_code == 202  # 1,000 USD is now over the threshold


def test_invalid_rules_are_refused_and_change_nothing(client, admin_user):
    client.force_login(admin_user)
    bad_band = client.post("/risk/", rules_form(notional_bands="0.30-30"))
    assert bad_band.status_code == 400
    assert "ratio:points" in bad_band.content.decode()
    unordered = client.post("/risk/", rules_form(medium_at="60", high_at="50"))
    assert unordered.status_code == 400
    config = oversight.get_risk_config().config
    assert (config.medium_at, config.high_at) == (30, 50)


def test_the_page_says_when_the_service_is_down(client, manager, oversight_settings):
    oversight_settings.stop()
    client.force_login(manager)
    response = client.get("/risk/")
    assert response.status_code == 503
    assert "unavailable" in response.content.decode()


def test_a_halt_is_on_every_page_and_names_who_set_it(client, admin_user, trader):
    client.force_login(admin_user)
    client.post("/risk/", {"state": "HALTED"})
    page = client.get("/risk/").content.decode()
    assert str(admin_user.pk) not in page
    assert f"set by {admin_user.display_name or admin_user.email}" in page
    client.force_login(trader)
    banner = client.get("/portfolio/").content.decode()
    assert 'data-testid="trading-state-banner"' in banner
    assert "Trading is halted" in banner

    client.force_login(admin_user)
    client.post("/risk/", {"state": "ACTIVE"})
    client.force_login(trader)
    assert 'data-testid="trading-state-banner"' not in client.get("/portfolio/").content.decode()
