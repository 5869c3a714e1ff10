"""Deciding approval requests (admin, API, page, Slack, or on the oversight service itself)
and expiring the ones nobody decided.

The oversight service is the system of record and first decision wins there, so a decision is
recorded on the service first, outside any lock (a slow service holds up nobody else's
orders), and then applied here in one transaction that locks the symbol (as matching does),
the request and the order: the pre-trade checks run again at the current prices, and the order
is released into the book or rejected with its reservations freed. Decisions made directly on
the service are learnt by `approvals_sync_decided` (the expiry worker's round) and applied by
the same code, once: applying finds a request no longer pending and stops.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.models import AlertType
from alerts.services import alert_raise, slack_enqueue
from oversight import client as oversight
from oversight import slack
from oversight.models import ApprovalRequest, ApprovalState, DecisionChannel
from oversight.services.requests import CHANNEL, REASON_MAX_LENGTH, approval_event_data
from trades.models import Order, OrderStatus, Symbol
from trades.services.orders import (
    order_approval_recheck,
    order_approval_refused,
    order_approved_execute,
)
from trading_demo.audit import audit_record
from trading_demo.errors import Forbidden, NotFound, ValidationFailed
from trading_demo.models import Severity, User
from trading_demo.realtime import publish

logger = logging.getLogger(__name__)

EXPIRE_BATCH = 100
SYNC_BATCH = oversight.MAX_STATUS_IDS
SYNC_MAX_BATCHES = 10  # per round: 1,000 pending requests; the next round goes on


def approval_decide(
    *,
    approval_id: UUID | str,
    manager: User,
    approve: bool,
    reason: str = "",
    via: str = DecisionChannel.API,
) -> ApprovalRequest:
    """Approve or reject one pending request as `manager`.

    Approving re-runs the pre-trade checks at current prices; a failing check turns it into a
    rejection with that reason. Errors: Forbidden (not a manager, or their own order),
    ValidationFailed (a rejection without a reason), NotFound, AlreadyDecided (someone decided
    first), ApprovalExpired (past its expiry: it is expired now), OversightUnavailable.
    """
    if not manager.is_manager:
        raise Forbidden("Only managers and admins decide approval requests.")
    reason = reason.strip()[:REASON_MAX_LENGTH]
    if not approve and not reason:
        raise ValidationFailed(
            "reason: a rejection needs a reason the trader will read.",
            details={"reason": ["This field is required to reject."]},
        )
    approval = ApprovalRequest.objects.filter(pk=approval_id).first()
    if approval is None:
        raise NotFound("No such approval request.")
    if approval.trader_id == manager.pk:
        raise Forbidden("Nobody decides on their own order.")
    if approval.is_due():
        _expire_one(approval_id=approval.pk, now=timezone.now())
        raise oversight.ApprovalExpired(
            "This request expired before the decision: the order was rejected.",
            details={"state": ApprovalState.EXPIRED},
        )
    if not approval.is_pending:
        raise _already_decided(approval)
    if approve:
        # Checked before the service hears "approved", so the record there says what happens
        # here; checked again under the lock below, where only a race can fail it.
        failed_check = _recheck(approval)
        if failed_check:
            approve = False
            reason = f"Pre-trade check failed at approval: {failed_check}"[:REASON_MAX_LENGTH]
    try:
        if approve:
            recorded = oversight.approve(
                approval_id=approval.pk, manager_id=manager.pk, reason=reason
            )
        else:
            recorded = oversight.reject(
                approval_id=approval.pk, manager_id=manager.pk, reason=reason
            )
    except oversight.AlreadyDecided:
        # Someone decided first, maybe on the service itself: apply theirs, then say so.
        approvals_sync_decided(approval_ids=[approval.pk])
        approval.refresh_from_db()
        raise _already_decided(approval) from None
    except oversight.ApprovalExpired:
        _expire_one(approval_id=approval.pk, now=timezone.now(), force=True)
        raise
    return _apply_recorded(approval_id=approval.pk, recorded=recorded, manager=manager, via=via)


def _recheck(approval: ApprovalRequest) -> str:
    with transaction.atomic():
        symbol = Symbol.objects.get(pk=approval.symbol_id)
        order = Order.objects.get(pk=approval.order_id)
        return order_approval_recheck(order=order, symbol=symbol)


def _already_decided(approval: ApprovalRequest) -> oversight.AlreadyDecided:
    if approval.is_pending:
        # Decided on the service by someone this app does not apply (see
        # approvals_sync_decided): the request expires here.
        return oversight.AlreadyDecided(
            "This request is already decided on the oversight service.",
            details={"state": approval.state, "decided_by": None, "decided_at": None},
        )
    who = approval.decided_by.email if approval.decided_by else "the system"
    return oversight.AlreadyDecided(
        f"This request is already {approval.state} (by {who}).",
        details={
            "state": approval.state,
            "decided_by": str(approval.decided_by_id) if approval.decided_by_id else None,
            "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
        },
    )


def _apply_recorded(
    *, approval_id: UUID | str, recorded: oversight.ApprovalStatus, manager: User, via: str
) -> ApprovalRequest:
    """Apply a decision the service has recorded (APPROVED or REJECTED) to the request and its
    order, once: a request already decided here is returned as it is when this very decision
    was applied before, else AlreadyDecided."""
    with transaction.atomic():
        symbol_id = ApprovalRequest.objects.filter(pk=approval_id).values_list(
            "symbol_id", flat=True
        )[0]
        symbol = Symbol.objects.select_for_update().get(pk=symbol_id)
        approval = ApprovalRequest.objects.select_for_update().get(pk=approval_id)
        if not approval.is_pending:
            if approval.decided_by_id == manager.pk and approval.state in (
                ApprovalState.APPROVED,
                ApprovalState.REJECTED,
            ):
                return approval  # applied already (the API call and the sync worker raced)
            raise _already_decided(approval)
        return _decide_locked(
            approval=approval,
            symbol=symbol,
            manager=manager,
            approve=recorded.state is oversight.ApprovalState.APPROVED,
            reason=recorded.reason,
            via=via,
        )


def _decide_locked(
    *,
    approval: ApprovalRequest,
    symbol: Symbol,
    manager: User,
    approve: bool,
    reason: str,
    via: str,
) -> ApprovalRequest:
    order = Order.objects.select_for_update().get(pk=approval.order_id)
    failed_check = order_approval_recheck(order=order, symbol=symbol) if approve else ""
    if failed_check:
        # Approved on the service, but the prices or the account moved since: the order is
        # refused here, and the snapshot says so.
        approve = False
        reason = f"Pre-trade check failed at approval: {failed_check}"[:REASON_MAX_LENGTH]
    now = timezone.now()
    approval.state = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
    approval.decided_by = manager
    approval.decided_at = now
    approval.decision_reason = reason
    approval.decided_via = via
    approval.decision_snapshot = {
        "reference_price": str(symbol.reference_price),
        "last_price": str(symbol.last_price),
        "halted": symbol.halted,
        "pre_trade_check": (
            f"failed: {failed_check}" if failed_check else "passed" if approve else "not run"
        ),
        "risk_level": approval.risk_level,
        "risk_score": approval.risk_score,
        "reasons": approval.reasons,
    }
    approval.save(
        update_fields=[
            "state",
            "decided_by",
            "decided_at",
            "decision_reason",
            "decided_via",
            "decision_snapshot",
        ]
    )
    audit_record(
        actor=manager,
        action=f"approval.{approval.state}",
        target=approval,
        data={
            "reason": reason,
            "via": via,
            "order_id": str(order.pk),
            **approval.decision_snapshot,
        },
    )
    # The decision is announced first, so the trader reads "approved" before the fills.
    _announce_decision(approval)
    if approve:
        order_approved_execute(order=order, symbol=symbol)
    else:
        order_approval_refused(order=order, reason=f"Rejected by {manager.email}: {reason}")
    return approval


def approvals_sync_decided(*, approval_ids: list[UUID] | None = None) -> int:
    """Apply the decisions the oversight service holds for requests still pending here (all
    of them, oldest first, in pages; or just `approval_ids`). Returns how many were applied.

    A decider the app does not know as an active manager other than the trader is not applied
    (logged): the request then expires here and its order is auto-rejected, failing closed.
    OversightUnavailable propagates: the next round asks again."""
    if approval_ids is None:
        pending = ApprovalRequest.objects.filter(state=ApprovalState.PENDING).order_by(
            "created_at", "id"
        )
        batches = [
            list(pending.values_list("pk", flat=True)[start : start + SYNC_BATCH])
            for start in range(0, SYNC_BATCH * SYNC_MAX_BATCHES, SYNC_BATCH)
        ]
    else:
        batches = [
            approval_ids[i : i + SYNC_BATCH] for i in range(0, len(approval_ids), SYNC_BATCH)
        ]
    applied = 0
    for batch in batches:
        if not batch:
            break
        for status in oversight.approval_statuses(approval_ids=batch):
            if status.state not in (
                oversight.ApprovalState.APPROVED,
                oversight.ApprovalState.REJECTED,
            ):
                continue
            applied += _apply_from_service(status)
    return applied


def _apply_from_service(status: oversight.ApprovalStatus) -> int:
    approval = ApprovalRequest.objects.filter(pk=status.approval_id).first()
    if approval is None or not approval.is_pending:
        return 0
    manager = (
        User.objects.filter(pk=status.decided_by, is_active=True).first()
        if _is_uuid(status.decided_by)
        else None
    )
    if manager is None or not manager.is_manager or manager.pk == approval.trader_id:
        logger.warning(
            "approval %s was %s on the oversight service by %r, who is not a manager here: "
            "not applied (it will expire)",
            status.approval_id,
            status.state,
            status.decided_by,
        )
        return 0
    try:
        _apply_recorded(
            approval_id=approval.pk, recorded=status, manager=manager, via=DecisionChannel.OVERSIGHT
        )
    except oversight.AlreadyDecided:
        return 0  # decided here meanwhile (it was applied by whoever got there first)
    return 1


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _announce_decision(approval: ApprovalRequest) -> None:
    data = approval_event_data(approval)
    publish("approval:decided", data, channel="trades", user_ids=[approval.trader_id])
    publish("approval:decided", data, channel=CHANNEL, to_managers=True)
    order_text = f"{approval.side} {approval.quantity} {approval.symbol_id}"
    if approval.state == ApprovalState.APPROVED:
        message, severity = f"Your order {order_text} was approved.", Severity.LOW
    elif approval.state == ApprovalState.EXPIRED:
        message = f"Your order {order_text} expired without a decision and was rejected."
        severity = Severity.MEDIUM
    else:
        message = f"Your order {order_text} was rejected: {approval.decision_reason}"
        severity = Severity.MEDIUM
    alert_raise(
        type=AlertType.APPROVAL,
        severity=severity,
        message=message,
        owner=approval.trader,
        symbol=approval.symbol_id,
        data={"approval_id": str(approval.pk), "order_id": str(approval.order_id)},
        notify_slack=False,
    )
    slack_enqueue(slack.approval_decided_payload(approval))


def approvals_decide(
    *,
    approval_ids: list[UUID | str],
    manager: User,
    approve: bool,
    reason: str = "",
    via: str = DecisionChannel.ADMIN,
) -> tuple[list[ApprovalRequest], dict[str, str]]:
    """Decide several requests (admin's bulk action): each on its own, as approval_decide.
    Returns the decided ones and, per request that could not be decided, why."""
    decided: list[ApprovalRequest] = []
    failures: dict[str, str] = {}
    for approval_id in approval_ids:
        try:
            decided.append(
                approval_decide(
                    approval_id=approval_id,
                    manager=manager,
                    approve=approve,
                    reason=reason,
                    via=via,
                )
            )
        except (oversight.OversightUnavailable, ValidationFailed) as exc:
            # The same for every request: stop here rather than repeat it.
            failures[str(approval_id)] = exc.message
            break
        except (Forbidden, NotFound, oversight.AlreadyDecided, oversight.ApprovalExpired) as exc:
            failures[str(approval_id)] = exc.message
    return decided, failures


def approvals_expire(*, now: datetime | None = None) -> int:
    """Auto-reject every pending request past its expiry, releasing its order's reservations
    and telling the trader. The service is told too; when it is down the local expiry goes
    ahead anyway (the trader's cash must not stay locked) and the service expires its copy
    the next time it is asked."""
    now = now or timezone.now()
    try:
        oversight.expire_approvals(at=now)
    except oversight.OversightUnavailable as exc:
        logger.warning("could not tell the oversight service about expiries: %s", exc.message)
    due = list(
        ApprovalRequest.objects.filter(state=ApprovalState.PENDING, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:EXPIRE_BATCH]
    )
    return sum(_expire_one(approval_id=approval_id, now=now) for approval_id in due)


def _expire_one(*, approval_id: UUID, now: datetime, force: bool = False) -> bool:
    """Expire one pending request past its expiry (`force`: the service says it expired,
    whatever this clock says)."""
    with transaction.atomic():
        symbol_id = ApprovalRequest.objects.filter(pk=approval_id).values_list(
            "symbol_id", flat=True
        )[0]
        Symbol.objects.select_for_update().filter(pk=symbol_id).first()
        approval = ApprovalRequest.objects.select_for_update().get(pk=approval_id)
        if not approval.is_pending or (not force and not approval.is_due(now)):
            return False
        minutes = settings.APPROVAL_TIMEOUT / 60
        reason = f"No manager decided within {minutes:g} minutes: the order was auto-rejected."
        approval.state = ApprovalState.EXPIRED
        approval.decided_at = now
        approval.decision_reason = reason
        approval.decided_via = DecisionChannel.SYSTEM
        approval.save(update_fields=["state", "decided_at", "decision_reason", "decided_via"])
        audit_record(
            actor=None, action="approval.expired", target=approval, data={"reason": reason}
        )
        order = Order.objects.select_for_update().get(pk=approval.order_id)
        if order.status == OrderStatus.PENDING_APPROVAL:
            order_approval_refused(order=order, reason=f"Approval expired. {reason}")
        _announce_decision(approval)
    return True
