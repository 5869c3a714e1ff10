"""Slack messages of the approval workflow (Block Kit), built here and queued through the
alerts outbox (`alerts.services.slack_enqueue`), and the check that a button click really came
from Slack.

The request message carries Approve / Reject buttons (their `value` is the approval id) and a
reason box; Slack sends the box's text with the click in `state.values[REASON_BLOCK]
[REASON_ACTION]`, which is why those ids never change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from slack_sdk.signature import Clock, SignatureVerifier

from alerts.slack import escape
from oversight.models import ApprovalRequest, ApprovalState

APPROVE_ACTION = "approval_approve"
REJECT_ACTION = "approval_reject"
ADMIN_ACTION = "approval_open_admin"
DECISION_BLOCK = "approval_decision"
REASON_BLOCK = "approval_reason"
REASON_ACTION = "reason"
REASON_MAX_LENGTH = 500  # as oversight.services (which imports this module) keeps it

_DECIDED_HEADLINE: dict[str, str] = {
    ApprovalState.APPROVED: "\N{WHITE HEAVY CHECK MARK} Approved",
    ApprovalState.REJECTED: "\N{NO ENTRY} Rejected",
    ApprovalState.EXPIRED: "\N{HOURGLASS} Expired",
    ApprovalState.WITHDRAWN: "\N{LEFTWARDS ARROW WITH HOOK} Withdrawn",
}


def admin_url(approval: ApprovalRequest) -> str:
    path = reverse("admin:oversight_approvalrequest_change", args=[approval.pk])
    return f"{settings.PUBLIC_URL}{path}"


def slack_date(moment: datetime) -> str:
    """Shown in each reader's own time zone; the fallback (old clients, notifications) is UTC."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _order_text(approval: ApprovalRequest) -> str:
    return f"{approval.side} {approval.quantity} {approval.symbol_id}"


def approval_requested_payload(approval: ApprovalRequest) -> dict[str, Any]:
    trader = escape(approval.trader.email)
    order = f"{_order_text(approval)} @ ~${approval.price}"
    reasons = "\n".join(f"• {escape(str(reason))}" for reason in approval.reasons) or "—"
    link = admin_url(approval)
    approval_id = str(approval.pk)
    return {
        "text": (
            f"Approval needed: {trader} {order} (${approval.notional}, "
            f"{approval.risk_level} {approval.risk_score}/100)"
        ),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Approval needed"}},
            {
                "type": "section",
                "block_id": "approval_facts",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Trader:*\n{trader}"},
                    {"type": "mrkdwn", "text": f"*Order:*\n{order}"},
                    {"type": "mrkdwn", "text": f"*Notional:*\n${approval.notional}"},
                    {
                        "type": "mrkdwn",
                        "text": f"*Risk:*\n{approval.risk_level} ({approval.risk_score}/100)",
                    },
                    {"type": "mrkdwn", "text": f"*Expires:*\n{slack_date(approval.expires_at)}"},
                ],
            },
            {
                "type": "section",
                "block_id": "approval_reasons",
                "text": {"type": "mrkdwn", "text": f"*Reasons:*\n{reasons}"},
                "accessory": {
                    "type": "button",
                    "action_id": ADMIN_ACTION,
                    "text": {"type": "plain_text", "text": "Open in admin"},
                    "url": link,
                },
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason (required to reject)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "max_length": REASON_MAX_LENGTH,
                    "placeholder": {"type": "plain_text", "text": "Told to the trader"},
                },
            },
            {
                "type": "actions",
                "block_id": DECISION_BLOCK,
                "elements": [
                    {
                        "type": "button",
                        "action_id": APPROVE_ACTION,
                        "text": {"type": "plain_text", "text": "Approve"},
                        "style": "primary",
                        "value": approval_id,
                    },
                    {
                        "type": "button",
                        "action_id": REJECT_ACTION,
                        "text": {"type": "plain_text", "text": "Reject"},
                        "style": "danger",
                        "value": approval_id,
                    },
                ],
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{link}|Approval {approval_id}>"}],
            },
        ],
    }


def approval_decided_payload(approval: ApprovalRequest) -> dict[str, Any]:
    """What became of a request: by whom, when, why. No buttons: it is final."""
    who = escape(approval.decided_by.email) if approval.decided_by else "the system"
    headline = _DECIDED_HEADLINE.get(approval.state, approval.state.capitalize())
    order = f"{_order_text(approval)} (${approval.notional})"
    trader = escape(approval.trader.email)
    when = slack_date(approval.decided_at) if approval.decided_at else ""
    lines = [f"*{headline}:* {order} for {trader}", f"by {who}" + (f", {when}" if when else "")]
    if approval.decision_reason:
        lines.append(f"*Reason:* {escape(approval.decision_reason)}")
    return {
        "text": f"Approval {approval.state}: {order} for {trader} by {who}",
        "blocks": [
            {
                "type": "section",
                "block_id": "approval_outcome",
                "text": {"type": "mrkdwn", "text": "\n".join(lines)},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": (
                            f"Risk {approval.risk_level} ({approval.risk_score}/100) · "
                            f"via {approval.get_decided_via_display()} · "
                            f"<{admin_url(approval)}|Open in admin>"
                        ),
                    }
                ],
            },
        ],
    }


def ephemeral_payload(text: str) -> dict[str, Any]:
    """A reply only the clicking user sees, leaving the original message as it was."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify_signature(
    *, body: bytes, timestamp: str, signature: str, secret: str, now: float | None = None
) -> bool:
    """Slack's v0 request signature, checked by slack-sdk's `SignatureVerifier`: the HMAC of
    `v0:{timestamp}:{body}` under the signing secret, the timestamp within five minutes of now
    (against replays). Anything malformed is simply not valid."""
    if not secret or not timestamp or not signature:
        return False
    if not timestamp.isascii() or not timestamp.isdigit() or not signature.isascii():
        return False  # the verifier would raise on these (int(), compare_digest on non-ASCII)
    clock = Clock() if now is None else _FixedClock(now)
    try:
        verifier = SignatureVerifier(signing_secret=secret, clock=clock)
    except ValueError:  # a blank secret
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
