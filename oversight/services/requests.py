"""Approval requests for HIGH-risk orders: opened when the order is placed, withdrawn when the
trader cancels it. The order services call these, so this module never imports them.

Opening has two halves so that no remote call runs while the order's write lock is held: the
request is registered on the oversight service first (`approval_submit`, before the lock), then
stored here with the order (`approval_request_open`, inside the order's transaction). When the
order then fails its checks under the lock, the service's copy stays pending until it expires,
exactly as a withdrawn request's does (the service has no withdraw).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from alerts.models import AlertType
from alerts.services import alert_raise, slack_enqueue
from oversight import client as oversight
from oversight import slack
from oversight.models import ApprovalRequest, ApprovalState, DecisionChannel
from trades.models import Order
from trading_demo.audit import audit_record
from trading_demo.ids import uuid7
from trading_demo.models import Severity
from trading_demo.realtime import publish

CHANNEL = "approvals"
REASON_MAX_LENGTH = 500


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


@dataclass(frozen=True)
class ApprovalDraft:
    """An approval request as it is registered on the service before the order is stored."""

    id: UUID
    order_id: UUID
    user_id: UUID
    symbol: str
    side: str
    quantity: int
    price: Decimal
    assessment: oversight.RiskAssessment
    facts: dict[str, Any]
    created_at: datetime
    expires_at: datetime

    @property
    def notional(self) -> Decimal:
        return (self.price * self.quantity).quantize(Decimal("0.01"))


def approval_submit(
    *,
    order_id: UUID,
    user_id: UUID,
    facts: dict[str, Any],
    assessment: oversight.RiskAssessment,
    timeout: float,
) -> ApprovalDraft:
    """Register a request for the order on the oversight service (no lock may be held: it is
    a remote call). Raises OversightUnavailable when the service cannot take it."""
    now = timezone.now()
    draft = ApprovalDraft(
        id=uuid7(),
        order_id=order_id,
        user_id=user_id,
        symbol=facts["symbol"],
        side=facts["side"],
        quantity=facts["quantity"],
        price=Decimal(facts["price"]),
        assessment=assessment,
        facts=facts,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.APPROVAL_TIMEOUT),
    )
    oversight.submit_approval(
        approval_id=draft.id,
        order_id=order_id,
        user_id=user_id,
        symbol=draft.symbol,
        side=draft.side,
        quantity=draft.quantity,
        price=draft.price,
        notional=draft.notional,
        score=assessment.score,
        level=assessment.level,
        reasons=assessment.reasons,
        expires_at=draft.expires_at,
        timeout=timeout,
    )
    return draft


def approval_request_open(*, order: Order, draft: ApprovalDraft) -> ApprovalRequest:
    """Store the request of `order` (already pending_approval, its cash or shares reserved),
    inside the order's transaction. Managers hear of it after commit, in the app and on Slack."""
    facts, assessment = draft.facts, draft.assessment
    approval = ApprovalRequest.objects.create(
        id=draft.id,
        order=order,
        trader_id=order.user_id,
        symbol_id=order.symbol_id,
        side=order.side,
        quantity=order.quantity,
        price=draft.price,
        notional=draft.notional,
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
        created_at=draft.created_at,
        expires_at=draft.expires_at,
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
