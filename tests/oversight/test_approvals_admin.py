"""Managers decide approval requests in the Django admin: the list, the read-only detail page
with its Approve / Reject buttons, and the bulk actions with their reason page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from oversight.models import ApprovalRequest, SlackManager
from portfolio.models import Account
from tests.servers import free_port
from tests.trades.conftest import make_symbol, order_body, set_quotes
from trades.models import Order
from trades.services.market import symbol_set_halted
from trading_demo.services import roles_sync

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/oversight/approvalrequest/"


@pytest.fixture(autouse=True)
def _role_permissions(db: None) -> None:
    roles_sync()  # the managers' group gets its admin permissions, as seed_demo does


def hold_order(client_for, user, **overrides: object) -> ApprovalRequest:
    """BUY 150 ACME at 100 (15,000 USD > 10,000): scored HIGH, held for a manager."""
    response = client_for(user).post(
        "/api/trades", order_body(**{"quantity": 150, **overrides}), format="json"
    )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending_approval"
    return ApprovalRequest.objects.get(order_id=response.json()["id"])


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def change_url(approval: ApprovalRequest, suffix: str = "change") -> str:
    return f"{CHANGELIST}{approval.pk}/{suffix}/"


def test_the_list_shows_requests_with_filters_and_search(
    client, manager, trader, trader2, acme, client_for
):
    approval = hold_order(client_for, trader)
    make_symbol("BOLT", "50.00")
    hold_order(client_for, trader2, symbol="BOLT", quantity=300)
    client.force_login(manager)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "BUY 150 ACME @ 100.00" in html
    assert "tess@example.com" in html
    assert "15000.00" in html
    assert f"{approval.risk_score} · HIGH" in html
    assert re.search(r'<td class="field-age">\d+ s</td>', html)  # seconds old
    assert re.search(r"in 1[45] min \(at ", html)  # the time left of a 15-minute expiry
    for heading in ("By state", "By risk level", "By symbol", "By trader"):
        assert heading in html
    assert 'value="approve_selected"' in html and 'value="reject_selected"' in html

    filtered = client.get(CHANGELIST, {"state__exact": "pending", "risk_level": "HIGH"})
    assert filtered.status_code == 200 and "BUY 150 ACME" in filtered.content.decode()
    none = client.get(CHANGELIST, {"state__exact": "approved"})
    assert "BUY 150 ACME" not in none.content.decode()
    searched = client.get(CHANGELIST, {"q": "tess@"}).content.decode()
    assert "BUY 150 ACME" in searched and "BUY 300 BOLT" not in searched
    by_symbol = client.get(CHANGELIST, {"symbol__symbol__exact": "BOLT"}).content.decode()
    assert "BUY 300 BOLT" in by_symbol and "BUY 150 ACME" not in by_symbol
    by_trader = client.get(CHANGELIST, {"trader__id__exact": str(trader.pk)}).content.decode()
    assert "BUY 150 ACME" in by_trader and "BUY 300 BOLT" not in by_trader
    assert "BUY 150 ACME" not in client.get(CHANGELIST, {"q": "nobody"}).content.decode()


def test_the_detail_page_is_read_only_with_order_reasons_and_snapshot(
    client, manager, trader, acme, client_for
):
    approval = hold_order(client_for, trader)
    client.force_login(manager)
    response = client.get(change_url(approval))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"/admin/trades/order/{approval.order_id}/change/" in html
    assert Order.objects.get(pk=approval.order_id).get_status_display() in html
    for reason in approval.reasons:
        assert escape(reason) in html
    assert "Trader&#x27;s portfolio at submission" in html
    assert "Cash" in html and "100000" in html and "Equity" in html
    # The oversight service's own record, read live: its state and the inputs it scored.
    assert "The oversight service&#x27;s record" in html
    assert "PENDING" in html and "visible_depth" in html and "symbol_volatility" in html
    # Read only: no inputs for the request's own fields, no delete, no save.
    for field in ("risk_score", "state", "decision_reason", "notional"):
        assert f'name="{field}"' not in html
    assert "deletelink" not in html and 'name="_save"' not in html
    # The decision forms post to the admin's own URLs, with CSRF tokens.
    assert f'action="{change_url(approval, "approve")}"' in html
    assert f'action="{change_url(approval, "reject")}"' in html
    assert html.count("csrfmiddlewaretoken") >= 3
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{approval.pk}/delete/").status_code == 403


def test_the_approve_action_releases_the_order_and_it_fills(
    client, manager, trader, acme, client_for
):
    set_quotes(acme, asks=[("100.10", 500)])
    approval = hold_order(client_for, trader)
    client.force_login(manager)

    confirm = client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [str(approval.pk)]}
    )
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert 'name="post" value="yes"' in html and "BUY 150 ACME @ 100.00" in html
    approval.refresh_from_db()
    assert approval.is_pending  # the intermediate page decides nothing

    done = client.post(
        CHANGELIST,
        {
            "action": "approve_selected",
            "_selected_action": [str(approval.pk)],
            "post": "yes",
            "reason": "Within the desk's limits",
        },
    )
    assert done.status_code == 302 and done["Location"] == CHANGELIST
    assert "Approved: BUY 150 ACME @ 100.00 for tess@example.com." in texts(done)
    approval.refresh_from_db()
    assert approval.state == "approved"
    assert approval.decided_via == "admin"
    assert approval.decided_by == manager
    assert approval.decision_reason == "Within the desk's limits"
    assert approval.decision_snapshot["pre_trade_check"] == "passed"
    order = Order.objects.get(pk=approval.order_id)
    assert order.status == "filled" and order.filled_quantity == 150
    assert Account.objects.get(user=trader).reserved_cash == 0


def test_bulk_reject_with_a_reason_rejects_all_and_releases_the_cash(
    client, manager, trader, trader2, acme, client_for
):
    approvals = [
        hold_order(client_for, trader),
        hold_order(client_for, trader, quantity=120),
        hold_order(client_for, trader2),
    ]
    assert Account.objects.get(user=trader).reserved_cash > 0
    client.force_login(manager)
    selected = [str(approval.pk) for approval in approvals]
    confirm = client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": selected})
    assert confirm.status_code == 200 and "Reject 3 request(s)" in confirm.content.decode()
    assert 'name="reason"' in confirm.content.decode()

    done = client.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            "_selected_action": selected,
            "post": "yes",
            "reason": "Too concentrated in ACME",
        },
    )
    assert done.status_code == 302
    assert sum(text.startswith("Rejected: BUY") for text in texts(done)) == 3
    for approval in approvals:
        approval.refresh_from_db()
        assert approval.state == "rejected"
        assert approval.decided_via == "admin"
        assert approval.decision_reason == "Too concentrated in ACME"
        order = Order.objects.get(pk=approval.order_id)
        assert order.status == "rejected" and "Too concentrated in ACME" in order.status_reason
    for user in (trader, trader2):
        assert Account.objects.get(user=user).reserved_cash == Decimal("0")


def test_reject_without_a_reason_decides_nothing(client, manager, trader, acme, client_for):
    first = hold_order(client_for, trader)
    second = hold_order(client_for, trader)
    reserved = Account.objects.get(user=trader).reserved_cash
    client.force_login(manager)
    response = client.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            "_selected_action": [str(first.pk), str(second.pk)],
            "post": "yes",
            "reason": "   ",
        },
    )
    assert response.status_code == 200  # the reason page again, with the error
    html = response.content.decode()
    assert "Nothing was decided" in html
    assert "A rejection needs a reason the trader will read." in html
    for approval in (first, second):
        approval.refresh_from_db()
        assert approval.is_pending
    assert Account.objects.get(user=trader).reserved_cash == reserved

    # The change page's Reject button says the same and decides nothing either.
    button = client.post(change_url(first, "reject"), {"reason": ""})
    assert button.status_code == 302 and button["Location"] == change_url(first)
    assert any("A rejection needs a reason" in text for text in texts(button))
    first.refresh_from_db()
    assert first.is_pending


def test_change_page_buttons_approve_and_reject(client, manager, trader, trader2, acme, client_for):
    set_quotes(acme, asks=[("100.10", 500)])
    to_approve = hold_order(client_for, trader)
    to_reject = hold_order(client_for, trader2)
    client.force_login(manager)

    approved = client.post(change_url(to_approve, "approve"))
    assert approved.status_code == 302 and approved["Location"] == change_url(to_approve)
    to_approve.refresh_from_db()
    assert to_approve.state == "approved" and to_approve.decided_via == "admin"
    assert Order.objects.get(pk=to_approve.order_id).status == "filled"
    # Decided: the page no longer offers the buttons, and a second decision is refused.
    page = client.get(change_url(to_approve)).content.decode()
    assert 'data-testid="approval-decide"' not in page and "Approved" in page
    again = client.post(change_url(to_approve, "reject"), {"reason": "changed my mind"})
    assert any("already approved" in text for text in texts(again))

    rejected = client.post(change_url(to_reject, "reject"), {"reason": "Not today"})
    assert rejected.status_code == 302
    to_reject.refresh_from_db()
    assert to_reject.state == "rejected" and to_reject.decision_reason == "Not today"
    assert Account.objects.get(user=trader2).reserved_cash == 0

    assert client.get(change_url(to_reject, "approve")).status_code == 405
    unknown = client.post(f"{CHANGELIST}01234567-89ab-7def-8123-456789abcdef/approve/")
    assert unknown.status_code == 302 and unknown["Location"] == CHANGELIST


def test_an_approval_that_fails_the_pre_trade_checks_again_is_reported(
    client, manager, trader, acme, client_for
):
    approval = hold_order(client_for, trader)
    symbol_set_halted(symbol=acme, halted=True)
    client.force_login(manager)
    response = client.post(
        CHANGELIST,
        {"action": "approve_selected", "_selected_action": [str(approval.pk)], "post": "yes"},
    )
    [text] = texts(response)
    assert text.startswith("Not approved: BUY 150 ACME @ 100.00 for tess@example.com.")
    assert "Pre-trade check failed at approval" in text
    approval.refresh_from_db()
    assert approval.state == "rejected" and approval.decided_via == "admin"
    assert Account.objects.get(user=trader).reserved_cash == 0


def test_the_buttons_need_a_csrf_token(manager, trader, acme, client_for):
    approval = hold_order(client_for, trader)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)
    assert browser.post(change_url(approval, "approve")).status_code == 403
    action = browser.post(
        CHANGELIST,
        {"action": "approve_selected", "_selected_action": [str(approval.pk)], "post": "yes"},
    )
    assert action.status_code == 403
    approval.refresh_from_db()
    assert approval.is_pending


def test_a_manager_cannot_decide_their_own_order(client, manager, admin_user, acme, client_for):
    set_quotes(acme, asks=[("100.10", 500)])
    own = hold_order(client_for, manager)
    client.force_login(manager)
    page = client.get(change_url(own)).content.decode()
    assert "This is your own order: another manager decides it." in page
    assert f'action="{change_url(own, "approve")}"' not in page

    button = client.post(change_url(own, "approve"))
    assert "Nobody decides on their own order." in texts(button)
    action = client.post(
        CHANGELIST,
        {"action": "approve_selected", "_selected_action": [str(own.pk)], "post": "yes"},
    )
    assert any("Nobody decides on their own order." in text for text in texts(action))
    own.refresh_from_db()
    assert own.is_pending

    # Another manager (here an admin) may.
    client.force_login(admin_user)
    client.post(change_url(own, "approve"))
    own.refresh_from_db()
    assert own.state == "approved" and own.decided_by == admin_user


def test_expired_and_unavailable_are_reported_and_decide_nothing(
    client, manager, trader, trader2, acme, client_for, settings
):
    expired = hold_order(client_for, trader)
    ApprovalRequest.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    waiting = hold_order(client_for, trader2)
    client.force_login(manager)

    response = client.post(change_url(expired, "approve"))
    assert any("expired before the decision" in text for text in texts(response))
    expired.refresh_from_db()
    assert expired.state == "expired"
    assert Order.objects.get(pk=expired.order_id).status == "rejected"

    settings.OVERSIGHT_GRPC_URL = f"127.0.0.1:{free_port()}"  # nobody listens there
    response = client.post(change_url(waiting, "reject"), {"reason": "Too large"})
    assert any("unavailable" in text.lower() for text in texts(response))
    waiting.refresh_from_db()
    assert waiting.is_pending
    assert Order.objects.get(pk=waiting.order_id).status == "pending_approval"


@pytest.mark.parametrize("role", ["trader", "viewer"])
def test_traders_and_viewers_cannot_reach_the_admin_or_decide(
    client, request, role, trader2, acme, client_for
):
    approval = hold_order(client_for, trader2)
    client.force_login(request.getfixturevalue(role))
    listing = client.get(CHANGELIST)
    assert listing.status_code == 302 and "/admin/login/" in listing["Location"]
    action = client.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            "_selected_action": [str(approval.pk)],
            "post": "yes",
            "reason": "no",
        },
    )
    assert action.status_code == 302 and "/admin/login/" in action["Location"]
    button = client.post(change_url(approval, "approve"))
    assert button.status_code == 302 and "/admin/login/" in button["Location"]
    approval.refresh_from_db()
    assert approval.is_pending


def test_slack_managers_map_only_to_managers_and_admins(client, admin_user, manager, trader):
    client.force_login(admin_user)
    add = "/admin/oversight/slackmanager/add/"
    form = client.get(add).content.decode()
    assert manager.email in form and trader.email not in form
    refused = client.post(add, {"slack_user_id": "U0TRADER", "user": str(trader.pk)})
    assert refused.status_code == 200 and not SlackManager.objects.exists()
    created = client.post(add, {"slack_user_id": "U024BE7LH", "user": str(manager.pk)})
    assert created.status_code == 302
    mapping = SlackManager.objects.get()
    assert mapping.user == manager
    listing = client.get("/admin/oversight/slackmanager/").content.decode()
    assert "U024BE7LH" in listing and "Manager" in listing

    # Managers see the mappings; only admins change them.
    client.force_login(manager)
    assert client.get("/admin/oversight/slackmanager/").status_code == 200
    assert client.get(add).status_code == 403


def test_the_detail_page_still_opens_with_the_service_down(
    client, manager, trader, acme, client_for, oversight_settings
):
    approval = hold_order(client_for, trader)
    oversight_settings.stop()
    client.force_login(manager)
    response = client.get(change_url(approval))
    assert response.status_code == 200
    assert "Not available: The oversight service is unavailable" in response.content.decode()
