"""Unmodified alpaca-py (the SDK from PyPI) against this server: every call below is the SDK's
own, over HTTP to a real Daphne on the test database, with the real oversight gRPC server
scoring every order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.requests import StockBarsRequest, StockLatestQuoteRequest, StockSnapshotRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
)

from conftest import jwt_for
from metering.models import UsageRecord
from oversight.models import ApprovalRequest
from portfolio.models import Account
from tests.alpaca.conftest import key_pair_for
from tests.trades.conftest import make_symbol, set_quotes
from trades.models import Candle, Order

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def acme(db):
    symbol = make_symbol()
    set_quotes(symbol, bids=[("99.90", 300)], asks=[("100.10", 200), ("100.20", 500)])
    return symbol


def test_account_clock_and_assets(trading, acme, trader):
    account = trading.get_account()
    assert account.status == "ACTIVE" and account.currency == "USD"
    assert (account.cash, account.buying_power, account.equity) == (
        "100000.00",
        "100000.00",
        "100000.00",
    )
    assert account.trading_blocked is False and account.shorting_enabled is False

    clock = trading.get_clock()
    assert clock.is_open is True and clock.next_close > clock.timestamp

    assets = {asset.symbol: asset for asset in trading.get_all_assets()}
    assert assets["ACME"].tradable and not assets["ACME"].fractionable
    assert trading.get_asset("ACME").name == "ACME Corp"
    assert trading.get_asset(str(assets["ACME"].id)).symbol == "ACME"


def test_latest_quote_and_bars_come_from_our_book_and_candles(market_data, acme):
    quote = market_data.get_stock_latest_quote(
        StockLatestQuoteRequest(symbol_or_symbols="ACME", feed=DataFeed.IEX)
    )["ACME"]
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        99.9,
        300,
        100.1,
        200,
    )

    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    start = start - timedelta(minutes=start.minute % 5)
    for minute in range(10):
        price = D("100.00") + minute
        Candle.objects.create(
            symbol=acme,
            start=start + timedelta(minutes=minute),
            open=price,
            high=price + D("0.50"),
            low=price - D("0.25"),
            close=price + D("0.10"),
            volume=minute,
        )
    bars = market_data.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols=["ACME"],
            timeframe=TimeFrame(5, TimeFrameUnit.Minute),
            start=start,
        )
    ).data["ACME"]
    assert [(b.timestamp, b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        (start, 100.0, 104.5, 99.75, 104.1, 0 + 1 + 2 + 3 + 4),
        (start + timedelta(minutes=5), 105.0, 109.5, 104.75, 109.1, 5 + 6 + 7 + 8 + 9),
    ]
    one_minute = market_data.get_stock_bars(
        StockBarsRequest(symbol_or_symbols="ACME", timeframe=TimeFrame.Minute, start=start, limit=3)
    ).data["ACME"]
    assert [b.open for b in one_minute] == [100.0, 101.0, 102.0]
    snapshot = market_data.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols="ACME"))
    assert snapshot["ACME"].latest_quote.ask_price == 100.1
    assert snapshot["ACME"].minute_bar.open == 109.0


def test_market_order_fills_and_is_found_by_client_order_id(trading, acme, trader):
    order = trading.submit_order(
        MarketOrderRequest(
            symbol="ACME",
            qty=10,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            client_order_id="bot-first-buy",
        )
    )
    assert order.status == OrderStatus.FILLED
    assert (order.filled_qty, order.filled_avg_price) == ("10", "100.1000")
    assert trading.get_order_by_client_id("bot-first-buy").id == order.id

    position = trading.get_open_position("ACME")
    assert (position.qty, position.qty_available, position.avg_entry_price) == (
        "10",
        "10",
        "100.1000",
    )
    assert trading.get_account().cash == "98999.00"
    closed = trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED))
    assert [o.id for o in closed] == [order.id]
    # Billed as any order is: one trade.execute for the fill.
    assert UsageRecord.objects.filter(user=trader, operation="trade.execute").count() == 1


def test_limit_order_replaced_then_cancelled(trading, acme, trader):
    resting = trading.submit_order(
        LimitOrderRequest(
            symbol="ACME", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=99
        )
    )
    assert resting.status == OrderStatus.NEW and resting.limit_price == "99.00"

    replacement = trading.replace_order_by_id(
        resting.id, ReplaceOrderRequest(qty=8, limit_price=99.5)
    )

    assert replacement.id != resting.id and replacement.replaces == resting.id
    assert (replacement.status, replacement.qty, replacement.limit_price) == (
        OrderStatus.NEW,
        "8",
        "99.50",
    )
    old = trading.get_order_by_id(resting.id)
    assert old.status == OrderStatus.REPLACED and old.replaced_by == replacement.id
    assert Account.objects.get(user=trader).reserved_cash == D("796.00")

    trading.cancel_order_by_id(replacement.id)

    assert trading.get_order_by_id(replacement.id).status == OrderStatus.CANCELED
    assert trading.get_orders() == []  # nothing open
    assert Account.objects.get(user=trader).reserved_cash == 0
    with pytest.raises(APIError) as refused:
        trading.cancel_order_by_id(replacement.id)
    assert refused.value.status_code == 422


def test_order_over_the_approval_line_is_pending_review_until_a_manager_decides(
    daphne, trading, acme, trader, manager
):
    set_quotes(acme, asks=[("100.00", 500)])
    order = trading.submit_order(
        LimitOrderRequest(
            symbol="ACME",
            qty=150,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=100,
        )
    )
    assert order.status == OrderStatus.PENDING_REVIEW and order.filled_qty == "0"
    assert trading.get_order_by_id(order.id).status == OrderStatus.PENDING_REVIEW

    approval = ApprovalRequest.objects.get(order_id=order.id)
    decided = requests.post(
        f"{daphne.url}/api/approvals/{approval.pk}/approve",
        json={"reason": "known client"},
        headers={"Authorization": f"Bearer {jwt_for(manager)}"},
        timeout=10,
    )
    assert decided.status_code == 200, decided.text

    after = trading.get_order_by_id(order.id)
    assert (after.status, after.filled_qty, after.filled_avg_price) == (
        OrderStatus.FILLED,
        "150",
        "100.0000",
    )


def test_close_a_position(trading, acme, trader):
    trading.submit_order(
        MarketOrderRequest(symbol="ACME", qty=12, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )

    closing = trading.close_position("ACME")

    assert (closing.side, closing.qty, closing.type) == (OrderSide.SELL, "12", "market")
    assert closing.status == OrderStatus.FILLED and closing.filled_avg_price == "99.9000"
    assert trading.get_all_positions() == []
    with pytest.raises(APIError) as nothing:
        trading.close_position("ACME")
    assert nothing.value.status_code == 404 and nothing.value.code == 40410000


def test_bad_symbol_wrong_secret_and_foreign_orders_are_api_errors(
    daphne, trading, keys, acme, trader2
):
    with pytest.raises(APIError) as unknown_asset:
        trading.get_asset("NOPE")
    assert (unknown_asset.value.status_code, unknown_asset.value.code) == (404, 40410000)

    with pytest.raises(APIError) as unknown_order:
        trading.submit_order(
            MarketOrderRequest(
                symbol="NOPE", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        )
    assert (unknown_order.value.status_code, unknown_order.value.code) == (422, 40010001)
    assert "NOPE" in unknown_order.value.message

    with pytest.raises(APIError) as fractional:
        trading.submit_order(
            MarketOrderRequest(
                symbol="ACME", qty=1.5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        )
    assert "fractional" in fractional.value.message

    wrong = TradingClient(keys.key_id, "td_" + "x" * 43, paper=True, url_override=daphne.url)
    with pytest.raises(APIError) as unauthorized:
        wrong.get_account()
    assert (unauthorized.value.status_code, unauthorized.value.code) == (401, 40110000)

    # Another user's order does not exist for you.
    theirs = key_pair_for(daphne.url, trader2)
    other = TradingClient(theirs.key_id, theirs.secret_key, paper=True, url_override=daphne.url)
    placed = other.submit_order(
        LimitOrderRequest(
            symbol="ACME", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=95
        )
    )
    with pytest.raises(APIError) as foreign:
        trading.get_order_by_id(placed.id)
    assert foreign.value.status_code == 404
    with pytest.raises(APIError):
        trading.cancel_order_by_id(placed.id)
    assert Order.objects.get(pk=placed.id).status == "open"


def test_revoking_the_token_revokes_the_key_pair(daphne, trading, keys, trader):
    assert trading.get_account().status == "ACTIVE"
    revoked = requests.delete(
        f"{daphne.url}/api/auth/tokens/{keys.token_id}",
        headers={"Authorization": f"Bearer {jwt_for(trader)}"},
        timeout=10,
    )
    assert revoked.status_code in (200, 204)
    with pytest.raises(APIError) as refused:
        trading.get_account()
    assert refused.value.status_code == 401


def test_a_critical_order_is_refused_with_alpacas_403_and_our_reasons(trading, acme):
    acme.volatility = D("0.55")
    acme.save()
    set_quotes(acme)  # an empty book: the order is the whole visible depth
    with pytest.raises(APIError) as refused:
        trading.submit_order(
            LimitOrderRequest(
                symbol="ACME",
                qty=500,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC,
                limit_price=100,
            )
        )
    assert (refused.value.status_code, refused.value.code) == (403, 40310000)
    assert refused.value.message.startswith("The order was refused by the risk check: ")
    assert not Order.objects.exists()


def test_cancel_all_close_all_history_calendar_and_activities(daphne, trading, keys, acme, trader):
    trading.submit_order(
        MarketOrderRequest(symbol="ACME", qty=6, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    resting = [
        trading.submit_order(
            LimitOrderRequest(
                symbol="ACME",
                qty=1,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC,
                limit_price=95 + step,
            )
        )
        for step in range(2)
    ]
    activities = requests.get(
        daphne.url + "/v2/account/activities/FILL",
        headers={"APCA-API-KEY-ID": keys.key_id, "APCA-API-SECRET-KEY": keys.secret_key},
        timeout=10,
    ).json()
    assert [
        (a["activity_type"], a["side"], a["qty"], a["price"], a["type"]) for a in activities
    ] == [("FILL", "buy", "6", "100.10", "fill")]

    cancelled = trading.cancel_orders()
    assert {(c.id, c.status) for c in cancelled} == {(o.id, 200) for o in resting}

    closed = trading.close_all_positions(cancel_orders=True)
    assert [(c.symbol, c.status, c.body.qty, c.body.side) for c in closed] == [
        ("ACME", 200, "6", OrderSide.SELL)
    ]
    assert trading.get_all_positions() == []

    history = trading.get_portfolio_history()
    assert len(history.timestamp) == len(history.equity) == len(history.profit_loss)
    calendar = trading.get_calendar()
    assert len(calendar) == 31 and calendar[0].open.hour == 0
