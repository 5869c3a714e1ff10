"""Deciding approval requests (admin, API, page or Slack) and expiring the ones nobody decided.

A decision runs in one transaction that locks the symbol (as matching does) and then the
request, so the first decision wins and a concurrent one finds it decided (409). Inside it the
pre-trade checks run again at the current prices, the decision is forwarded to the oversight
service (which also refuses a second decision and self-approval), and the order is released
into the book or rejected with its reservations freed. The gRPC call inside the lock has its own
short deadline; if it fails, nothing is written and the caller gets 503.
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
    with transaction.atomic():
        symbol = Symbol.objects.select_for_update().get(pk=approval.symbol_id)
        approval = ApprovalRequest.objects.select_for_update().get(pk=approval.pk)
        if not approval.is_pending:
            raise _already_decided(approval)
        return _decide_locked(
            approval=approval,
            symbol=symbol,
            manager=manager,
            approve=approve,
            reason=reason,
            via=via,
        )


def _already_decided(approval: ApprovalRequest) -> oversight.AlreadyDecided:
    who = approval.decided_by.email if approval.decided_by else "the system"
    return oversight.AlreadyDecided(
        f"This request is already {approval.state} (by {who}).",
        details={
            "state": approval.state,
            "decided_by": str(approval.decided_by_id) if approval.decided_by_id else None,
            "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
        },
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
        approve = False
        reason = f"Pre-trade check failed at approval: {failed_check}"[:REASON_MAX_LENGTH]
    if approve:
        oversight.approve(approval_id=approval.pk, manager_id=manager.pk, reason=reason)
    else:
        oversight.reject(approval_id=approval.pk, manager_id=manager.pk, reason=reason)
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


def _expire_one(*, approval_id: UUID, now: datetime) -> bool:
    with transaction.atomic():
        symbol_id = ApprovalRequest.objects.filter(pk=approval_id).values_list(
            "symbol_id", flat=True
        )[0]
        Symbol.objects.select_for_update().filter(pk=symbol_id).first()
        approval = ApprovalRequest.objects.select_for_update().get(pk=approval_id)
        if not approval.is_due(now):
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
