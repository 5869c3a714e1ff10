"""Step 5 of the order flow against a real oversight server with the default rules: LOW
executes, MEDIUM executes and alerts the managers, HIGH waits for approval with its cash
reserved, CRITICAL is refused; the service down fails closed."""

from __future__ import annotations

from decimal import Decimal

from alerts.models import Alert, AlertType, Audience
from oversight import client as oversight
from oversight.models import ApprovalRequest, ApprovalState
from portfolio.models import Account
from tests.oversight.flow import high_order, place_high
from tests.trades.conftest import order_body, set_quotes
from trades.models import Order

D = Decimal


def reserved_cash(user) -> Decimal:
    return Account.objects.get(user=user).reserved_cash


def test_low_risk_order_executes_with_its_score(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 1000)])
    response = client_for(trader).post("/api/trades", order_body(quantity=10), format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["risk_level"], body["approval"]) == ("filled", "LOW", None)
    # ACME's 25 % volatility is the only rule that scores (+5).
    assert body["risk_score"] == 5 and len(body["risk_reasons"]) == 1
    assert not ApprovalRequest.objects.exists()


def test_medium_risk_order_executes_and_asks_managers_to_review(client_for, trader, manager, acme):
    acme.volatility = D("0.55")  # +15; no visible depth +10; 6 % of equity +5 = 30
    acme.save()
    response = client_for(trader).post(
        "/api/trades",
        order_body(quantity=60, order_type="LIMIT", price="100.00", time_in_force="GTC"),
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["risk_level"], body["risk_score"]) == ("open", "MEDIUM", 30)
    assert len(body["risk_reasons"]) == 3
    review = Alert.objects.get(type=AlertType.RISK, audience=Audience.MANAGERS)
    assert "Review" in review.message and "tess@example.com" in review.message
    assert review.data["order_id"] == body["id"]
    assert not ApprovalRequest.objects.exists()


def test_high_risk_order_waits_for_approval_with_cash_reserved(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 1000)])  # it would fill at once if it were let through
    body = place_high(client_for(trader))
    assert (body["status"], body["risk_level"]) == ("pending_approval", "HIGH")
    assert body["filled_quantity"] == 0
    assert any("needs approval" in reason for reason in body["risk_reasons"])
    assert reserved_cash(trader) == D("15000.00")
    approval = ApprovalRequest.objects.get(order_id=body["id"])
    assert approval.state == ApprovalState.PENDING
    assert body["approval"]["id"] == str(approval.pk) and body["approval"]["state"] == "pending"
    assert (approval.notional, approval.risk_level) == (D("15000.00"), "HIGH")
    assert approval.portfolio_snapshot["cash"] == "100000.00"
    # The service holds the same request.
    remote = oversight.approval_status(approval_id=approval.pk)
    assert remote.state is oversight.ApprovalState.PENDING
    assert (remote.order_id, remote.quantity, remote.notional) == (body["id"], 150, D("15000.00"))
    # The managers are told in the app.
    assert Alert.objects.filter(type=AlertType.APPROVAL, audience=Audience.MANAGERS).exists()


def test_critical_risk_order_is_refused_and_nothing_is_stored(client_for, trader, acme):
    acme.volatility = D("0.55")
    acme.save()
    response = client_for(trader).post(
        "/api/trades",
        order_body(quantity=500, order_type="LIMIT", price="100.00", time_in_force="GTC"),
        format="json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "risk_rejected"
    assert body["details"]["risk_level"] == "CRITICAL" and body["details"]["risk_score"] == 80
    assert len(body["details"]["reasons"]) >= 4
    assert not Order.objects.exists()
    assert reserved_cash(trader) == 0


def test_risk_check_sees_the_traders_real_position(client_for, trader, acme):
    """The projected-position rule scores what the trader already holds."""
    set_quotes(acme, asks=[("100.00", 10_000)])
    api = client_for(trader)
    for n in range(5):  # 5 x 90 shares = 45,000 USD of ACME, each order under 10 %
        response = api.post(
            "/api/trades", order_body(quantity=90, client_order_id=f"b{n}"), format="json"
        )
        assert response.status_code == 201
    response = api.post("/api/trades", order_body(quantity=1), format="json")
    assert response.status_code == 201
    reasons = response.json()["risk_reasons"]
    assert any("Projected ACME position" in reason for reason in reasons), reasons


def test_oversight_down_fails_closed_then_orders_flow_again(
    client_for, trader, manager, acme, oversight_settings
):
    set_quotes(acme, asks=[("100.00", 1000)])
    api = client_for(trader)
    oversight_settings.stop()
    response = api.post("/api/trades", order_body(client_order_id="retry-me"), format="json")
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert not Order.objects.exists()
    assert reserved_cash(trader) == 0
    down = Alert.objects.get(type=AlertType.SYSTEM, audience=Audience.MANAGERS)
    assert "oversight is down" in down.message

    oversight_settings.start()
    again = api.post("/api/trades", order_body(client_order_id="retry-me"), format="json")
    assert again.status_code == 201
    assert again.json()["status"] == "filled"


def test_high_order_with_the_service_down_stores_no_approval(
    client_for, trader, acme, oversight_settings
):
    oversight_settings.stop()
    response = client_for(trader).post("/api/trades", high_order(), format="json")
    assert response.status_code == 503
    assert not Order.objects.exists() and not ApprovalRequest.objects.exists()


def form_post(client, **fields: str):
    body = {
        "symbol": "ACME",
        "type": "BUY",
        "order_type": "LIMIT",
        "price": "100.00",
        "time_in_force": "GTC",
        "confirmed": "1",
        "form_nonce": "n1",
        **fields,
    }
    return client.post("/orders/", body, HTTP_HX_REQUEST="true")


def test_order_form_says_the_order_awaits_approval(client, trader, acme):
    client.force_login(trader)
    response = form_post(client, quantity="150")
    assert response.status_code == 200
    text = response.content.decode()
    assert "awaiting a manager's approval (risk HIGH" in text
    history = client.get("/").content.decode()
    assert 'data-status="pending_approval"' in history and "Awaiting approval" in history


def test_order_form_shows_the_reasons_of_a_refused_order(client, trader, acme):
    acme.volatility = D("0.55")
    acme.save()
    client.force_login(trader)
    response = form_post(client, quantity="500", form_nonce="n2")
    assert response.status_code == 200  # htmx swaps only 2xx: the error is part of the form
    text = response.content.decode()
    assert "refused by the risk check" in text and "of equity" in text
    assert not Order.objects.exists()


def test_the_estimate_warns_that_a_large_order_needs_approval(client, trader, acme):
    client.force_login(trader)
    body = {"symbol": "ACME", "type": "BUY", "order_type": "LIMIT", "price": "100.00"}
    small = client.post("/orders/estimate/", {**body, "quantity": "90"}).content.decode()
    assert 'data-testid="estimate-approval"' not in small
    large = client.post("/orders/estimate/", {**body, "quantity": "150"}).content.decode()
    assert "Over $10,000: this order will wait for a manager's approval." in large


def test_the_estimate_still_works_with_the_service_down(client, trader, acme, oversight_settings):
    oversight_settings.stop()
    client.force_login(trader)
    response = client.post(
        "/orders/estimate/",
        {
            "symbol": "ACME",
            "type": "BUY",
            "order_type": "LIMIT",
            "price": "100.00",
            "quantity": "150",
        },
    )
    assert response.status_code == 200
    assert "$15,000.00" in response.content.decode()
