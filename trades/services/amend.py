"""Changing what is already on the book: replace an order, close a position, cancel every
open order. Each is built on the public intake and cancel path of `trades.services.orders`,
so a replacement or a closing order is scored, approved, matched and metered like any order.

Replace is a cancel and a new order in one transaction, through the intake's `Replacing`: the
new order is checked and scored (before any lock, like every order) against the account as it
will be once the old order's reservation is released; under the symbol's lock the old order is
closed and the new one placed. When the intake refuses it (risk, funds, collar, quota,
oversight down) nothing is written and the old order still rests with its time priority.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from metering.models import Operation
from metering.services import quota_ensure_available, usage_record
from portfolio.models import Position
from trades.models import (
    CANCELABLE_STATUSES,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from trades.services.events import order_event_data
from trades.services.orders import (
    OrderRequest,
    Replacing,
    SubmitResult,
    order_cancel,
    order_submit,
)
from trading_demo.errors import (
    DomainError,
    IdempotencyConflict,
    InsufficientPosition,
    NotCancelable,
    NotFound,
    ValidationFailed,
)
from trading_demo.models import User
from trading_demo.realtime import publish

# One cancel-all call cancels at most this many orders (each is its own short transaction);
# the caller sees how many are left and calls again.
CANCEL_ALL_LIMIT = 500


def _auto_client_order_id() -> str:
    return f"auto-{uuid.uuid4().hex}"


def _replacement(
    old: Order,
    *,
    quantity: int | None,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    time_in_force: str | None,
    client_order_id: str | None,
) -> OrderRequest:
    """The new order: the old one's symbol, side and type with the changed fields. Its quantity
    defaults to what the old one had left to trade."""
    errors: dict[str, list[str]] = {}
    if quantity is not None and not 1 <= quantity <= settings.MAX_ORDER_QUANTITY:
        errors["quantity"] = [f"A whole number from 1 to {settings.MAX_ORDER_QUANTITY}."]
    if limit_price is not None and old.order_type not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        errors["limit_price"] = [f"A {old.order_type} order takes no limit price."]
    if stop_price is not None and old.order_type not in (OrderType.STOP, OrderType.STOP_LIMIT):
        errors["stop_price"] = [f"A {old.order_type} order takes no stop price."]
    for name, price in (("limit_price", limit_price), ("stop_price", stop_price)):
        if price is not None and price <= 0:
            errors[name] = ["Must be greater than zero."]
    if time_in_force is not None and time_in_force not in TimeInForce.values:
        errors["time_in_force"] = [f"One of {', '.join(TimeInForce.values)}."]
    if client_order_id is not None and not 1 <= len(client_order_id) <= 48:
        errors["client_order_id"] = ["1 to 48 characters."]
    if errors:
        field = next(iter(errors))
        raise ValidationFailed(f"{field}: {errors[field][0]}", details=errors)
    return OrderRequest(
        symbol=old.symbol_id,
        side=old.side,
        order_type=old.order_type,
        quantity=quantity if quantity is not None else old.remaining_quantity,
        time_in_force=time_in_force or old.time_in_force,
        client_order_id=client_order_id or _auto_client_order_id(),
        price=limit_price if limit_price is not None else old.price,
        stop_price=stop_price if stop_price is not None else old.stop_price,
    )


def order_replace(
    *,
    user: User,
    order_id: UUID | str,
    quantity: int | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    time_in_force: str | None = None,
    client_order_id: str | None = None,
) -> SubmitResult:
    """Replace an open, partially filled or pending order by a new one with the given changes.
    The new order's `replaces` is the old one; the old one ends `replaced`. Refused (any
    `DomainError`): nothing changed, the old order still works. Billed as the cancel of the old
    order (`trade.cancel`) plus whatever the new order costs."""
    if all(v is None for v in (quantity, limit_price, stop_price, time_in_force)):
        raise ValidationFailed(
            "Give at least one of quantity, limit_price, stop_price or time_in_force to change.",
            details={"non_field_errors": ["nothing to change"]},
        )
    old = Order.objects.filter(user=user, pk=order_id).first()
    if old is None:
        raise NotFound("No such order.")
    if old.status not in CANCELABLE_STATUSES:
        raise NotCancelable(
            f"The order is {old.status} and can no longer be replaced.",
            details={"status": old.status},
        )
    request = _replacement(
        old,
        quantity=quantity,
        limit_price=limit_price,
        stop_price=stop_price,
        time_in_force=time_in_force,
        client_order_id=client_order_id,
    )
    quota_ensure_available(user_id=user.pk)
    result = order_submit(
        user=user,
        request=request,
        replacing=Replacing(
            order_id=old.pk, filled_quantity=old.filled_quantity, finish=_replacement_record
        ),
    )
    if not result.created:
        raise IdempotencyConflict(
            "client_order_id was already used; a replacement needs a new one.",
            details={"client_order_id": request.client_order_id},
        )
    return result


def _replacement_record(old: Order, new: Order) -> None:
    """In the replacement's transaction, after the intake closed the old order: it ends
    `replaced`, billed as a cancel, announced with the new order's id."""
    old.status = OrderStatus.REPLACED
    old.status_reason = f"Replaced by order {new.pk}."
    old.updated_at = timezone.now()
    old.save(update_fields=["status", "status_reason", "updated_at"])
    usage_record(
        user_id=old.user_id,
        operation=Operation.TRADE_CANCEL,
        metadata={"order_id": str(old.pk), "replaced_by": str(new.pk)},
    )
    publish(
        "trade:replaced",
        order_event_data(old) | {"replaced_by": str(new.pk)},
        channel="trades",
        user_ids=[old.user_id],
    )


def position_close(
    *,
    user: User,
    symbol: str,
    quantity: int | None = None,
    percentage: Decimal | None = None,
) -> SubmitResult:
    """Sell the whole free quantity of a position at market (a DAY market order through the
    ordinary intake: scored, and held for approval when it is large), or `quantity` shares of
    it, or `percentage` of the held shares (rounded down to whole shares). Shares held by open
    sell orders stay with them."""
    position = (
        Position.objects.filter(account__user=user, symbol_id=symbol, quantity__gt=0)
        .only("quantity", "reserved_quantity")
        .first()
    )
    if position is None:
        raise NotFound(f"You hold no {symbol} position.", details={"symbol": symbol})
    free = position.available_quantity
    if free <= 0:
        raise InsufficientPosition(
            f"All {position.quantity} {symbol} shares are held by open sell orders; cancel "
            "them first.",
            details={"held_quantity": position.quantity, "available_quantity": 0},
        )
    selling = free
    if percentage is not None:
        if not 0 < percentage <= 100:
            raise ValidationFailed(
                "percentage: more than 0 and at most 100.", details={"percentage": ["0-100"]}
            )
        selling = int(position.quantity * percentage / 100)
        if selling < 1:
            raise ValidationFailed(
                f"percentage: {percentage} % of {position.quantity} shares is less than one.",
                details={"percentage": ["less than one share"]},
            )
    elif quantity is not None:
        if quantity < 1:
            raise ValidationFailed("qty: at least 1.", details={"qty": ["at least 1"]})
        selling = quantity
    if selling > free:
        raise InsufficientPosition(
            f"insufficient qty available for order (requested: {selling}, available: {free})",
            details={"held_quantity": position.quantity, "available_quantity": free},
        )
    return order_submit(
        user=user,
        request=OrderRequest(
            symbol=symbol,
            side=Side.SELL,
            order_type=OrderType.MARKET,
            quantity=selling,
            time_in_force=TimeInForce.DAY,
            client_order_id=_auto_client_order_id(),
        ),
    )


@dataclass(frozen=True)
class CancelOutcome:
    order_id: UUID
    order: Order | None
    error: DomainError | None


@dataclass(frozen=True)
class CancelAllResult:
    outcomes: list[CancelOutcome]
    remaining: int


def orders_cancel_open(*, user: User) -> CancelAllResult:
    """Cancel the user's open, partially filled and pending orders, oldest first, each
    through `order_cancel` (locked, billed as `trade.cancel`, quota checked). An order that
    filled meanwhile, or a quota that ran out, is reported per order; the quota stops the run."""
    ids = list(
        Order.objects.filter(user=user, status__in=CANCELABLE_STATUSES)
        .order_by("seq")
        .values_list("pk", flat=True)[: CANCEL_ALL_LIMIT + 1]
    )
    outcomes: list[CancelOutcome] = []
    for order_id in ids[:CANCEL_ALL_LIMIT]:
        try:
            outcomes.append(
                CancelOutcome(order_id, order_cancel(user=user, order_id=order_id), None)
            )
        except (NotCancelable, NotFound) as exc:
            outcomes.append(CancelOutcome(order_id, None, exc))
        except DomainError as exc:  # the quota ran out: the rest would be refused the same way
            outcomes.append(CancelOutcome(order_id, None, exc))
            break
    remaining = Order.objects.filter(user=user, status__in=CANCELABLE_STATUSES).count()
    return CancelAllResult(outcomes, remaining)
