"""Managers approve and reject HIGH-risk orders from Slack: the request message reaches a real
local HTTP server standing in for Slack, a signed button click (signed here with hmac, as Slack
signs) decides through the one decision service, and the replies travel back to the click's
`response_url` through the Slack outbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import SlackMessage
from alerts.services import slack_messages_deliver
from alerts.slack import escape
from oversight.models import ApprovalRequest, ApprovalState, SlackManager
from oversight.slack import verify_signature
from portfolio.models import Account, Position
from tests.alerts import conftest as alerts_conftest
from tests.alerts.conftest import SlackStandIn
from tests.trades.conftest import order_body, set_quotes
from trades.models import Execution, Order, Symbol
from trading_demo.models import AuditEvent, User

pytestmark = pytest.mark.django_db
# The Slack stand-in (a real local HTTP server as the webhook and the clicks' response_urls).
slack = alerts_conftest.slack
D = Decimal
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MANAGER_SLACK_ID = "U0MAX"
ACTIONS_PATH = "/actions/T000/1111/ReSpOnSe"


@pytest.fixture
def signing_secret(settings: Any) -> str:
    settings.SLACK_SIGNING_SECRET = SECRET
    return SECRET


@pytest.fixture
def max_on_slack(manager: User) -> User:
    SlackManager.objects.create(slack_user_id=MANAGER_SLACK_ID, user=manager)
    return manager


def place_high_order(client_for: Any, trader: User) -> Order:
    """BUY 150 ACME at 100: 15,000 USD is over the approval threshold, so it waits."""
    response = client_for(trader).post("/api/trades", order_body(quantity=150), format="json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending_approval"
    return Order.objects.get(pk=response.json()["id"])


def requested_message(stand_in: SlackStandIn) -> dict[str, Any]:
    slack_messages_deliver()
    [message] = [m for m in stand_in.received if m["text"].startswith("Approval needed")]
    return message


def click(
    message: dict[str, Any],
    button: str,
    *,
    reason: str | None = None,
    user_id: str = MANAGER_SLACK_ID,
    response_url: str,
) -> dict[str, Any]:
    """The block_actions payload Slack sends when `button` of `message` is clicked, with
    `reason` typed in the message's input box: ids and values echo what we sent."""
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    [pressed] = [e for e in actions["elements"] if e["text"]["text"] == button]
    [box] = [b for b in message["blocks"] if b["type"] == "input"]
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "max", "team_id": "T000"},
        "api_app_id": "A000",
        "team": {"id": "T000", "domain": "demo"},
        "container": {"type": "message", "message_ts": "1700000000.000100"},
        "trigger_id": "123.456.abc",
        "channel": {"id": "C000", "name": "approvals"},
        "message": message,
        "response_url": response_url,
        "state": {
            "values": {
                box["block_id"]: {
                    box["element"]["action_id"]: {"type": "plain_text_input", "value": reason}
                }
            }
        },
        "actions": [
            {
                "type": "button",
                "block_id": actions["block_id"],
                "action_id": pressed["action_id"],
                "value": pressed["value"],
                "text": pressed["text"],
                "action_ts": "1700000001.000200",
            }
        ],
    }


def signed_headers(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(
        secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256
    ).hexdigest()
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": f"v0={digest}",
    }


def form_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def post_interaction(body: bytes, headers: dict[str, str]) -> Any:
    return Client().post(
        "/slack/interactions",
        data=body,
        content_type="application/x-www-form-urlencoded",
        **headers,  # type: ignore[arg-type]
    )


def send_click(payload: dict[str, Any]) -> Any:
    body = form_body(payload)
    return post_interaction(body, signed_headers(body))


def received_at(stand_in: SlackStandIn, path: str) -> list[dict[str, Any]]:
    return [message for at, message in stand_in.received_at if at == path]


def account(user: User) -> Account:
    return Account.objects.get(user=user)


# --- the request message ----------------------------------------------------------------


def test_a_high_order_posts_the_request_with_buttons_facts_and_admin_link(
    slack: SlackStandIn, settings: Any, client_for: Any, trader: User, manager: User, acme: Symbol
) -> None:
    settings.PUBLIC_URL = "https://trading.example.com"
    order = place_high_order(client_for, trader)
    approval = order.approval_request
    assert slack.received == []  # nothing is posted from the order's request

    message = requested_message(slack)

    assert received_at(slack, "/services/T000/B000/XXXX") == [message]  # the webhook
    assert message["text"].startswith("Approval needed: tess@example.com BUY 150 ACME")
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    buttons = {e["text"]["text"]: e for e in actions["elements"]}
    assert buttons["Approve"]["style"] == "primary"
    assert buttons["Reject"]["style"] == "danger"
    assert buttons["Approve"]["value"] == buttons["Reject"]["value"] == str(approval.pk)
    assert buttons["Approve"]["action_id"] != buttons["Reject"]["action_id"]
    fields = {
        f["text"].split(":*\n")[0].lstrip("*"): f["text"].split(":*\n")[1]
        for b in message["blocks"]
        for f in b.get("fields", [])
    }
    assert fields["Trader"] == "tess@example.com"
    assert fields["Order"] == f"BUY 150 ACME @ ~${approval.price}"
    assert fields["Notional"] == f"${approval.notional}" == "$15000.00"
    assert fields["Risk"] == f"HIGH ({approval.risk_score}/100)"
    assert fields["Expires"].startswith(f"<!date^{int(approval.expires_at.timestamp())}^")
    text = json.dumps(message)
    [reasons] = [b["text"]["text"] for b in message["blocks"] if "*Reasons:*" in str(b)]
    assert reasons.splitlines()[1:] == [f"• {escape(reason)}" for reason in approval.reasons]
    assert "Order notional $15,000.00 is over $10,000.00" in reasons
    admin_link = (
        f"https://trading.example.com/admin/oversight/approvalrequest/{approval.pk}/change/"
    )
    assert admin_link in text
    [box] = [b for b in message["blocks"] if b["type"] == "input"]
    assert box["optional"] is True and box["element"]["type"] == "plain_text_input"


def test_the_trader_cannot_ping_the_channel_through_the_message(
    slack: SlackStandIn, client_for: Any, manager: User, acme: Symbol
) -> None:
    from tests.factories import UserFactory
    from trading_demo.models import Role

    mischief = UserFactory(role=Role.TRADER, email="<!channel>@example.com")
    place_high_order(client_for, mischief)
    message = requested_message(slack)
    assert "<!channel>" not in json.dumps(message)
    assert "&lt;!channel&gt;@example.com" in message["text"]


# --- approve / reject -------------------------------------------------------------------


def test_a_signed_approve_from_a_mapped_manager_fills_the_order(
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    set_quotes(acme, asks=[("100.00", 500)])
    response_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"

    response = send_click(click(message, "Approve", response_url=response_url))

    assert response.status_code == 200
    assert response.content == b""
    order.refresh_from_db()
    assert order.status == "filled" and order.filled_quantity == 150
    held = Position.objects.get(account__user=trader, symbol_id="ACME")
    assert held.quantity == 150
    assert account(trader).cash == D("100000.00") - D("15000.00")
    approval = ApprovalRequest.objects.get(pk=order.approval_request.pk)
    assert approval.state == ApprovalState.APPROVED
    assert approval.decided_by == max_on_slack
    assert approval.decided_via == "slack"

    slack_messages_deliver()
    [update] = received_at(slack, ACTIONS_PATH)
    assert update["replace_original"] is True
    assert update["text"].startswith("Approval approved: BUY 150 ACME")
    assert "max@example.com" in update["text"]
    assert all(b["type"] != "actions" for b in update["blocks"])  # no buttons left
    webhook = received_at(slack, "/services/T000/B000/XXXX")
    decided = [m for m in webhook if m["text"].startswith("Approval approved")]
    assert len(decided) == 1 and "max@example.com" in json.dumps(decided[0])
    assert any(m["text"].startswith("Trade executed: BUY 150 ACME") for m in webhook)


def test_a_signed_reject_with_a_reason_rejects_and_releases_the_cash(
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    order = place_high_order(client_for, trader)
    assert account(trader).reserved_cash > 0
    message = requested_message(slack)
    response_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"

    response = send_click(
        click(message, "Reject", reason="  Too concentrated in ACME  ", response_url=response_url)
    )

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "rejected"
    assert account(trader).reserved_cash == 0
    assert account(trader).cash == D("100000.00")
    approval = ApprovalRequest.objects.get(pk=order.approval_request.pk)
    assert approval.state == ApprovalState.REJECTED
    assert approval.decision_reason == "Too concentrated in ACME"
    assert approval.decided_via == "slack"
    slack_messages_deliver()
    [update] = received_at(slack, ACTIONS_PATH)
    assert update["replace_original"] is True
    assert "Too concentrated in ACME" in json.dumps(update)


def test_reject_without_a_reason_decides_nothing_and_asks_for_one(
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    response_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"

    for typed in (None, "   "):
        response = send_click(click(message, "Reject", reason=typed, response_url=response_url))
        assert response.status_code == 200

    assert ApprovalRequest.objects.get(pk=order.approval_request.pk).state == "pending"
    order.refresh_from_db()
    assert order.status == "pending_approval"
    slack_messages_deliver()
    replies = received_at(slack, ACTIONS_PATH)
    assert len(replies) == 2
    for reply in replies:
        assert reply["response_type"] == "ephemeral"
        assert reply["replace_original"] is False
        assert "reason" in reply["text"]


def test_a_second_click_after_the_decision_is_told_it_is_already_approved(
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    admin_user: User,
    acme: Symbol,
) -> None:
    SlackManager.objects.create(slack_user_id="U0ADA", user=admin_user)
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    set_quotes(acme, asks=[("100.00", 500)])
    first_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"
    second_url = f"http://127.0.0.1:{slack.port}/actions/T000/2222/second"

    assert send_click(click(message, "Approve", response_url=first_url)).status_code == 200
    second = click(message, "Reject", reason="no", user_id="U0ADA", response_url=second_url)
    assert send_click(second).status_code == 200
    assert send_click(click(message, "Approve", response_url=second_url)).status_code == 200

    approval = ApprovalRequest.objects.get(pk=order.approval_request.pk)
    assert approval.state == ApprovalState.APPROVED and approval.decided_by == max_on_slack
    assert AuditEvent.objects.filter(action__startswith="approval.").count() == 1
    assert Execution.objects.filter(buy_order=order).count() == 1
    assert Position.objects.get(account__user=trader, symbol_id="ACME").quantity == 150
    slack_messages_deliver()
    assert len(received_at(slack, ACTIONS_PATH)) == 1
    replies = received_at(slack, "/actions/T000/2222/second")
    assert len(replies) == 2
    for reply in replies:
        assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
        assert "already approved" in reply["text"]


def test_a_manager_cannot_approve_their_own_order_from_slack(
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    order = place_high_order(client_for, max_on_slack)
    message = requested_message(slack)
    response_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"

    assert send_click(click(message, "Approve", response_url=response_url)).status_code == 200

    assert ApprovalRequest.objects.get(pk=order.approval_request.pk).state == "pending"
    slack_messages_deliver()
    [reply] = received_at(slack, ACTIONS_PATH)
    assert reply["response_type"] == "ephemeral"
    assert "own order" in reply["text"]


def test_a_click_after_the_expiry_is_told_so_and_the_order_is_rejected(
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    ApprovalRequest.objects.filter(order=order).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"

    assert send_click(click(message, "Approve", response_url=response_url)).status_code == 200

    approval = ApprovalRequest.objects.get(order=order)
    assert approval.state == ApprovalState.EXPIRED and approval.decided_by is None
    order.refresh_from_db()
    assert order.status == "rejected"
    assert account(trader).reserved_cash == 0
    slack_messages_deliver()
    [reply] = received_at(slack, ACTIONS_PATH)
    assert reply["response_type"] == "ephemeral" and "expired" in reply["text"]
    webhook = received_at(slack, "/services/T000/B000/XXXX")
    assert any(m["text"].startswith("Approval expired: BUY 150 ACME") for m in webhook)


# --- who may click ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["unknown", "mapped trader"])
def test_a_slack_user_who_is_not_a_mapped_manager_decides_nothing(
    who: str,
    slack: SlackStandIn,
    settings: Any,
    signing_secret: str,
    client_for: Any,
    trader: User,
    trader2: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    SlackManager.objects.create(slack_user_id="U0THEO", user=trader2)
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    # The reply goes to the click's own URL even with the channel's webhook switched off.
    settings.SLACK_WEBHOOK_URL = ""
    response_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"
    user_id = "U0NOBODY" if who == "unknown" else "U0THEO"

    response = send_click(click(message, "Approve", user_id=user_id, response_url=response_url))

    assert response.status_code == 200
    assert ApprovalRequest.objects.get(pk=order.approval_request.pk).state == "pending"
    order.refresh_from_db()
    assert order.status == "pending_approval"
    queued = SlackMessage.objects.get(url=response_url)
    assert queued.payload["response_type"] == "ephemeral"
    assert slack_messages_deliver().delivered == 1
    [reply] = received_at(slack, ACTIONS_PATH)
    assert reply["text"] == "You are not authorized to decide approvals."


# --- requests that are not Slack's ------------------------------------------------------


def _nothing_happened(order: Order, queued_before: int) -> None:
    assert ApprovalRequest.objects.get(pk=order.approval_request.pk).state == "pending"
    order.refresh_from_db()
    assert order.status == "pending_approval"
    assert SlackMessage.objects.count() == queued_before


@pytest.mark.parametrize(
    "forgery",
    ["wrong secret", "tampered body", "six minutes old", "six minutes ahead", "no headers"],
)
def test_an_unsigned_or_badly_signed_click_is_refused(
    forgery: str,
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    queued_before = SlackMessage.objects.count()
    response_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"
    body = form_body(click(message, "Approve", response_url=response_url))
    headers = signed_headers(body)
    if forgery == "wrong secret":
        headers = signed_headers(body, secret="not-the-secret")
    elif forgery == "tampered body":
        other = click(message, "Reject", reason="x", response_url=response_url)
        body = form_body(other)
    elif forgery == "six minutes old":
        headers = signed_headers(body, at=time.time() - 6 * 60)
    elif forgery == "six minutes ahead":
        headers = signed_headers(body, at=time.time() + 6 * 60)
    elif forgery == "no headers":
        headers = {}

    assert post_interaction(body, headers).status_code == 401
    _nothing_happened(order, queued_before)


def test_without_a_signing_secret_every_click_is_refused(
    slack: SlackStandIn,
    settings: Any,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    settings.SLACK_SIGNING_SECRET = ""
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    queued_before = SlackMessage.objects.count()
    body = form_body(click(message, "Approve", response_url=f"http://127.0.0.1:{slack.port}/a"))

    # Signed with an empty key, as a forger who guessed "no secret" would.
    assert post_interaction(body, signed_headers(body, secret="")).status_code == 401
    _nothing_happened(order, queued_before)


def test_an_oversized_body_is_refused(
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    queued_before = SlackMessage.objects.count()
    payload = click(message, "Approve", response_url=f"http://127.0.0.1:{slack.port}/a")
    payload["padding"] = "x" * 200_000
    body = form_body(payload)

    assert post_interaction(body, signed_headers(body)).status_code in (400, 413)
    _nothing_happened(order, queued_before)


def test_other_interactions_are_acknowledged_and_ignored(
    slack: SlackStandIn,
    signing_secret: str,
    client_for: Any,
    trader: User,
    max_on_slack: User,
    acme: Symbol,
) -> None:
    order = place_high_order(client_for, trader)
    message = requested_message(slack)
    queued_before = SlackMessage.objects.count()
    response_url = f"http://127.0.0.1:{slack.port}{ACTIONS_PATH}"
    admin_link_click = click(message, "Approve", response_url=response_url)
    admin_link_click["actions"][0]["action_id"] = "approval_open_admin"
    shortcut = {"type": "shortcut", "callback_id": "x", "user": {"id": MANAGER_SLACK_ID}}

    assert send_click(admin_link_click).status_code == 200
    assert send_click(shortcut).status_code == 200
    _nothing_happened(order, queued_before)


def test_verify_signature_follows_slacks_v0_scheme() -> None:
    body = b"payload=%7B%7D"
    now = 1_700_000_000.0
    digest = hmac.new(b"s3cret", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    good = {"body": body, "timestamp": "1700000000", "signature": f"v0={digest}"}

    assert verify_signature(**good, secret="s3cret", now=now)
    assert verify_signature(**good, secret="s3cret", now=now + 299)
    assert verify_signature(**good, secret="s3cret", now=now - 299)
    assert not verify_signature(**good, secret="s3cret", now=now + 301)
    assert not verify_signature(**good, secret="s3cret", now=now - 301)
    assert not verify_signature(**good, secret="other", now=now)
    assert not verify_signature(**good, secret="", now=now)
    assert not verify_signature(**{**good, "signature": digest}, secret="s3cret", now=now)
    assert not verify_signature(**{**good, "timestamp": "soon"}, secret="s3cret", now=now)
    assert not verify_signature(**{**good, "signature": "v0=é"}, secret="s3cret", now=now)


# --- Slack being down; trades ----------------------------------------------------------


def test_slack_down_never_holds_up_an_order_and_the_request_waits_for_retry(
    slack: SlackStandIn, client_for: Any, trader: User, manager: User, acme: Symbol
) -> None:
    slack.down = True
    order = place_high_order(client_for, trader)  # 202 whatever Slack is doing

    run = slack_messages_deliver()
    assert (run.delivered, run.failed) == (0, 1)
    [queued] = SlackMessage.objects.filter(payload__text__startswith="Approval needed")
    assert queued.delivered_at is None and queued.attempts == 1
    assert str(order.approval_request.pk) in json.dumps(queued.payload)

    slack.down = False
    slack_messages_retry_now_all()
    slack_messages_deliver()
    assert any(m["text"].startswith("Approval needed") for m in slack.received)


def slack_messages_retry_now_all() -> None:
    from alerts.services import slack_messages_retry_now

    slack_messages_retry_now(message_ids=list(SlackMessage.objects.values_list("pk", flat=True)))


def test_a_filled_order_is_announced_as_a_trade_executed_message(
    slack: SlackStandIn, client_for: Any, trader: User, acme: Symbol
) -> None:
    set_quotes(acme, asks=[("100.05", 500)])
    response = client_for(trader).post("/api/trades", order_body(quantity=10), format="json")
    assert response.status_code == 201 and response.json()["status"] == "filled"

    slack_messages_deliver()

    [trade] = [m for m in slack.received if m["text"].startswith("Trade executed:")]
    assert trade["text"] == "Trade executed: BUY 10 ACME @ $100.05"
    fields = [f["text"] for b in trade["blocks"] for f in b.get("fields", [])]
    assert fields == [
        "*Symbol:*\nACME",
        "*Type:*\nBUY",
        "*Quantity:*\n10",
        "*Price:*\n$100.05",
    ]
