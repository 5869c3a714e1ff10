"""Simultaneous orders from one account never spend cash twice or sell shares twice.

Real threads, each with its own database connection, against SQLite (IMMEDIATE transactions)
and, in CI's second run, PostgreSQL (row locks)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolio.models import Account, Position
from tests.threads import at_once, outcome
from tests.trades.conftest import make_symbol, set_quotes
from trades.models import Execution, Order
from trades.services.orders import OrderRequest, order_submit

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
THREADS = 50


def run_at_once(user, requests: list[OrderRequest]) -> list[str]:
    return at_once([outcome(lambda r=r: order_submit(user=user, request=r)) for r in requests])


def buy(n: int, *, quantity: int, order_type: str, price: str | None, tif: str) -> OrderRequest:
    return OrderRequest(
        symbol="ACME",
        side="BUY",
        order_type=order_type,
        quantity=quantity,
        price=D(price) if price else None,
        time_in_force=tif,
        client_order_id=f"c-{n}",
    )


def test_simultaneous_resting_buys_never_reserve_more_than_cash(trader):
    make_symbol()
    outcomes = run_at_once(
        trader,
        [
            buy(n, quantity=30, order_type="LIMIT", price="100.00", tif="GTC")
            for n in range(THREADS)
        ],
    )
    account = Account.objects.get(user=trader)
    assert outcomes.count("ok") == 33
    assert outcomes.count("insufficient_funds") == THREADS - 33
    assert account.reserved_cash == D("99000.00") <= account.cash


def test_simultaneous_filled_buys_never_take_cash_below_zero(trader):
    symbol = make_symbol()
    set_quotes(symbol, asks=[("100.00", 1_000_000)])
    outcomes = run_at_once(
        trader,
        [buy(n, quantity=30, order_type="MARKET", price=None, tif="IOC") for n in range(THREADS)],
    )
    account = Account.objects.get(user=trader)
    filled = Execution.objects.filter(buy_order__user=trader)
    assert outcomes.count("ok") == filled.count() == 33
    assert account.cash == D("100000.00") - 33 * D("3000.00") >= 0
    assert account.reserved_cash == 0
    assert Position.objects.get(account=account).quantity == 33 * 30


def test_simultaneous_sells_never_oversell(trader):
    symbol = make_symbol()
    set_quotes(symbol, asks=[("100.00", 100)])
    order_submit(
        user=trader, request=buy(-1, quantity=100, order_type="MARKET", price=None, tif="IOC")
    )
    set_quotes(symbol)
    sells = [
        OrderRequest(
            symbol="ACME",
            side="SELL",
            order_type="LIMIT",
            quantity=3,
            price=D("105.00"),
            time_in_force="GTC",
            client_order_id=f"s-{n}",
        )
        for n in range(THREADS)
    ]
    outcomes = run_at_once(trader, sells)
    position = Position.objects.get(account__user=trader)
    assert outcomes.count("ok") == 33
    assert outcomes.count("insufficient_position") == THREADS - 33
    assert (position.quantity, position.reserved_quantity) == (100, 99)
    assert Order.objects.filter(side="SELL", status="open").count() == 33
