"""Replacing an order while something else touches it: real threads, each with its own
connection (SQLite IMMEDIATE transactions; PostgreSQL row locks in CI's second run)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from portfolio.models import Account, Position
from tests.threads import at_once, outcome
from tests.trades.conftest import make_symbol, set_quotes
from trades.models import Order
from trades.services.amend import order_replace
from trades.services.orders import OrderRequest, order_submit

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def resting(user) -> Order:
    return order_submit(
        user=user,
        request=OrderRequest(
            symbol="ACME",
            side="BUY",
            order_type="LIMIT",
            quantity=10,
            price=D("99.00"),
            time_in_force="GTC",
            client_order_id="resting",
        ),
    ).order


def test_simultaneous_replaces_of_one_order_make_one_replacement(trader):
    make_symbol()
    old = resting(trader)
    results = at_once(
        [
            outcome(
                lambda n=n: order_replace(
                    user=trader, order_id=old.pk, quantity=10 + n, client_order_id=f"r-{n}"
                )
            )
            for n in range(8)
        ]
    )
    assert Counter(results) == {"ok": 1, "not_cancelable": 7}
    replacement = Order.objects.get(replaces=old)
    assert Order.objects.get(pk=old.pk).status == "replaced"
    assert Order.objects.filter(user=trader, status="open").get() == replacement
    assert Account.objects.get(user=trader).reserved_cash == D("99.00") * replacement.quantity


def test_replace_racing_a_fill_of_the_old_order_never_trades_both(trader, trader2):
    acme = make_symbol()
    set_quotes(acme)
    old = resting(trader)
    seller = order_submit(
        user=trader2,
        request=OrderRequest(
            symbol="ACME",
            side="BUY",
            order_type="MARKET",
            quantity=1,
            time_in_force="IOC",
            client_order_id="unused",
        ),
    )
    assert seller.order.status == "cancelled"  # an empty book: trader2 just has an account
    account = Account.objects.get(user=trader2)
    Position.objects.create(account=account, symbol=acme, quantity=10, cost_basis=D("900.00"))

    def sell() -> object:
        return order_submit(
            user=trader2,
            request=OrderRequest(
                symbol="ACME",
                side="SELL",
                order_type="MARKET",
                quantity=10,
                time_in_force="IOC",
                client_order_id="hit-the-bid",
            ),
        )

    results = at_once(
        [
            outcome(
                lambda: order_replace(user=trader, order_id=old.pk, limit_price=D("98.00")),
                success="replaced",
            ),
            outcome(sell, success="sold"),
        ]
    )
    old.refresh_from_db()
    replacement = Order.objects.filter(replaces=old).first()
    # Either the sell hit the old bid first (the replace then finds it filled), or the replace
    # came first and the sell hit the new bid: the 10 shares trade once, never twice.
    if replacement is None:
        assert sorted(results) == ["not_cancelable", "sold"]
        assert (old.status, old.filled_quantity, old.average_fill_price) == ("filled", 10, D("99"))
    else:
        assert sorted(results) == ["replaced", "sold"]
        assert (old.status, old.filled_quantity) == ("replaced", 0)
        assert (replacement.status, replacement.filled_quantity) == ("filled", 10)
        assert replacement.average_fill_price == D("98")
    assert Account.objects.get(user=trader).reserved_cash == 0
