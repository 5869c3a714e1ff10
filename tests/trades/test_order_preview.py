"""The order ticket's estimate (`order_preview`) agrees with what placing the order does: the
holdings and buying-power checks come before the confirm step, and the approval line is the
risk service's own rule on the price the order is scored at."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.trades.conftest import order_body, set_quotes
from trades.models import Order, OrderStatus
from trades.selectors import QuantityUnit, order_preview, order_shares_for
from trades.services import risk

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rules():
    risk._rules_cache = None  # each test reads the rules of the server it runs against
    yield
    risk._rules_cache = None


def _hold(client_for, user, acme, quantity: int) -> None:
    set_quotes(acme, bids=[("99.90", 1000)], asks=[("100.10", 1000)])
    response = client_for(user).post("/api/trades", order_body(quantity=quantity), format="json")
    assert response.status_code == 201, response.json()


def test_selling_more_than_held_is_refused_at_the_estimate(client_for, trader, acme):
    _hold(client_for, trader, acme, 6)
    preview = order_preview(
        user=trader, symbol=acme, side="SELL", order_type="MARKET", quantity=100_000
    )
    assert preview.problem == "You hold 6 ACME shares available to sell."
    assert not preview.can_place and not preview.needs_confirmation
    assert (preview.held_quantity, preview.available_quantity) == (6, 6)


def test_the_ticket_never_offers_to_confirm_an_order_it_would_refuse(client, trader, acme):
    client.force_login(trader)
    form = {
        "symbol": "ACME",
        "type": "SELL",
        "quantity": "100000",
        "order_type": "MARKET",
        "time_in_force": "DAY",
        "form_nonce": "abc123",
    }
    estimate = client.post(reverse("order-estimate"), form, HTTP_HX_REQUEST="true")
    assert "You hold 0 ACME shares available to sell." in estimate.content.decode()
    placed = client.post(reverse("order-place"), form, HTTP_HX_REQUEST="true")
    body = placed.content.decode()
    assert "You hold 0 ACME shares available to sell." in body
    assert "Confirm order" not in body
    assert not Order.objects.filter(user=trader).exists()


def test_a_large_limit_buy_needs_approval_on_its_own_price(trader, acme):
    # 101 x 100.00 = 10,100 at the limit: over the 10,000 line; at the reference (100.00) the
    # market order of 100 shares is exactly 10,000 and does not.
    over = order_preview(
        user=trader, symbol=acme, side="BUY", order_type="LIMIT", quantity=101, price=D("100.00")
    )
    assert over.notional == D("10100.00") and over.needs_approval
    assert over.risk_level == "HIGH" and over.approval_above == D("10000")
    at_line = order_preview(user=trader, symbol=acme, side="BUY", order_type="MARKET", quantity=100)
    assert at_line.notional == D("10000.00") and not at_line.needs_approval


def test_estimate_and_order_path_agree_on_approval(client_for, trader, acme):
    set_quotes(acme, asks=[("100.10", 5000)])
    for quantity in (99, 102):
        preview = order_preview(
            user=trader, symbol=acme, side="BUY", order_type="MARKET", quantity=quantity
        )
        response = client_for(trader).post(
            "/api/trades",
            order_body(quantity=quantity, client_order_id=f"q{quantity}"),
            format="json",
        )
        held = response.json()["status"] == OrderStatus.PENDING_APPROVAL
        assert preview.needs_approval is held, (quantity, preview.risk_level, response.json())


def test_a_buy_reserves_its_worst_price_and_shows_buying_power_after(trader, acme):
    preview = order_preview(user=trader, symbol=acme, side="BUY", order_type="MARKET", quantity=50)
    # Market buys reserve at the collar: 10 % over the 100.00 reference.
    assert preview.reserved_cash == D("5500.00")
    assert preview.notional == D("5000.00")
    assert preview.buying_power == D("100000.00")
    assert preview.buying_power_after == D("95000.00")
    assert preview.equity_share == D("5.0") and not preview.needs_confirmation


def test_a_buy_beyond_buying_power_says_so(trader, acme):
    preview = order_preview(
        user=trader, symbol=acme, side="BUY", order_type="LIMIT", quantity=1001, price=D("100.00")
    )
    assert preview.problem.startswith("Buying power 100000.00 is less than the 100100.00")
    assert not preview.can_place


def test_quantity_in_dollars_and_percent(client_for, trader, acme):
    def shares(side: str, amount: str, unit: str, **kw: object) -> int:
        return order_shares_for(
            user=trader,
            symbol=acme,
            side=side,
            order_type=kw.pop("order_type", "MARKET"),
            amount=D(amount),
            unit=unit,
            **kw,  # type: ignore[arg-type]
        )

    assert shares("BUY", "2500", QuantityUnit.USD) == 25
    assert shares("BUY", "2550", QuantityUnit.USD, order_type="LIMIT", price=D("102.00")) == 25
    # 100 % of buying power is an order that can be placed: taken at the worst price (110.00).
    assert shares("BUY", "100", QuantityUnit.PCT) == 909
    full = order_preview(user=trader, symbol=acme, side="BUY", order_type="MARKET", quantity=909)
    assert full.can_place
    assert shares("SELL", "50", QuantityUnit.PCT) == 0  # nothing held yet
    _hold(client_for, trader, acme, 10)
    assert shares("SELL", "50", QuantityUnit.PCT) == 5


def test_with_the_risk_service_down_the_estimate_still_checks_holdings(settings, trader, acme):
    settings.OVERSIGHT_GRPC_URL = "127.0.0.1:1"
    preview = order_preview(user=trader, symbol=acme, side="SELL", order_type="MARKET", quantity=5)
    assert preview.problem == "You hold 0 ACME shares available to sell."
    assert preview.risk_level == "" and not preview.needs_approval


def test_a_negative_quantity_is_told_the_smallest_quantity(client, trader, acme):
    client.force_login(trader)
    form = {
        "symbol": "ACME",
        "type": "BUY",
        "quantity": "-3",
        "order_type": "MARKET",
        "time_in_force": "DAY",
        "form_nonce": "abc124",
    }
    body = client.post(reverse("order-place"), form, HTTP_HX_REQUEST="true").content.decode()
    assert "greater than or equal to 1" in body
    assert "JSON integer" not in body
    assert not Order.objects.filter(user=trader).exists()
