"""The approval workflow: open a request for a HIGH-risk order, decide it (admin, API, page or
Slack), withdraw it when the trader cancels, expire it when nobody decided in time.

A decision runs in one transaction that locks the symbol (as matching does) and then the
request, so the first decision wins and a concurrent one finds it decided (409). Inside it the
pre-trade checks run again at the current prices, the decision is forwarded to the oversight
service (which also refuses a second decision and self-approval), and the order is released
into the book or rejected with its reservations freed. The gRPC call inside the lock has its own
short deadline; if it fails, nothing is written and the caller gets 503.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.models import AlertType
from alerts.services import alert_raise, slack_enqueue
from oversight import client as oversight
from oversight import slack
from oversight.models import ApprovalRequest, ApprovalState, DecisionChannel
from trades.models import Order, OrderStatus, Symbol
from trading_demo.audit import audit_record
from trading_demo.errors import Forbidden, NotFound, ValidationFailed
from trading_demo.models import AuditEvent, Role, Severity, User
from trading_demo.realtime import publish

logger = logging.getLogger(__name__)

CHANNEL = "approvals"
REASON_MAX_LENGTH = 500
EXPIRE_BATCH = 100


def approval_event_data(approval: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": str(approval.pk),
        "order_id": str(approval.order_id),
        "trader_id": str(approval.trader_id),
        "symbol": approval.symbol_id,
        "side": approval.side,
        "quantity": approval.quantity,
        "notional": str(approval.notional),
        "risk_level": approval.risk_level,
        "risk_score": approval.risk_score,
        "state": approval.state,
        "expires_at": approval.expires_at.isoformat(),
        "decided_by": str(approval.decided_by_id) if approval.decided_by_id else None,
        "decided_via": approval.decided_via,
        "reason": approval.decision_reason,
    }


def approval_request_open(
    *, order: Order, assessment: oversight.RiskAssessment, facts: dict[str, Any]
) -> ApprovalRequest:
    """Hold `order` (already pending_approval, its cash or shares reserved) for a manager.

    Runs inside the order's transaction: the request is stored here and on the oversight
    service, or (the service failing) not at all. Managers hear of it after commit, in the app
    and on Slack.
    """
    now = timezone.now()
    price = Decimal(facts["price"])
    approval = ApprovalRequest(
        order=order,
        trader_id=order.user_id,
        symbol_id=order.symbol_id,
        side=order.side,
        quantity=order.quantity,
        price=price,
        notional=(price * order.quantity).quantize(Decimal("0.01")),
        risk_level=assessment.level,
        risk_score=assessment.score,
        reasons=list(assessment.reasons),
        evaluation_id=assessment.evaluation_id,
        portfolio_snapshot={
            "cash": str(facts["cash"]),
            "equity": str(facts["equity"]),
            "position_quantity": facts["position_quantity"],
            "reference_price": str(facts["reference_price"]),
            "recent_order_count": facts["recent_order_count"],
        },
        created_at=now,
        expires_at=now + timedelta(seconds=settings.APPROVAL_TIMEOUT),
    )
    approval.save()
    oversight.submit_approval(
        approval_id=approval.pk,
        order_id=order.pk,
        user_id=order.user_id,
        symbol=approval.symbol_id,
        side=approval.side,
        quantity=approval.quantity,
        price=approval.price,
        notional=approval.notional,
        score=approval.risk_score,
        level=approval.risk_level,
        reasons=approval.reasons,
        expires_at=approval.expires_at,
    )
    publish("approval:requested", approval_event_data(approval), channel=CHANNEL, to_managers=True)
    alert_raise(
        type=AlertType.APPROVAL,
        severity=Severity.HIGH,
        message=(
            f"Approval needed: {order.user} {approval.side} {approval.quantity} "
            f"{approval.symbol_id} ({approval.notional} USD, score {approval.risk_score})"
        ),
        to_managers=True,
        symbol=approval.symbol_id,
        data={"approval_id": str(approval.pk), "order_id": str(order.pk)},
        # The approval request's own Block Kit message (with buttons) goes to Slack instead.
        notify_slack=False,
    )
    slack_enqueue(slack.approval_requested_payload(approval))
    return approval


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
    from trades.services import (
        order_approval_recheck,
        order_approval_refused,
        order_approved_execute,
    )

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


def approval_withdraw(*, order: Order, reason: str) -> ApprovalRequest | None:
    """The trader cancelled a pending order (or it ended with its session): its request is
    withdrawn and leaves the managers' queue. Runs inside the cancel's transaction. The
    oversight service keeps its copy pending until it expires (it has no withdraw)."""
    approval = (
        ApprovalRequest.objects.select_for_update()
        .filter(order=order, state=ApprovalState.PENDING)
        .first()
    )
    if approval is None:
        return None
    approval.state = ApprovalState.WITHDRAWN
    approval.decided_at = timezone.now()
    approval.decision_reason = reason[:REASON_MAX_LENGTH]
    approval.decided_via = DecisionChannel.SYSTEM
    approval.save(update_fields=["state", "decided_at", "decision_reason", "decided_via"])
    audit_record(actor=None, action="approval.withdrawn", target=approval, data={"reason": reason})
    publish("approval:decided", approval_event_data(approval), channel=CHANNEL, to_managers=True)
    return approval


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
    from trades.services import order_approval_refused

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


# --- risk rules and the kill switch (admins) --------------------------------------------------


def _settings_audit(*, actor: User, action: str, data: dict[str, Any]) -> None:
    AuditEvent.objects.create(
        actor=actor, action=action, target_type="oversight.service", target_id="risk", data=data
    )


def risk_config_set(*, actor: User, config: oversight.RiskConfig) -> oversight.RiskSettings:
    """Replace the service's risk rules (admins only); the change is audited here too."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins change the risk rules.")
    saved = oversight.set_risk_config(config=config, actor=actor.pk)
    _settings_audit(
        actor=actor, action="risk.config_changed", data={"config": risk_config_dict(config)}
    )
    return saved


def trading_state_set(*, actor: User, state: str) -> oversight.RiskSettings:
    """The kill switch: ACTIVE, REDUCING (only sells of held shares) or HALTED (nothing but
    cancels). Admins only; audited, and the managers are told."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins switch the trading state.")
    if state not in oversight.TradingState.__members__:
        raise ValidationFailed(
            f"state: one of {', '.join(oversight.TradingState.__members__)}.",
            details={"state": ["invalid choice"]},
        )
    saved = oversight.set_trading_state(state=state, actor=actor.pk)
    _settings_audit(actor=actor, action="risk.trading_state_changed", data={"state": state})
    alert_raise(
        type=AlertType.RISK,
        severity=Severity.LOW if state == oversight.TradingState.ACTIVE else Severity.HIGH,
        message=f"Trading state set to {state} by {actor.email}.",
        to_managers=True,
        data={"trading_state": state},
    )
    return saved


def risk_config_dict(config: oversight.RiskConfig) -> dict[str, Any]:
    """The rules as JSON-ready values (decimals as strings), for the audit log."""
    return json.loads(json.dumps(asdict(config), default=str))  # type: ignore[no-any-return]
