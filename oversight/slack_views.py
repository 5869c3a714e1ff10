"""Slack's interactive buttons: POST /slack/interactions.

Slack signs each request (no session, no JWT, and so no per-user rate limit: the signature is
the authentication). A click from a Slack user mapped to a manager (`SlackManager`) decides
through `approval_decide`, as the admin and the API do. Slack wants an answer within 3 s, so the
view answers an empty 200 right after deciding; what the clicker sees next (the message
replaced by its outcome, or an ephemeral error) goes to the click's `response_url` through the
Slack outbox, retried like any other message and never holding up the decision.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from alerts.services import slack_enqueue
from oversight import slack
from oversight.models import DecisionChannel, SlackManager
from oversight.services.decisions import approval_decide
from trading_demo.errors import DomainError
from trading_demo.models import User

logger = logging.getLogger(__name__)

NOT_AUTHORIZED = "You are not authorized to decide approvals."
REASON_NEEDED = "Type a reason in the box above before rejecting: the trader will read it."


@csrf_exempt
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        return HttpResponse(status=413)
    if len(body) > settings.API_MAX_BODY_BYTES:
        return HttpResponse(status=413)
    if not slack.verify_signature(
        body=body,
        timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
        signature=request.headers.get("X-Slack-Signature", ""),
        secret=settings.SLACK_SIGNING_SECRET,
    ):
        return HttpResponse(status=401)
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return HttpResponse(status=400)
    if isinstance(payload, dict) and payload.get("type") == "block_actions":
        _block_actions(payload)
    return HttpResponse(status=200)


def _block_actions(payload: dict[str, Any]) -> None:
    action = next(
        (
            action
            for action in payload.get("actions") or []
            if isinstance(action, dict)
            and action.get("action_id") in (slack.APPROVE_ACTION, slack.REJECT_ACTION)
        ),
        None,
    )
    if action is None:  # the admin link button, or something not ours
        return
    response_url = _response_url(payload)
    manager = _manager_for(payload)
    if manager is None:
        _reply(response_url, NOT_AUTHORIZED)
        return
    approve = action["action_id"] == slack.APPROVE_ACTION
    reason = _typed_reason(payload)
    if not approve and not reason:
        _reply(response_url, REASON_NEEDED)
        return
    try:
        approval_id = UUID(str(action.get("value", "")))
    except ValueError:
        _reply(response_url, "No such approval request.")
        return
    try:
        approval = approval_decide(
            approval_id=approval_id,
            manager=manager,
            approve=approve,
            reason=reason,
            via=DecisionChannel.SLACK,
        )
    except DomainError as exc:
        _reply(response_url, exc.message)
        return
    if response_url:
        slack_enqueue(
            {"replace_original": True, **slack.approval_decided_payload(approval)},
            url=response_url,
        )


def _manager_for(payload: dict[str, Any]) -> User | None:
    user = payload.get("user")
    slack_user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(slack_user_id, str) or not slack_user_id:
        return None
    identity = (
        SlackManager.objects.select_related("user").filter(slack_user_id=slack_user_id).first()
    )
    if identity is None or not identity.user.is_active or not identity.user.is_manager:
        return None
    return identity.user


def _typed_reason(payload: dict[str, Any]) -> str:
    try:
        value = payload["state"]["values"][slack.REASON_BLOCK][slack.REASON_ACTION]["value"]
    except (KeyError, TypeError):
        return ""
    return value.strip() if isinstance(value, str) else ""


def _response_url(payload: dict[str, Any]) -> str:
    url = payload.get("response_url")
    if not isinstance(url, str) or len(url) > 500:
        return ""
    parts = urlsplit(url)
    return url if parts.scheme in ("https", "http") and parts.netloc else ""


def _reply(response_url: str, text: str) -> None:
    if not response_url:
        logger.info("Slack click without a response_url: %s", text)
        return
    slack_enqueue(slack.ephemeral_payload(text), url=response_url)
