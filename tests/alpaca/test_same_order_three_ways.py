"""One order, three doors: the same BUY 150 ACME limit 100.00 GTC (15,000 USD, over the
approval line) from alpaca-py, from the Dashboard's order form and from POST /api/trades, each
by a trader with a fresh account, is scored the same, held for the same approval, filled the
same way and billed with the same usage record."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import LimitOrderRequest

from conftest import jwt_for
from metering.models import UsageRecord
from oversight.models import ApprovalRequest
from tests.alpaca.conftest import key_pair_for
from tests.factories import PASSWORD, UserFactory
from tests.servers import browser_session
from tests.trades.conftest import make_symbol, set_quotes
from trades.models import Order
from trading_demo.models import Role

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_the_same_order_from_alpaca_py_the_page_and_the_api(daphne, manager):
    acme = make_symbol()
    set_quotes(acme, bids=[("99.90", 300)], asks=[("100.00", 500)])
    bot, clicker, scripter = (
        UserFactory(role=Role.TRADER, email=f"{name}@example.com")
        for name in ("bot", "clicker", "scripter")
    )

    keys = key_pair_for(daphne.url, bot)
    alpaca = TradingClient(keys.key_id, keys.secret_key, paper=True, url_override=daphne.url)
    from_alpaca = alpaca.submit_order(
        LimitOrderRequest(
            symbol="ACME",
            qty=150,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=100,
        )
    )
    assert from_alpaca.status == OrderStatus.PENDING_REVIEW

    page = browser_session(daphne.url, clicker.email, PASSWORD)
    placed = page.post(
        daphne.url + "/orders/",
        data={
            "symbol": "ACME",
            "type": "BUY",
            "quantity": "150",
            "order_type": "LIMIT",
            "price": "100.00",
            "time_in_force": "GTC",
            "form_nonce": "nonce1",
            "confirmed": "1",
            "csrfmiddlewaretoken": page.cookies["csrftoken"],
        },
        headers={"Referer": daphne.url + "/"},
        timeout=10,
        allow_redirects=False,
    )
    assert placed.status_code == 302, placed.text[:500]

    from_api = requests.post(
        daphne.url + "/api/trades",
        json={
            "symbol": "ACME",
            "type": "BUY",
            "quantity": 150,
            "order_type": "LIMIT",
            "price": "100.00",
            "time_in_force": "GTC",
        },
        headers={"Authorization": f"Bearer {jwt_for(scripter)}"},
        timeout=10,
    )
    assert from_api.status_code == 202, from_api.text

    orders = [Order.objects.get(user=user) for user in (bot, clicker, scripter)]
    assert str(orders[0].pk) == str(from_alpaca.id)
    verdicts = {(o.status, o.risk_level, o.risk_score, tuple(o.risk_reasons)) for o in orders}
    assert len(verdicts) == 1, verdicts
    status, level, score, reasons = verdicts.pop()
    assert (status, level) == ("pending_approval", "HIGH") and score is not None and reasons

    approvals = [ApprovalRequest.objects.get(order=o) for o in orders]
    assert {(a.state, a.risk_level, a.risk_score, a.notional) for a in approvals} == {
        ("pending", "HIGH", score, D("15000.00"))
    }
    manager_jwt = jwt_for(manager)
    for approval in approvals:
        decided = requests.post(
            f"{daphne.url}/api/approvals/{approval.pk}/approve",
            json={"reason": "checked"},
            headers={"Authorization": f"Bearer {manager_jwt}"},
            timeout=10,
        )
        assert decided.status_code == 200, decided.text

    for approval in approvals:
        approval.refresh_from_db()
    assert {(a.state, a.decided_by_id) for a in approvals} == {("approved", manager.pk)}
    fills = set()
    for order in orders:
        order.refresh_from_db()
        executions = order.buy_executions.order_by("created_at")
        fills.add((order.status, tuple((e.price, e.quantity) for e in executions)))
    assert fills == {("filled", ((D("100.00"), 150),))}
    assert alpaca.get_order_by_id(from_alpaca.id).status == OrderStatus.FILLED

    billed = set()
    for user in (bot, clicker, scripter):
        records = UsageRecord.objects.filter(user=user, operation__startswith="trade.")
        billed.add(
            tuple(
                (r.operation, r.quantity, r.unit_price, tuple(sorted(r.metadata)))
                for r in records.order_by("occurred_at")
            )
        )
    assert len(billed) == 1, billed
    assert [row[:3] for row in billed.pop()] == [("trade.execute", 1, D("0.010000"))]
