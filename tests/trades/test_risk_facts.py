"""What an order is scored on (`risk_facts`): the book's depth on the side it trades against,
the trader's recent orders and equity, read in one statement."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from oversight.server.risk import RECENT_ORDERS_COUNTED_UP_TO
from portfolio.ledger import account_ensure, position_of
from tests.trades.conftest import make_symbol, order_body, set_quotes
from trades.models import Order, OrderStatus, Side
from trades.services import risk
from trades.services.risk import Holdings, risk_facts

D = Decimal


def facts_for(user, symbol, side: str) -> dict:
    account = account_ensure(user=user)
    holdings = Holdings.of(account, position_of(account_id=account.pk, symbol_id=symbol.pk))
    return facts_of(user, symbol, side, account=account, holdings=holdings)


def facts_of(user, symbol, side: str, *, account, holdings) -> dict:
    return risk_facts(
        order_id="facts-test",
        user_id=user.pk,
        symbol=symbol,
        side=side,
        order_type="MARKET",
        quantity=5,
        price=None,
        stop_price=None,
        account=account,
        holdings=holdings,
    )


def test_the_facts_add_up_on_the_side_the_order_trades_against(trader, trader2, acme, client_for):
    set_quotes(acme, bids=[("99.95", 400)], asks=[("100.05", 300), ("100.10", 200)])
    bolt = make_symbol("BOLT", price="50.00")
    set_quotes(bolt, asks=[("50.05", 1_000)])
    trader_api, other_api = client_for(trader), client_for(trader2)
    # trader2 rests a buy of 50 at 99.00 (a bid beside the quotes), and a sell would meet it.
    resting = order_body(type="BUY", order_type="LIMIT", price="99.00", quantity=50)
    placed = other_api.post("/api/trades", resting | {"time_in_force": "GTC"}, format="json")
    assert placed.status_code == 201, placed.json()
    # The trader buys 10 ACME and 4 BOLT: two recent orders, two positions at their marks.
    for body in (order_body(quantity=10), order_body(symbol="BOLT", quantity=4)):
        placed = trader_api.post("/api/trades", body, format="json")
        assert placed.status_code == 201, placed.json()
    acme.refresh_from_db()
    bolt.refresh_from_db()
    cash = account_ensure(user=trader).cash

    buy, sell = facts_for(trader, acme, Side.BUY), facts_for(trader, acme, Side.SELL)

    # The asks left after the trader's fill of 10 at 100.05; trader2's bid is not on that side.
    assert buy["visible_depth"] == 290 + 200
    assert sell["visible_depth"] == 400 + 50
    assert buy["recent_order_count"] == sell["recent_order_count"] == 2
    assert facts_for(trader2, acme, Side.BUY)["recent_order_count"] == 1
    worth = (10 * acme.last_price + 4 * bolt.last_price).quantize(D("0.01"))
    assert buy["equity"] == cash + worth
    assert buy["position_quantity"] == 10


def test_the_facts_are_one_statement(trader, acme):
    set_quotes(acme, asks=[("100.05", 300)])
    facts_for(trader, acme, Side.BUY)  # the account opened and the typical volume read
    account = account_ensure(user=trader)
    holdings = Holdings.of(account, None)
    risk.typical_volume(symbol=acme)

    with CaptureQueriesContext(connection) as queries:
        facts_of(trader, acme, Side.BUY, account=account, holdings=holdings)

    assert len(queries.captured_queries) == 1


def test_recent_orders_are_counted_up_to_the_limit_the_rule_needs(trader, acme):
    """A script's thousands of orders a minute are not all counted on every order: the rule's
    threshold is below the limit, so the count past it changes nothing."""
    orders = [
        Order(
            user=trader,
            symbol=acme,
            client_order_id=f"burst-{n}",
            request_fingerprint="burst",
            side=Side.BUY,
            order_type="MARKET",
            time_in_force="IOC",
            quantity=1,
            status=OrderStatus.FILLED,
            seq=n,
        )
        for n in range(RECENT_ORDERS_COUNTED_UP_TO + 5)
    ]
    Order.objects.bulk_create(orders[: RECENT_ORDERS_COUNTED_UP_TO - 1])
    assert facts_for(trader, acme, Side.BUY)["recent_order_count"] == 999
    Order.objects.bulk_create(orders[RECENT_ORDERS_COUNTED_UP_TO - 1 :])
    assert facts_for(trader, acme, Side.BUY)["recent_order_count"] == 1000
