"""Order intake and cancels (the order flow of ARCHITECTURE.md), and the hooks the approval
workflow drives orders through.

Placing an order, in one direction:
1. The same client_order_id returns the original order.
2. Without any lock: the quota, the pre-trade checks on what the account shows now, then the
   risk score from the oversight service (and, for HIGH, the approval request registered
   there). No remote call ever runs while a write lock is held. The quota is read here, once:
   the bill of the order's first fill counts it exactly under the lock (`usage_record`'s
   `within_quota`), so a read under the lock would only repeat it while every writer waits.
3. One short transaction that locks the symbol (PostgreSQL: `SELECT … FOR UPDATE`, serialising
   matching per symbol; SQLite: the IMMEDIATE transaction holds the write lock), then the
   account. It re-verifies exactly the figures that were scored (cash, reserved cash, the
   position and its reservations). If one moved, the service's rules score the order again on
   the spot (`risk.verdict_holds`); only if that changes the score or level does it roll back
   and run step 2 again. Then the checks at the current price, the reservation, and
   matching. Whatever can be worked out before the lock (the request's fingerprint) is.
Events go out only after commit.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from alerts.models import AlertType
from alerts.services import alert_raise, system_health_report
from metering.models import Operation
from metering.services import quota_ensure_available, usage_record
from oversight import client as oversight
from oversight.services.requests import ApprovalDraft, approval_request_open, approval_submit
from portfolio.ledger import (
    Ledger,
    account_ensure,
    cash_release,
    cash_reserve,
    position_of,
    shares_reserve,
)
from portfolio.models import Account, Position
from portfolio.selectors import positions_value_of
from trades.market import collar_bounds
from trades.models import (
    CANCELABLE_STATUSES,
    Execution,
    Order,
    OrderStatus,
    OrderType,
    Side,
    Symbol,
    TimeInForce,
)
from trades.services.events import order_publish
from trades.services.market import current_session
from trades.services.matching import order_close, order_work, symbol_lock, symbol_of
from trades.services.risk import Holdings, Rules, risk_facts, risk_rules, verdict_holds
from trading_demo.errors import (
    Conflict,
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
from trading_demo.ids import uuid7
from trading_demo.models import Severity, User
from trading_demo.prepared import PreparedQuery, pipelined
from trading_demo.realtime import publish_throttled

# A verdict changes only when the moved figures cross one of the rules' bands, and there are few
# of them (ARCHITECTURE.md "Defaults"): even a burst of one trader's orders settles in a few.
SCORE_ATTEMPTS = 8

# Read for every order (trading_demo/prepared.py says why it is compiled once). Not ordered:
# the default ordering would make SQLite walk the user's order history, not the unique index.
_BY_CLIENT_ID = PreparedQuery(
    lambda user_id, client_order_id: Order.objects.filter(
        user_id=user_id, client_order_id=client_order_id
    ).order_by(),
    user_id=UUID,
    client_order_id=str,
)


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
class Replacing:
    """The order a new order replaces (trades/services/amend.py). The new order is scored, like
    any order, before any lock, on the account as it will be once the old order's reservation
    is released; under the symbol's lock the old order is closed first, in the same
    transaction, and `finish(old, new)` records the replacement there. The old order must not
    have traded in between (`filled_quantity` is what it had when the new one was priced)."""

    order_id: UUID
    filled_quantity: int
    finish: Callable[[Order, Order], None]


@dataclass(frozen=True)
class SubmitResult:
    order: Order
    created: bool
    fills: list[Execution] = field(default_factory=list)


class _HoldingsMoved(Exception):
    """The account figures the score was taken on changed before the lock was taken."""


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


def order_submit(
    *, user: User, request: OrderRequest, replacing: Replacing | None = None
) -> SubmitResult:
    """Place an order. The same client_order_id with the same body returns the original order
    (created=False); with a different body it is a conflict. Nothing is stored when a check
    fails, when the oversight service refuses the order (CRITICAL) or cannot be reached in
    time (fail closed: the client retries with the same client_order_id). `replacing`: the
    order this one replaces (see `Replacing`)."""
    deadline = time.monotonic() + settings.ORDER_TIMEOUT_SECONDS
    replay = _idempotent_replay(user=user, request=request)
    if replay is not None:
        return SubmitResult(replay, created=False)
    try:
        return _order_place(user=user, request=request, deadline=deadline, replacing=replacing)
    except oversight.OversightUnavailable as exc:
        system_health_report(check="oversight", ok=False, detail=exc.message)
        raise
    except IntegrityError:
        # A concurrent request with the same client_order_id won the race.
        replay = _idempotent_replay(user=user, request=request)
        if replay is None:
            raise
        return SubmitResult(replay, created=False)


def _idempotent_replay(*, user: User, request: OrderRequest) -> Order | None:
    found = _BY_CLIENT_ID.objects(user_id=user.pk, client_order_id=request.client_order_id)
    if not found:
        return None
    existing = found[0]
    if existing.request_fingerprint != request.fingerprint():
        raise IdempotencyConflict(
            "client_order_id was already used for a different order.",
            details={"client_order_id": request.client_order_id, "order_id": str(existing.id)},
        )
    return existing


def _released(
    *, user: User, replacing: Replacing | None, account: Account, position: Position | None
) -> tuple[Account, Position | None]:
    """The account and position as they will be once the replaced order's reservation is
    released (copies; the rows are not touched)."""
    if replacing is None:
        return account, position
    old = Order.objects.filter(pk=replacing.order_id, user=user).first()
    if old is None:
        raise NotFound("No such order.")
    _check_replaceable(old, replacing)
    account = copy.copy(account)
    account.reserved_cash -= old.reserved_cash
    if position is not None and old.reserved_quantity:
        position = copy.copy(position)
        position.reserved_quantity -= old.reserved_quantity
    return account, position


def _check_replaceable(old: Order, replacing: Replacing) -> None:
    if old.status not in CANCELABLE_STATUSES:
        raise NotCancelable(
            f"The order is {old.status} and can no longer be replaced.",
            details={"status": old.status},
        )
    if old.filled_quantity != replacing.filled_quantity:
        raise Conflict(
            "The order traded while it was being replaced; look at it and replace it again.",
            details={"filled_quantity": old.filled_quantity},
        )


def _order_place(
    *, user: User, request: OrderRequest, deadline: float, replacing: Replacing | None
) -> SubmitResult:
    order_id = uuid7()
    quota_ensure_available(user_id=user.pk)
    fingerprint = request.fingerprint()
    account = account_ensure(user=user)
    for attempt in range(SCORE_ATTEMPTS):
        symbol = symbol_of(request.symbol)
        if symbol is None:
            raise ValidationFailed(
                f"symbol: unknown symbol {request.symbol}.",
                details={"symbol": [f"Unknown symbol {request.symbol}."]},
            )
        if attempt:
            account.refresh_from_db()
        position = position_of(account_id=account.pk, symbol_id=symbol.pk)
        scored_account, position = _released(
            user=user, replacing=replacing, account=account, position=position
        )
        holdings = Holdings.of(scored_account, position)
        order_check(request=request, symbol=symbol, account=scored_account, position=position)
        facts = risk_facts(
            # A new score after the figures moved is a new evaluation, not the stored first one.
            order_id=order_id if not attempt else f"{order_id}.{attempt}",
            user_id=user.pk,
            symbol=symbol,
            side=request.side,
            order_type=request.order_type,
            quantity=request.quantity,
            price=request.price,
            stop_price=request.stop_price,
            account=account,
            holdings=holdings,
        )
        assessment = oversight.evaluate_risk(**facts, timeout=deadline - time.monotonic())
        known_rules = risk_rules()
        if assessment.level is oversight.RiskLevel.CRITICAL:
            raise RiskRejected(
                "The order was refused by the risk check: " + "; ".join(assessment.reasons),
                details={
                    "risk_level": assessment.level,
                    "risk_score": assessment.score,
                    "reasons": list(assessment.reasons),
                },
            )
        draft = None
        if assessment.level is oversight.RiskLevel.HIGH:
            draft = approval_submit(
                order_id=order_id,
                user_id=user.pk,
                facts=facts,
                assessment=assessment,
                timeout=deadline - time.monotonic(),
            )
        try:
            return _retry_on_deadlock(
                partial(
                    _order_commit,
                    user=user,
                    request=request,
                    fingerprint=fingerprint,
                    order_id=order_id,
                    holdings=holdings,
                    facts=facts,
                    assessment=assessment,
                    known_rules=known_rules,
                    draft=draft,
                    replacing=replacing,
                )
            )
        except _HoldingsMoved:
            continue
    raise Conflict(
        "Your account kept changing while this order was being scored; send it again.",
        details={"attempts": SCORE_ATTEMPTS},
    )


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


def order_check(
    *, request: OrderRequest, symbol: Symbol, account: Account, position: Position | None
) -> Decimal:
    """The local pre-trade checks (ARCHITECTURE.md step 4) on the given rows. Returns the
    worst price the order may trade at."""
    _check_symbol(symbol)
    _check_collar(request=request, reference=symbol.reference_price)
    worst_price = limit_for_matching(request=request, reference=symbol.reference_price)
    if request.side == Side.BUY:
        _check_buying_power(account, worst_price * request.quantity)
    else:
        available = position.available_quantity if position else 0
        if available < request.quantity:
            raise InsufficientPosition(
                f"You hold {available} {symbol.pk} shares available to sell.",
                details={
                    "held_quantity": position.quantity if position else 0,
                    "available_quantity": available,
                },
            )
    return worst_price


def _check_collar(*, request: OrderRequest, reference: Decimal) -> None:
    low, high = collar_bounds(reference, settings.PRICE_COLLAR_PCT)
    for name in ("price", "stop_price"):
        value = getattr(request, name)
        if value is not None and not low <= value <= high:
            raise ValidationFailed(
                f"{name}: must be within {settings.PRICE_COLLAR_PCT} % of the reference "
                f"price {reference} ({low} to {high}).",
                details={
                    name: [f"outside the price collar {low}-{high}"],
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
@pipelined()
def _order_commit(
    *,
    user: User,
    request: OrderRequest,
    fingerprint: str,
    order_id: UUID,
    holdings: Holdings,
    facts: dict[str, Any],
    assessment: oversight.RiskAssessment,
    known_rules: Rules,
    draft: ApprovalDraft | None,
    replacing: Replacing | None,
) -> SubmitResult:
    symbol = symbol_lock(request.symbol)
    ledger = Ledger()
    replaced = None
    if replacing is not None:
        replaced = Order.objects.select_for_update().get(pk=replacing.order_id)
        _check_replaceable(replaced, replacing)
        order_close(replaced, OrderStatus.CANCELLED, "Replaced by a new order.", ledger=ledger)
    account = ledger.account(user.pk)
    if request.side == Side.SELL:
        position: Position | None = ledger.position(user.pk, symbol.pk)
    else:
        position = ledger.held(user.pk, symbol.pk)
    current = Holdings.of(account, position)
    if current != holdings and not verdict_holds(
        facts=facts,
        assessment=assessment,
        current=current,
        equity=account.cash + positions_value_of(account_id=account.pk),
        known_rules=known_rules,
    ):
        raise _HoldingsMoved
    worst_price = order_check(request=request, symbol=symbol, account=account, position=position)
    order = Order(
        id=order_id,
        user=user,
        symbol=symbol,
        client_order_id=request.client_order_id,
        request_fingerprint=fingerprint,
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
        risk_level=assessment.level,
        risk_score=assessment.score,
        risk_reasons=list(assessment.reasons),
        replaces=replaced,
    )
    if request.side == Side.BUY:
        order.reserved_cash = worst_price * request.quantity
        cash_reserve(account=account, amount=order.reserved_cash)
    else:
        assert position is not None
        order.reserved_quantity = request.quantity
        shares_reserve(position=position, quantity=request.quantity)
    if draft is not None:
        order.status = OrderStatus.PENDING_APPROVAL
        order.save(force_insert=True)
        order_publish(order, "trade:pending_approval")
        approval_request_open(order=order, draft=draft)
        _replaced_finish(replacing, replaced, order)
        return SubmitResult(order, created=True)
    order_publish(order, "trade:created")
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
    fills = order_work(order=order, symbol=symbol, ledger=ledger)
    _replaced_finish(replacing, replaced, order)
    return SubmitResult(order, created=True, fills=fills)


def _replaced_finish(replacing: Replacing | None, replaced: Order | None, order: Order) -> None:
    if replacing is not None:
        assert replaced is not None
        replacing.finish(replaced, order)


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
                _check_buying_power(Ledger().account(order.user_id), extra)
    except DomainError as exc:
        return exc.message
    return ""


def order_approved_execute(*, order: Order, symbol: Symbol) -> Order:
    """Release an approved order into the book (after `order_approval_recheck` passed, in the
    same transaction): a buy's reservation follows the current collar, then it matches."""
    ledger = Ledger()
    if order.side == Side.BUY:
        worst = limit_for_matching(request=_request_of(order), reference=symbol.reference_price)
        needed = worst * order.remaining_quantity
        if needed != order.reserved_cash:
            account = ledger.account(order.user_id)
            cash_release(account=account, amount=order.reserved_cash)
            cash_reserve(account=account, amount=needed)
            order.reserved_cash = needed
        order.limit_for_matching = worst
    order.status = OrderStatus.OPEN
    # Time priority from the approval: the order joins the book now.
    order.seq = time.time_ns()
    order.updated_at = timezone.now()
    order.save(update_fields=["reserved_cash", "limit_for_matching", "status", "seq", "updated_at"])
    order_publish(order, "trade:created")
    order_work(order=order, symbol=symbol, ledger=ledger)
    return order


def order_approval_refused(*, order: Order, reason: str) -> Order:
    """A pending order a manager rejected, or nobody decided in time: rejected, reservations
    released (the caller holds the symbol lock)."""
    order_close(order, OrderStatus.REJECTED, reason[:200], ledger=Ledger())
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
            quota_ensure_available(user_id=user.pk)
            order_close(order, OrderStatus.CANCELLED, "Cancelled by you.", ledger=Ledger())
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


def orders_cancel_all(*, user: User, reason: str) -> int:
    """Cancel every open, partially filled or pending order of the user (account reset)."""
    count = 0
    ledger = Ledger()
    for order in Order.objects.filter(user=user, status__in=CANCELABLE_STATUSES).order_by("seq"):
        Symbol.objects.select_for_update().filter(pk=order.symbol_id).first()
        order_close(
            Order.objects.select_for_update().get(pk=order.pk),
            OrderStatus.CANCELLED,
            reason,
            ledger=ledger,
        )
        count += 1
    return count
