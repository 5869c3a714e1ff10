"""Orders: submit, match, cancel, trigger stops, expire; and the market's tick.

Every write that checks money or shares and then changes them runs in one transaction that
first locks the symbol (PostgreSQL: `SELECT … FOR UPDATE` on the symbol row, which serialises
matching per symbol; SQLite: the IMMEDIATE transaction holds the database's write lock), then
the accounts it touches. Events go out only after commit (`publish`).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from alerts.models import AlertType
from alerts.services import alert_raise, slack_enqueue, system_health_report
from alerts.slack import slack_enabled, trade_executed_payload
from metering.models import Operation
from metering.services import quota_ensure_available, usage_record
from oversight import client as oversight
from portfolio.models import Account, Position
from portfolio.selectors import positions_value_of
from portfolio.services import (
    account_ensure,
    account_lock,
    cash_release,
    cash_reserve,
    fill_apply_buy,
    fill_apply_sell,
    position_lock,
    shares_release,
    shares_reserve,
    snapshot_take,
)
from trades.engine import BookOrder, MatchResult, OrderBook
from trades.engine import Side as EngineSide
from trades.market import collar_bounds, next_reference, quote_ladder
from trades.models import (
    ACTIVE_STATUSES,
    CANCELABLE_STATUSES,
    Candle,
    Execution,
    MarketSession,
    Order,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    Symbol,
    TimeInForce,
)
from trading_demo.errors import (
    DomainError,
    IdempotencyConflict,
    InsufficientFunds,
    InsufficientPosition,
    NotCancelable,
    NotFound,
    RiskRejected,
    SymbolHalted,
    ValidationFailed,
)
from trading_demo.models import Severity, User
from trading_demo.realtime import publish, publish_throttled

RESTING_LOAD_LIMIT = 1000
MAX_STOP_CASCADE = 100
RECENT_ORDERS_WINDOW = timedelta(minutes=1)
TYPICAL_VOLUME_CANDLES = 60  # the last hour of one-minute candles that traded
TYPICAL_VOLUME_MIN_CANDLES = 10  # fewer: the typical volume is unknown, the rule is skipped


@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: str
    order_type: str
    quantity: int
    time_in_force: str
    client_order_id: str
    price: Decimal | None = None
    stop_price: Decimal | None = None

    def fingerprint(self) -> str:
        body = {key: str(value) for key, value in asdict(self).items()}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class SubmitResult:
    order: Order
    created: bool


def _retry_on_deadlock[T](func: Callable[[], T], attempts: int = 5) -> T:
    """PostgreSQL may pick this transaction as a deadlock victim when two symbols' matches lock
    the same accounts in different orders; the whole transaction is safe to run again."""
    for attempt in range(attempts):
        try:
            return func()
        except OperationalError as exc:
            if connection.vendor != "postgresql" or "deadlock" not in str(exc).lower():
                raise
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def order_submit(*, user: User, request: OrderRequest) -> SubmitResult:
    """Place an order (the order flow of ARCHITECTURE.md, steps 2 to 9).

    The same client_order_id with the same body returns the original order (created=False);
    with a different body it is a conflict. Nothing is stored when a check fails, when the
    oversight service refuses the order (CRITICAL) or cannot be reached (fail closed: the
    client retries with the same client_order_id).
    """
    replay = _idempotent_replay(user=user, request=request)
    if replay is not None:
        return SubmitResult(replay, created=False)
    quota_ensure_available(user_id=user.pk)
    account_ensure(user=user)
    try:
        order = _retry_on_deadlock(lambda: _order_place(user=user, request=request))
    except oversight.OversightUnavailable as exc:
        system_health_report(check="oversight", ok=False, detail=exc.message)
        raise
    except IntegrityError:
        # A concurrent request with the same client_order_id won the race.
        replay = _idempotent_replay(user=user, request=request)
        if replay is None:
            raise
        return SubmitResult(replay, created=False)
    return SubmitResult(order, created=True)


def _idempotent_replay(*, user: User, request: OrderRequest) -> Order | None:
    try:
        # get(), not first(): first() would sort by the default ordering and make SQLite walk
        # the user's whole order history instead of the unique index.
        existing = Order.objects.get(user=user, client_order_id=request.client_order_id)
    except Order.DoesNotExist:
        return None
    if existing.request_fingerprint != request.fingerprint():
        raise IdempotencyConflict(
            "client_order_id was already used for a different order.",
            details={"client_order_id": request.client_order_id, "order_id": str(existing.id)},
        )
    return existing


def limit_for_matching(*, request: OrderRequest, reference: Decimal) -> Decimal:
    """The worst price the order may trade at. Limit orders: their limit. Market orders: the
    collar from the reference. Stop orders: the collar from their stop price."""
    if request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        assert request.price is not None
        return request.price
    anchor = request.stop_price if request.order_type == OrderType.STOP else reference
    assert anchor is not None
    low, high = collar_bounds(anchor, settings.PRICE_COLLAR_PCT)
    return high if request.side == Side.BUY else low


def _check_collar(*, request: OrderRequest, reference: Decimal) -> None:
    low, high = collar_bounds(reference, settings.PRICE_COLLAR_PCT)
    for field in ("price", "stop_price"):
        value = getattr(request, field)
        if value is not None and not low <= value <= high:
            raise ValidationFailed(
                f"{field}: must be within {settings.PRICE_COLLAR_PCT} % of the reference "
                f"price {reference} ({low} to {high}).",
                details={
                    field: [f"outside the price collar {low}-{high}"],
                    "reference_price": str(reference),
                },
            )


def _check_symbol(symbol: Symbol) -> None:
    if symbol.halted:
        raise SymbolHalted(
            f"Trading in {symbol.symbol} is halted.", details={"symbol": symbol.symbol}
        )


def _check_buying_power(account: Account, needed: Decimal) -> None:
    if account.buying_power < needed:
        raise InsufficientFunds(
            f"Buying power {account.buying_power} is less than the {needed} this order may cost.",
            details={"buying_power": str(account.buying_power), "required": str(needed)},
        )


@transaction.atomic
def _order_place(*, user: User, request: OrderRequest) -> Order:
    symbol = Symbol.objects.select_for_update().filter(pk=request.symbol).first()
    if symbol is None:
        raise ValidationFailed(
            f"symbol: unknown symbol {request.symbol}.", details={"symbol": ["unknown"]}
        )
    _check_symbol(symbol)
    _check_collar(request=request, reference=symbol.reference_price)
    account = account_lock(user_id=user.pk)
    worst_price = limit_for_matching(request=request, reference=symbol.reference_price)
    order = Order(
        user=user,
        symbol=symbol,
        client_order_id=request.client_order_id,
        request_fingerprint=request.fingerprint(),
        side=request.side,
        order_type=request.order_type,
        time_in_force=request.time_in_force,
        quantity=request.quantity,
        price=request.price,
        stop_price=request.stop_price,
        status=OrderStatus.OPEN,
        limit_for_matching=worst_price,
        seq=time.time_ns(),
        session=current_session() if request.time_in_force == TimeInForce.DAY else None,
    )
    position: Position | None = None
    if request.side == Side.BUY:
        _check_buying_power(account, worst_price * request.quantity)
        held = Position.objects.filter(account=account, symbol=symbol).first()
        held_quantity = held.quantity if held else 0
    else:
        position = position_lock(account=account, symbol_id=symbol.pk)
        held_quantity = position.quantity
        if position.available_quantity < request.quantity:
            raise InsufficientPosition(
                f"You hold {position.available_quantity} {symbol.pk} shares available to sell.",
                details={
                    "held_quantity": position.quantity,
                    "available_quantity": position.available_quantity,
                },
            )
    # Step 5 inside the transaction, on the locked rows: the score sees exactly the cash and
    # shares the order will reserve. The call has its own deadline (EVALUATE_TIMEOUT), and an
    # error rolls everything back, so nothing is stored when the service is down.
    facts = _risk_facts(order=order, symbol=symbol, account=account, held_quantity=held_quantity)
    assessment = oversight.evaluate_risk(**facts)
    order.risk_level = assessment.level
    order.risk_score = assessment.score
    order.risk_reasons = list(assessment.reasons)
    if assessment.level is oversight.RiskLevel.CRITICAL:
        raise RiskRejected(
            "The order was refused by the risk check: " + "; ".join(assessment.reasons),
            details={
                "risk_level": assessment.level,
                "risk_score": assessment.score,
                "reasons": list(assessment.reasons),
            },
        )
    if request.side == Side.BUY:
        order.reserved_cash = worst_price * request.quantity
        cash_reserve(account=account, amount=order.reserved_cash)
    else:
        assert position is not None
        order.reserved_quantity = request.quantity
        shares_reserve(position=position, quantity=request.quantity)
    if assessment.level is oversight.RiskLevel.HIGH:
        # Deferred import: the approval workflow drives orders through this module.
        from oversight.services import approval_request_open

        order.status = OrderStatus.PENDING_APPROVAL
        order.save()
        _publish_order(order, "trade:pending_approval")
        approval_request_open(order=order, assessment=assessment, facts=facts)
        return order
    order.save()
    _publish_order(order, "trade:created")
    if assessment.level is oversight.RiskLevel.MEDIUM:
        alert_raise(
            type=AlertType.RISK,
            severity=Severity.MEDIUM,
            message=(
                f"Review: {user.email} {order.side} {order.quantity} {symbol.pk} scored "
                f"{assessment.score} (medium): " + "; ".join(assessment.reasons)
            ),
            to_managers=True,
            symbol=symbol.pk,
            data={"order_id": str(order.pk), "risk_score": assessment.score},
        )
    _order_start(order=order, symbol=symbol)
    return order


def _order_start(*, order: Order, symbol: Symbol) -> None:
    """Put an accepted order to work: match it now, or let its stop wait; then the stops its
    fills crossed."""
    if order.is_stop_waiting:
        if _stop_crossed(order, symbol.last_price):
            order.triggered_at = timezone.now()
            order.save(update_fields=["triggered_at"])
            _match(order=order, symbol=symbol)
    else:
        _match(order=order, symbol=symbol)
    trigger_stops(symbol=symbol)
    publish_throttled(f"book:{symbol.pk}", "book:updated", {"symbol": symbol.pk})


def _risk_facts(
    *, order: Order, symbol: Symbol, account: Account, held_quantity: int
) -> dict[str, Any]:
    """What the oversight service scores an order on (EvaluateRiskRequest's fields)."""
    opposite = Side.SELL if order.side == Side.BUY else Side.BUY
    quoted = Quote.objects.filter(symbol=symbol, side=opposite).aggregate(total=Sum("quantity"))[
        "total"
    ]
    resting = Order.objects.filter(
        symbol=symbol, side=opposite, status__in=ACTIVE_STATUSES, order_type=OrderType.LIMIT
    ).aggregate(total=Sum(F("quantity") - F("filled_quantity")))["total"]
    since = timezone.now() - RECENT_ORDERS_WINDOW
    return {
        "request_id": order.pk,
        "user_id": order.user_id,
        "symbol": symbol.pk,
        "side": order.side,
        "order_type": order.order_type,
        "quantity": order.quantity,
        "price": order.price or order.stop_price or symbol.reference_price,
        "reference_price": symbol.reference_price,
        "equity": account.cash + positions_value_of(account_id=account.pk),
        "cash": account.cash,
        "position_quantity": held_quantity,
        "symbol_volatility": symbol.volatility,
        "visible_depth": (quoted or 0) + (resting or 0),
        "typical_volume": typical_volume(symbol=symbol),
        "recent_order_count": Order.objects.filter(
            user_id=order.user_id, created_at__gte=since
        ).count(),
    }


def typical_volume(*, symbol: Symbol) -> int:
    """The mean volume of the symbol's last hour of one-minute candles that traded; 0 (unknown)
    until there are enough of them."""
    volumes = list(
        Candle.objects.filter(symbol=symbol, volume__gt=0)
        .order_by("-start")
        .values_list("volume", flat=True)[:TYPICAL_VOLUME_CANDLES]
    )
    if len(volumes) < TYPICAL_VOLUME_MIN_CANDLES:
        return 0
    return sum(volumes) // len(volumes)


def order_approval_recheck(*, order: Order, symbol: Symbol) -> str:
    """The pre-trade checks again, at the current prices, for an order a manager is about to
    approve (the caller holds the symbol lock). The failing check's message, or ""."""
    try:
        _check_symbol(symbol)
        request = _request_of(order)
        _check_collar(request=request, reference=symbol.reference_price)
        if order.side == Side.BUY:
            worst = limit_for_matching(request=request, reference=symbol.reference_price)
            extra = worst * order.remaining_quantity - order.reserved_cash
            if extra > 0:
                account = account_lock(user_id=order.user_id)
                _check_buying_power(account, extra)
    except DomainError as exc:
        return exc.message
    return ""


def order_approved_execute(*, order: Order, symbol: Symbol) -> Order:
    """Release an approved order into the book (after `order_approval_recheck` passed, in the
    same transaction): a buy's reservation follows the current collar, then it matches."""
    if order.side == Side.BUY:
        worst = limit_for_matching(request=_request_of(order), reference=symbol.reference_price)
        needed = worst * order.remaining_quantity
        if needed != order.reserved_cash:
            account = account_lock(user_id=order.user_id)
            cash_release(account=account, amount=order.reserved_cash)
            cash_reserve(account=account, amount=needed)
            order.reserved_cash = needed
        order.limit_for_matching = worst
    order.status = OrderStatus.OPEN
    # Time priority from the approval: the order joins the book now.
    order.seq = time.time_ns()
    order.updated_at = timezone.now()
    order.save(update_fields=["reserved_cash", "limit_for_matching", "status", "seq", "updated_at"])
    _publish_order(order, "trade:created")
    _order_start(order=order, symbol=symbol)
    return order


def order_approval_refused(*, order: Order, reason: str) -> Order:
    """A pending order a manager rejected, or nobody decided in time: rejected, reservations
    released (the caller holds the symbol lock)."""
    _order_close(order, OrderStatus.REJECTED, reason[:200])
    return order


def _request_of(order: Order) -> OrderRequest:
    return OrderRequest(
        symbol=order.symbol_id,
        side=order.side,
        order_type=order.order_type,
        quantity=order.quantity,
        time_in_force=order.time_in_force,
        client_order_id=order.client_order_id,
        price=order.price,
        stop_price=order.stop_price,
    )


def _stop_crossed(order: Order, last_price: Decimal) -> bool:
    assert order.stop_price is not None
    if order.side == Side.BUY:
        return last_price >= order.stop_price
    return last_price <= order.stop_price


def _resting_orders(*, symbol: Symbol, side: str, limit: Decimal) -> list[Order]:
    price_ok = (
        Q(limit_for_matching__lte=limit) if side == Side.SELL else Q(limit_for_matching__gte=limit)
    )
    ordering = "limit_for_matching" if side == Side.SELL else "-limit_for_matching"
    resting_kind = Q(order_type=OrderType.LIMIT) | Q(
        order_type=OrderType.STOP_LIMIT, triggered_at__isnull=False
    )
    return list(
        Order.objects.select_for_update()
        .filter(price_ok, resting_kind, symbol=symbol, side=side, status__in=ACTIVE_STATUSES)
        .order_by(ordering, "seq")[:RESTING_LOAD_LIMIT]
    )


def _resting_quotes(*, symbol: Symbol, side: str, limit: Decimal) -> list[Quote]:
    price_ok = Q(price__lte=limit) if side == Side.SELL else Q(price__gte=limit)
    return list(Quote.objects.filter(price_ok, symbol=symbol, side=side, quantity__gt=0))


def _match(*, order: Order, symbol: Symbol) -> MatchResult:
    """Match `order` against the book, persist fills, and rest, cancel or finish it."""
    assert order.limit_for_matching is not None
    opposite = Side.SELL if order.side == Side.BUY else Side.BUY
    orders: dict[Hashable, Order] = {
        o.pk: o
        for o in _resting_orders(symbol=symbol, side=opposite, limit=order.limit_for_matching)
    }
    quotes: dict[Hashable, Quote] = {
        ("quote", q.pk): q
        for q in _resting_quotes(symbol=symbol, side=opposite, limit=order.limit_for_matching)
    }
    book = OrderBook()
    for resting in orders.values():
        book.add(_book_order(resting))
    for key, quote in quotes.items():
        book.add(BookOrder(key, None, _side(quote.side), quote.price, quote.quantity, quote.seq))
    incoming = _book_order(order)
    result = book.match(incoming, all_or_none=order.time_in_force == TimeInForce.FOK)

    for cancelled in result.self_trade_cancels:
        _order_close(
            orders[cancelled.id],
            OrderStatus.CANCELLED,
            "Cancelled by self-trade prevention: a newer order of yours would have traded "
            "against it.",
        )
    now = timezone.now()
    for fill in result.fills:
        maker_order = orders.get(fill.maker_id)
        if maker_order is None:
            quote = quotes[fill.maker_id]
            quote.quantity -= fill.quantity
            quote.save(update_fields=["quantity"])
        buy, sell = (order, maker_order) if order.side == Side.BUY else (maker_order, order)
        execution = Execution.objects.create(
            symbol=symbol,
            price=fill.price,
            quantity=fill.quantity,
            buy_order=buy,
            sell_order=sell,
            aggressor_side=order.side,
            created_at=now,
        )
        for participant in (order, maker_order):
            if participant is not None:
                _fill_order(participant, execution)
        _candle_add(symbol=symbol, price=fill.price, volume=fill.quantity, at=now)
        symbol.last_price = symbol.last_trade_price = fill.price
    touched = {order.user_id} | {
        orders[fill.maker_id].user_id for fill in result.fills if fill.maker_id in orders
    }
    if result.fills:
        # The fills changed these accounts' equity: record it (the equity curve's points).
        for user_id in sorted(touched, key=str):
            snapshot_take(account=account_lock(user_id=user_id), at=now)
        symbol.updated_at = now
        symbol.save(update_fields=["last_price", "last_trade_price", "updated_at"])
        publish_throttled(f"prices:{symbol.pk}", "price:tick", _tick_data(symbol))

    if order.remaining_quantity == 0:
        order.status = OrderStatus.FILLED
        order.save(update_fields=["status"])
    elif _rests(order):
        order.status = OrderStatus.PARTIALLY_FILLED if order.filled_quantity else OrderStatus.OPEN
        order.save(update_fields=["status"])
    else:
        _order_close(order, OrderStatus.CANCELLED, _unfilled_reason(order))
    return result


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


def _rests(order: Order) -> bool:
    limit_kind = order.order_type == OrderType.LIMIT or (
        order.order_type == OrderType.STOP_LIMIT and order.triggered_at is not None
    )
    return limit_kind and order.time_in_force in (TimeInForce.GTC, TimeInForce.DAY)


def _unfilled_reason(order: Order) -> str:
    if order.time_in_force == TimeInForce.FOK:
        return "Fill or kill: the book could not fill the whole quantity at once."
    if order.time_in_force == TimeInForce.IOC:
        return "Immediate or cancel: the unfilled rest was cancelled."
    return (
        f"No more liquidity within the price limit {order.limit_for_matching}; "
        "the unfilled rest was cancelled."
    )


def _fill_order(order: Order, execution: Execution) -> None:
    """Apply one execution to one side's order, account and position."""
    quantity, price = execution.quantity, execution.price
    account = account_lock(user_id=order.user_id)
    position = position_lock(account=account, symbol_id=order.symbol_id)
    if order.side == Side.BUY:
        assert order.limit_for_matching is not None
        fill_apply_buy(
            account=account,
            position=position,
            quantity=quantity,
            price=price,
            reserved_per_share=order.limit_for_matching,
        )
        order.reserved_cash -= order.limit_for_matching * quantity
    else:
        fill_apply_sell(
            account=account,
            position=position,
            quantity=quantity,
            price=price,
            execution_id=execution.pk,
        )
        order.reserved_quantity -= quantity
    filled_before = order.filled_quantity
    if filled_before == 0:
        usage_record(
            user_id=order.user_id,
            operation=Operation.TRADE_EXECUTE,
            metadata={"order_id": str(order.pk)},
        )
    order.filled_quantity += quantity
    average_before = order.average_fill_price or Decimal("0")
    order.average_fill_price = (
        (average_before * filled_before + price * quantity) / order.filled_quantity
    ).quantize(Decimal("0.0001"))
    if order.remaining_quantity == 0:
        order.status = OrderStatus.FILLED
    elif order.status != OrderStatus.PENDING_APPROVAL:
        order.status = OrderStatus.PARTIALLY_FILLED
    order.updated_at = execution.created_at
    order.save(
        update_fields=[
            "filled_quantity",
            "average_fill_price",
            "status",
            "reserved_cash",
            "reserved_quantity",
            "updated_at",
        ]
    )
    data = {**order_event_data(order), "fill": fill_data(execution)}
    publish("trade:executed", data, channel="trades", user_ids=[order.user_id])
    if slack_enabled():
        slack_enqueue(
            trade_executed_payload(
                side=order.side,
                quantity=quantity,
                symbol=order.symbol_id,
                price=price,
                trader=order.user.email,
            )
        )
    publish(
        "portfolio:updated",
        {"symbol": order.symbol_id},
        channel="portfolio",
        user_ids=[order.user_id],
    )


def _order_close(order: Order, status: str, reason: str) -> None:
    """Finish an order that will not trade any more, releasing what it still reserves."""
    if order.status == OrderStatus.PENDING_APPROVAL:
        # Deferred import, as in _order_place. A decided request is left as it is.
        from oversight.services import approval_withdraw

        approval_withdraw(order=order, reason=reason)
    account = account_lock(user_id=order.user_id)
    if order.reserved_cash:
        cash_release(account=account, amount=order.reserved_cash)
        order.reserved_cash = Decimal("0")
    if order.reserved_quantity:
        position = position_lock(account=account, symbol_id=order.symbol_id)
        shares_release(position=position, quantity=order.reserved_quantity)
        order.reserved_quantity = 0
    order.status = status
    order.status_reason = reason
    order.updated_at = timezone.now()
    order.save(
        update_fields=[
            "status",
            "status_reason",
            "reserved_cash",
            "reserved_quantity",
            "updated_at",
        ]
    )
    event = {
        OrderStatus.CANCELLED: "trade:cancelled",
        OrderStatus.REJECTED: "trade:rejected",
        OrderStatus.EXPIRED: "trade:expired",
    }[OrderStatus(status)]
    _publish_order(order, event)


def _publish_order(order: Order, event: str) -> None:
    publish(event, order_event_data(order), channel="trades", user_ids=[order.user_id])


def order_event_data(order: Order) -> dict[str, Any]:
    return {
        "id": str(order.pk),
        "client_order_id": order.client_order_id,
        "symbol": order.symbol_id,
        "type": order.side,
        "status": order.status,
        "filled_quantity": order.filled_quantity,
        "quantity": order.quantity,
        "reason": order.status_reason,
    }


def fill_data(execution: Execution) -> dict[str, Any]:
    return {
        "id": str(execution.pk),
        "price": str(execution.price),
        "quantity": execution.quantity,
        "created_at": execution.created_at.isoformat(),
    }


def _tick_data(symbol: Symbol) -> dict[str, Any]:
    return {
        "symbol": symbol.pk,
        "reference_price": str(symbol.reference_price),
        "last_price": str(symbol.last_price),
        "change_pct": str(symbol.change_pct),
    }


def order_cancel(*, user: User, order_id: UUID | str) -> Order:
    def cancel() -> Order:
        with transaction.atomic():
            order = Order.objects.filter(user=user, pk=order_id).first()
            if order is None:
                raise NotFound("No such order.")
            # Lock the symbol first, as matching does, then the order itself.
            Symbol.objects.select_for_update().filter(pk=order.symbol_id).first()
            order = Order.objects.select_for_update().get(pk=order.pk)
            if order.status not in CANCELABLE_STATUSES:
                raise NotCancelable(
                    f"The order is {order.status} and can no longer be cancelled.",
                    details={"status": order.status},
                )
            _order_close(order, OrderStatus.CANCELLED, "Cancelled by you.")
            usage_record(
                user_id=user.pk,
                operation=Operation.TRADE_CANCEL,
                metadata={"order_id": str(order.pk)},
            )
            publish_throttled(
                f"book:{order.symbol_id}", "book:updated", {"symbol": order.symbol_id}
            )
            return order

    return _retry_on_deadlock(cancel)


def trigger_stops(*, symbol: Symbol) -> int:
    """Trigger the waiting stop orders the last price has crossed, oldest first; their fills
    can move the price and trigger more (bounded)."""
    triggered = 0
    for _ in range(MAX_STOP_CASCADE):
        crossed = Q(side=Side.BUY, stop_price__lte=symbol.last_price) | Q(
            side=Side.SELL, stop_price__gte=symbol.last_price
        )
        order = (
            Order.objects.select_for_update()
            .filter(
                crossed,
                symbol=symbol,
                status=OrderStatus.OPEN,
                triggered_at__isnull=True,
                order_type__in=(OrderType.STOP, OrderType.STOP_LIMIT),
            )
            .order_by("seq")
            .first()
        )
        if order is None:
            break
        order.triggered_at = timezone.now()
        order.save(update_fields=["triggered_at"])
        _match(order=order, symbol=symbol)
        triggered += 1
    return triggered


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _candle_add(*, symbol: Symbol, price: Decimal, volume: int, at: datetime) -> None:
    start = _minute(at)
    candle = Candle.objects.filter(symbol=symbol, start=start).first()
    if candle is None:
        Candle.objects.create(
            symbol=symbol,
            start=start,
            open=price,
            high=price,
            low=price,
            close=price,
            volume=volume,
        )
        return
    candle.high = max(candle.high, price)
    candle.low = min(candle.low, price)
    candle.close = price
    candle.volume += volume
    candle.save(update_fields=["high", "low", "close", "volume"])


# --- the market process -----------------------------------------------------------------


def current_session() -> MarketSession:
    """The open session, opening one when there is none."""
    session = MarketSession.objects.filter(closed_at__isnull=True).order_by("-opened_at").first()
    if session is None:
        now = timezone.now()
        session = MarketSession.objects.create(
            opened_at=now, closes_at=now + timedelta(minutes=settings.MARKET_SESSION_MINUTES)
        )
    return session


@transaction.atomic
def session_roll(*, now: datetime | None = None) -> MarketSession:
    """Close the session when its time is up: expire its DAY orders and open the next one,
    with each symbol's session-open price reset to its reference."""
    now = now or timezone.now()
    session = current_session()
    if session.closes_at > now:
        return session
    for order in (
        Order.objects.select_for_update()
        .filter(session=session, status__in=CANCELABLE_STATUSES)
        .order_by("seq")
    ):
        _order_close(order, OrderStatus.EXPIRED, "Day order expired at the session close.")
    session.closed_at = now
    session.save(update_fields=["closed_at"])
    for symbol in Symbol.objects.select_for_update():
        symbol.session_open_price = symbol.reference_price
        symbol.save(update_fields=["session_open_price"])
    return MarketSession.objects.create(
        opened_at=now, closes_at=now + timedelta(minutes=settings.MARKET_SESSION_MINUTES)
    )


def market_tick(
    *, symbol_id: str, rng: random.Random, dt_years: float, now: datetime | None = None
) -> Symbol:
    """Move one symbol's reference price one step, refresh the market maker's quotes around
    it, and trigger the stops the move crossed. One transaction per symbol."""
    now = now or timezone.now()
    with transaction.atomic():
        symbol = Symbol.objects.select_for_update().get(pk=symbol_id)
        if not symbol.halted:
            symbol.reference_price = next_reference(
                symbol.reference_price, volatility=symbol.volatility, dt_years=dt_years, rng=rng
            )
        symbol.last_price = symbol.reference_price
        symbol.updated_at = now
        symbol.save(update_fields=["reference_price", "last_price", "updated_at"])
        _candle_add(symbol=symbol, price=symbol.reference_price, volume=0, at=now)
        quotes_refresh(symbol=symbol, rng=rng)
        if not symbol.halted:
            trigger_stops(symbol=symbol)
        publish("price:tick", _tick_data(symbol), channel=f"prices:{symbol.pk}")
        publish("book:updated", {"symbol": symbol.pk}, channel=f"book:{symbol.pk}")
    return symbol


def quotes_refresh(*, symbol: Symbol, rng: random.Random) -> None:
    seq = time.time_ns()
    if symbol.halted:
        Quote.objects.filter(symbol=symbol).update(quantity=0)
        return
    for level in quote_ladder(symbol.reference_price, levels=settings.MARKET_MAKER_LEVELS, rng=rng):
        Quote.objects.update_or_create(
            symbol=symbol,
            side=level.side,
            level=level.level,
            defaults={"price": level.price, "quantity": level.quantity, "seq": seq},
        )


def symbols_seed(*, rows: Iterable[tuple[str, str, str, str]]) -> int:
    """Create the reference symbols that do not exist yet (idempotent)."""
    created = 0
    for code, name, price, volatility in rows:
        _, was_created = Symbol.objects.get_or_create(
            symbol=code,
            defaults={
                "name": name,
                "reference_price": Decimal(price),
                "session_open_price": Decimal(price),
                "last_price": Decimal(price),
                "volatility": Decimal(volatility),
            },
        )
        created += was_created
    return created


def symbol_set_halted(*, symbol: Symbol, halted: bool) -> Symbol:
    with transaction.atomic():
        symbol = Symbol.objects.select_for_update().get(pk=symbol.pk)
        symbol.halted = halted
        symbol.save(update_fields=["halted"])
        if halted:
            Quote.objects.filter(symbol=symbol).update(quantity=0)
        publish(
            "price:tick", _tick_data(symbol) | {"halted": halted}, channel=f"prices:{symbol.pk}"
        )
    return symbol


def orders_cancel_all(*, user: User, reason: str) -> int:
    """Cancel every open, partially filled or pending order of the user (account reset)."""
    count = 0
    for order in Order.objects.filter(user=user, status__in=CANCELABLE_STATUSES).order_by("seq"):
        Symbol.objects.select_for_update().filter(pk=order.symbol_id).first()
        _order_close(
            Order.objects.select_for_update().get(pk=order.pk), OrderStatus.CANCELLED, reason
        )
        count += 1
    return count


def holders_notify(*, symbol_ids: Iterable[str]) -> int:
    """Tell every user holding one of these symbols that their portfolio's marks moved (the
    market process calls this once per tick, so at most once a second per user)."""
    user_ids = set(
        Account.objects.filter(positions__symbol_id__in=list(symbol_ids), positions__quantity__gt=0)
        .values_list("user_id", flat=True)
        .distinct()
    )
    for user_id in user_ids:
        publish("portfolio:updated", {"marks": True}, channel="portfolio", user_ids=[user_id])
    return len(user_ids)
