"""Slack messages of the approval workflow (Block Kit), built here and queued through the
alerts outbox (`alerts.services.slack_enqueue`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from alerts.slack import escape
from oversight.models import ApprovalRequest


def admin_url(approval: ApprovalRequest) -> str:
    path = reverse("admin:oversight_approvalrequest_change", args=[approval.pk])
    return f"{settings.PUBLIC_URL}{path}"


def approval_requested_payload(approval: ApprovalRequest) -> dict[str, Any]:
    trader = escape(approval.trader.email)
    order = f"{approval.side} {approval.quantity} {approval.symbol_id} @ ~{approval.price}"
    return {
        "text": f"Approval needed: {trader} {order} ({approval.notional} USD)",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Approval needed*"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Trader:*\n{trader}"},
                    {"type": "mrkdwn", "text": f"*Order:*\n{order}"},
                    {"type": "mrkdwn", "text": f"*Notional:*\n${approval.notional}"},
                    {
                        "type": "mrkdwn",
                        "text": f"*Risk:*\n{approval.risk_level} ({approval.risk_score}/100)",
                    },
                ],
            },
        ],
    }


def approval_decided_payload(approval: ApprovalRequest) -> dict[str, Any]:
    who = escape(approval.decided_by.email) if approval.decided_by else "the system"
    return {
        "text": (
            f"Approval {approval.state}: {approval.side} {approval.quantity} "
            f"{approval.symbol_id} by {who}"
        )
    }
