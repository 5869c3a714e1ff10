"""Matching: an accepted order against the book, its fills applied through the ledger, and the
end of orders that will not trade any more. Callers hold the symbol's lock (an open
transaction that locked the symbol row first) and pass the transaction's `Ledger`.

The incoming order may still be unsaved: matching works out its fills in memory and writes the
order once, in its final state, instead of inserting it and then updating it per fill.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from decimal import Decimal
from typing import cast

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts.services import slack_enqueue
from alerts.slack import slack_enabled, trade_executed_payload
from metering.models import Operation
from metering.services import usage_record
from oversight.services.requests import approval_withdraw
from portfolio.ledger import (
    Ledger,
    cash_release,
    fill_apply_buy,
    fill_apply_sell,
    shares_release,
    snapshot_take,
)
from trades.engine import BookOrder, OrderBook
from trades.engine import Side as EngineSide
from trades.models import (
    Candle,
    Execution,
    Order,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    Symbol,
    TimeInForce,
    resting_filter,
)
from trades.services.events import fill_data, order_event_data, order_publish, tick_data
from trading_demo.prepared import PreparedQuery, row_update, rows_insert
from trading_demo.realtime import publish, publish_throttled

RESTING_LOAD_LIMIT = 1000
MAX_STOP_CASCADE = 100
AVERAGE_PRICE_PLACES = Decimal("0.0001")
UPDATED_FIELDS = [
    "filled_quantity",
    "average_fill_price",
    "status",
    "status_reason",
    "reserved_cash",
    "reserved_quantity",
    "triggered_at",
    "updated_at",
]

# The statements every order runs, compiled once (trading_demo/prepared.py says why).
_SYMBOL = PreparedQuery(lambda symbol_id: Symbol.objects.filter(pk=symbol_id), symbol_id=str)
_SYMBOL_LOCKED = PreparedQuery(
    lambda symbol_id: Symbol.objects.select_for_update().filter(pk=symbol_id), symbol_id=str
)


def _resting_query(side: str) -> PreparedQuery:
    def build(symbol_id: str, limit: Decimal) -> QuerySet[Order]:
        price_ok = (
            Q(limit_for_matching__lte=limit)
            if side == Side.SELL
            else Q(limit_for_matching__gte=limit)
        )
        ordering = "limit_for_matching" if side == Side.SELL else "-limit_for_matching"
        # Lock the orders only, not rows joined in (PostgreSQL would lock those too).
        return (
            Order.objects.select_for_update(of=("self",))
            .filter(price_ok, resting_filter(), symbol_id=symbol_id, side=side)
            .order_by(ordering, "seq")[:RESTING_LOAD_LIMIT]
        )

    return PreparedQuery(build, symbol_id=str, limit=Decimal)


def _quotes_query(side: str) -> PreparedQuery:
    def build(symbol_id: str, limit: Decimal) -> QuerySet[Quote]:
        price_ok = Q(price__lte=limit) if side == Side.SELL else Q(price__gte=limit)
        return Quote.objects.filter(price_ok, symbol_id=symbol_id, side=side, quantity__gt=0)

    return PreparedQuery(build, symbol_id=str, limit=Decimal)


_RESTING = {side: _resting_query(side) for side in (Side.BUY, Side.SELL)}
_QUOTES = {side: _quotes_query(side) for side in (Side.BUY, Side.SELL)}
_STOP_CROSSED = PreparedQuery(
    lambda symbol_id, last_price: (
        Order.objects.select_for_update(of=("self",))
        .filter(
            Q(side=Side.BUY, stop_price__lte=last_price)
            | Q(side=Side.SELL, stop_price__gte=last_price),
            symbol_id=symbol_id,
            status=OrderStatus.OPEN,
            triggered_at__isnull=True,
            order_type__in=(OrderType.STOP, OrderType.STOP_LIMIT),
        )
        .order_by("seq")[:1]
    ),
    symbol_id=str,
    last_price=Decimal,
)


def symbol_of(symbol_id: str) -> Symbol | None:
    """The symbol as it is now, without a lock (None: no such symbol)."""
    found = _SYMBOL.objects(symbol_id=symbol_id)
    return found[0] if found else None


def symbol_lock(symbol_id: str) -> Symbol:
    """Lock the symbol for matching (PostgreSQL: the row; SQLite's IMMEDIATE transaction holds
    the write lock already) and read it."""
    found = _SYMBOL_LOCKED.objects(symbol_id=symbol_id)
    if not found:
        raise Symbol.DoesNotExist(f"no symbol {symbol_id}")
    return found[0]


def order_work(*, order: Order, symbol: Symbol, ledger: Ledger) -> list[Execution]:
    """Put an accepted order to work: match it now, or let its stop wait; then the stops its
    fills crossed. Writes the order (inserting it if it is new). Returns its fills."""
    fills: list[Execution] = []
    if order.is_stop_waiting and not stop_crossed(order, symbol.last_price):
        order_save(order)
    else:
        if order.is_stop_waiting:
            order.triggered_at = timezone.now()
        fills = match(order=order, symbol=symbol, ledger=ledger)
    if fills:  # only a trade moves the last price, and so crosses stops
        trigger_stops(symbol=symbol, ledger=ledger)
    publish_throttled(f"book:{symbol.pk}", "book:updated", {"symbol": symbol.pk})
    return fills


def order_save(order: Order) -> None:
    """Insert a new order, or write the fields matching and closing change."""
    if order._state.adding:
        rows_insert([order])
    else:
        row_update(order, UPDATED_FIELDS)


def stop_crossed(order: Order, last_price: Decimal) -> bool:
    assert order.stop_price is not None
    if order.side == Side.BUY:
        return last_price >= order.stop_price
    return last_price <= order.stop_price


def _side(value: str) -> EngineSide:
    return cast("EngineSide", value)


def _book_order(order: Order) -> BookOrder:
    assert order.limit_for_matching is not None
    return BookOrder(
        order.pk,
        order.user_id,
        _side(order.side),
        order.limit_for_matching,
        order.remaining_quantity,
        order.seq,
    )


def _resting_orders(*, symbol: Symbol, side: str, limit: Decimal) -> list[Order]:
    return _RESTING[Side(side)].objects(symbol_id=symbol.pk, limit=limit)


def _resting_quotes(*, symbol: Symbol, side: str, limit: Decimal) -> list[Quote]:
    return _QUOTES[Side(side)].objects(symbol_id=symbol.pk, limit=limit)


def _unfilled_reason(order: Order) -> str:
    if order.time_in_force == TimeInForce.FOK:
        return "Fill or kill: the book could not fill the whole quantity at once."
    if order.time_in_force == TimeInForce.IOC:
        return "Immediate or cancel: the unfilled rest was cancelled."
    return (
        f"No more liquidity within the price limit {order.limit_for_matching}; "
        "the unfilled rest was cancelled."
    )


def _rests(order: Order) -> bool:
    return order.is_limit_kind and order.time_in_force in (TimeInForce.GTC, TimeInForce.DAY)


def match(*, order: Order, symbol: Symbol, ledger: Ledger) -> list[Execution]:
    """Match `order` against the book, persist its fills, and rest, cancel or finish it."""
    assert order.limit_for_matching is not None
    opposite = Side.SELL if order.side == Side.BUY else Side.BUY
    resting: dict[Hashable, Order] = {
        o.pk: o
        for o in _resting_orders(symbol=symbol, side=opposite, limit=order.limit_for_matching)
    }
    quotes: dict[Hashable, Quote] = {
        ("quote", q.pk): q
        for q in _resting_quotes(symbol=symbol, side=opposite, limit=order.limit_for_matching)
    }
    book = OrderBook()
    for on_book in resting.values():
        book.add(_book_order(on_book))
    for key, quote in quotes.items():
        book.add(BookOrder(key, None, _side(quote.side), quote.price, quote.quantity, quote.seq))
    result = book.match(_book_order(order), all_or_none=order.time_in_force == TimeInForce.FOK)

    for cancelled in result.self_trade_cancels:
        order_close(
            resting[cancelled.id],
            OrderStatus.CANCELLED,
            "Cancelled by self-trade prevention: a newer order of yours would have traded "
            "against it.",
            ledger=ledger,
        )
    now = timezone.now()
    executions: list[Execution] = []
    makers: dict[Hashable, Order] = {}
    touched_quotes: dict[Hashable, Quote] = {}
    for fill in result.fills:
        maker = resting.get(fill.maker_id)
        if maker is None:
            quote = touched_quotes[fill.maker_id] = quotes[fill.maker_id]
            quote.quantity -= fill.quantity
        else:
            makers[maker.pk] = maker
        buy, sell = (order, maker) if order.side == Side.BUY else (maker, order)
        executions.append(
            Execution(
                symbol=symbol,
                price=fill.price,
                quantity=fill.quantity,
                buy_order=buy,
                sell_order=sell,
                aggressor_side=order.side,
                created_at=now,
            )
        )
    if not executions:
        _finish(order, ledger=ledger)
        return []

    # The incoming order first, in its final state, so the fills can refer to it.
    newly_filled = [o for o in (order, *makers.values()) if o.filled_quantity == 0]
    for execution in executions:
        for participant in (execution.buy_order, execution.sell_order):
            if participant is not None:
                _fill_fields(participant, execution)
    _finish(order, ledger=ledger)
    rows_insert(executions)
    for quote in touched_quotes.values():
        row_update(quote, ["quantity"])
    for execution in executions:
        for participant in (execution.buy_order, execution.sell_order):
            if participant is not None:
                _fill_ledger(participant, execution, ledger=ledger)
    for maker in makers.values():
        order_save(maker)  # resting orders are GTC or DAY limits: filled or still resting
    for participant in newly_filled:
        usage_record(
            user_id=participant.user_id,
            operation=Operation.TRADE_EXECUTE,
            metadata={"order_id": str(participant.pk)},
            # The incoming order's own bill may not pass the quota: a billed call of the same
            # trader can take the last unit between the order's quota read and its fill (the
            # counter's UPDATE queues them; over the limit the whole order rolls back). A
            # resting order that is hit was accepted long ago: its fill is always billed.
            within_quota=participant is order,
        )
    _fills_announce(executions)
    _candle_add(
        symbol=symbol,
        at=now,
        prices=[e.price for e in executions],
        volume=sum(e.quantity for e in executions),
    )
    symbol.last_price = symbol.last_trade_price = executions[-1].price
    symbol.updated_at = now
    row_update(symbol, ["last_price", "last_trade_price", "updated_at"])
    # The fills changed these accounts' equity: record it (the equity curve's points).
    for user_id in sorted({str(o.user_id) for o in (order, *makers.values())}):
        snapshot_take(account=ledger.account(user_id), at=now)
    publish_throttled(f"prices:{symbol.pk}", "price:tick", tick_data(symbol))
    return executions


def _fill_fields(order: Order, execution: Execution) -> None:
    """One execution's effect on one side's order (in memory)."""
    quantity, price = execution.quantity, execution.price
    filled_before = order.filled_quantity
    if order.side == Side.BUY:
        assert order.limit_for_matching is not None
        order.reserved_cash -= order.limit_for_matching * quantity
    else:
        order.reserved_quantity -= quantity
    order.filled_quantity += quantity
    average_before = order.average_fill_price or Decimal("0")
    order.average_fill_price = (
        (average_before * filled_before + price * quantity) / order.filled_quantity
    ).quantize(AVERAGE_PRICE_PLACES)
    if order.remaining_quantity == 0:
        order.status = OrderStatus.FILLED
    elif order.status != OrderStatus.PENDING_APPROVAL:
        order.status = OrderStatus.PARTIALLY_FILLED
    order.updated_at = execution.created_at


def _fill_ledger(order: Order, execution: Execution, *, ledger: Ledger) -> None:
    """One execution's effect on one side's account and position."""
    account = ledger.account(order.user_id)
    position = ledger.position(order.user_id, order.symbol_id)
    if order.side == Side.BUY:
        assert order.limit_for_matching is not None
        fill_apply_buy(
            account=account,
            position=position,
            quantity=execution.quantity,
            price=execution.price,
            reserved_per_share=order.limit_for_matching,
        )
    else:
        fill_apply_sell(
            account=account,
            position=position,
            quantity=execution.quantity,
            price=execution.price,
            execution_id=execution.pk,
        )


def _fills_announce(executions: list[Execution]) -> None:
    for execution in executions:
        for order in (execution.buy_order, execution.sell_order):
            if order is None:
                continue
            data = {**order_event_data(order), "fill": fill_data(execution)}
            publish("trade:executed", data, channel="trades", user_ids=[order.user_id])
            publish(
                "portfolio:updated",
                {"symbol": order.symbol_id},
                channel="portfolio",
                user_ids=[order.user_id],
            )
            if slack_enabled():
                slack_enqueue(
                    trade_executed_payload(
                        side=order.side,
                        quantity=execution.quantity,
                        symbol=order.symbol_id,
                        price=execution.price,
                        trader=order.user.email,
                    )
                )


def _finish(order: Order, *, ledger: Ledger) -> None:
    """After matching: filled, resting, or its unfilled rest cancelled; written once."""
    if order.remaining_quantity == 0:
        order.status = OrderStatus.FILLED
    elif _rests(order):
        order.status = OrderStatus.PARTIALLY_FILLED if order.filled_quantity else OrderStatus.OPEN
    else:
        order_close(order, OrderStatus.CANCELLED, _unfilled_reason(order), ledger=ledger)
        return
    order_save(order)


def order_close(order: Order, status: str, reason: str, *, ledger: Ledger) -> None:
    """Finish an order that will not trade any more, releasing what it still reserves."""
    if order.status == OrderStatus.PENDING_APPROVAL and not order._state.adding:
        # A decided request is left as it is.
        approval_withdraw(order=order, reason=reason)
    if order.reserved_cash:
        cash_release(account=ledger.account(order.user_id), amount=order.reserved_cash)
        order.reserved_cash = Decimal("0")
    if order.reserved_quantity:
        shares_release(
            position=ledger.position(order.user_id, order.symbol_id),
            quantity=order.reserved_quantity,
        )
        order.reserved_quantity = 0
    order.status = status
    order.status_reason = reason
    order.updated_at = timezone.now()
    order_save(order)
    event = {
        OrderStatus.CANCELLED: "trade:cancelled",
        OrderStatus.REJECTED: "trade:rejected",
        OrderStatus.EXPIRED: "trade:expired",
    }[OrderStatus(status)]
    order_publish(order, event)


def trigger_stops(*, symbol: Symbol, ledger: Ledger | None = None) -> int:
    """Trigger the waiting stop orders the last price has crossed, oldest first; their fills
    can move the price and trigger more (bounded)."""
    ledger = ledger or Ledger()
    triggered = 0
    for _ in range(MAX_STOP_CASCADE):
        found = _STOP_CROSSED.objects(symbol_id=symbol.pk, last_price=symbol.last_price)
        if not found:
            break
        order = found[0]
        order.triggered_at = timezone.now()
        match(order=order, symbol=symbol, ledger=ledger)
        triggered += 1
    return triggered


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _candle_add(*, symbol: Symbol, at: datetime, prices: list[Decimal], volume: int) -> None:
    """Fold prices (in time order) and volume into the symbol's candle of that minute: one
    UPDATE, or an INSERT when the minute has no candle yet."""
    start = _minute(at)
    high, low, close = max(prices), min(prices), prices[-1]
    if not _candle_fold(
        symbol_id=symbol.pk, start=start, high=high, low=low, close=close, volume=volume
    ):
        Candle.objects.create(
            symbol=symbol,
            start=start,
            open=prices[0],
            high=high,
            low=low,
            close=close,
            volume=volume,
        )


def _candle_fold(
    *, symbol_id: str, start: datetime, high: Decimal, low: Decimal, close: Decimal, volume: int
) -> bool:
    """The minute's candle widened to the new prices in one statement (the ORM's Greatest and
    Least cost more to build than the write; SQLite keeps decimals as REAL, so the prices
    are compared as numbers there). False when the minute has no candle yet."""
    if connection.vendor == "sqlite":
        greatest, least, number = "MAX", "MIN", "CAST(%s AS REAL)"
    else:
        greatest, least, number = "GREATEST", "LEAST", "%s"
    sql = (
        f"UPDATE trades_candle SET high = {greatest}(high, {number}), "  # noqa: S608  # nosec
        f"low = {least}(low, {number}), close = %s, volume = volume + %s "
        "WHERE symbol_id = %s AND start = %s"
    )
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                ops.adapt_decimalfield_value(high),
                ops.adapt_decimalfield_value(low),
                ops.adapt_decimalfield_value(close),
                volume,
                symbol_id,
                ops.adapt_datetimefield_value(start),
            ],
        )
        return cursor.rowcount > 0
