"""The Approvals page: the managers' live queue with Approve and Reject forms (plain posts and
htmx), the recent decisions, and the page-socket fragments that keep it current."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.utils.html import escape

from oversight.models import ApprovalRequest
from oversight.services.requests import approval_event_data
from oversight.ui import approvals_refresh
from portfolio.models import Account
from tests.oversight.test_approvals_admin import hold_order
from tests.trades.conftest import set_quotes
from trades.models import Order
from trading_demo.realtime import ui_render

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def approve_url(approval: ApprovalRequest) -> str:
    return f"/approvals/{approval.pk}/approve/"


def reject_url(approval: ApprovalRequest) -> str:
    return f"/approvals/{approval.pk}/reject/"


def test_the_page_shows_the_queue_with_its_forms(client, manager, trader, acme, client_for):
    approval = hold_order(client_for, trader)
    client.force_login(manager)
    response = client.get("/approvals/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="approval-item"' in html
    assert "tess@example.com" in html
    assert "BUY</span> 150 ACME" in html
    assert "$15,000.00" in html
    assert f"HIGH {approval.risk_score}" in html
    for reason in approval.reasons:
        assert escape(reason) in html
    assert re.search(r">1[45]\sminutes</time>", html)  # time left of the 15-minute expiry
    assert f'action="{approve_url(approval)}"' in html
    assert f'action="{reject_url(approval)}"' in html
    assert 'name="reason"' in html and "required" in html
    assert "csrfmiddlewaretoken" in html
    assert "ws/ui/?page=approvals" in html  # the page socket serves this page's fragments
    assert "No decisions yet." in html
    assert "<script>" not in html and "style=" not in html


def test_an_empty_queue(client, admin_user):
    client.force_login(admin_user)
    html = client.get("/approvals/").content.decode()
    assert "No orders are waiting for approval." in html


def test_approve_with_a_plain_form_fills_the_order(client, manager, trader, acme, client_for):
    set_quotes(acme, asks=[("100.10", 500)])
    approval = hold_order(client_for, trader)
    client.force_login(manager)
    response = client.post(approve_url(approval))
    assert response.status_code == 302 and response["Location"] == "/approvals/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Approved BUY 150 ACME for tess@example.com."
    ]
    approval.refresh_from_db()
    assert approval.state == "approved"
    assert approval.decided_via == "page" and approval.decided_by == manager
    order = Order.objects.get(pk=approval.order_id)
    assert order.status == "filled" and order.filled_quantity == 150
    page = client.get("/approvals/").content.decode()
    assert "No orders are waiting for approval." in page
    assert 'data-testid="recent-decisions"' in page and "max@example.com" in page


def test_reject_with_htmx_swaps_the_queue_and_the_decisions(
    client, manager, trader, trader2, acme, client_for
):
    rejected = hold_order(client_for, trader)
    waiting = hold_order(client_for, trader2)
    client.force_login(manager)
    response = client.post(reject_url(rejected), {"reason": "Too concentrated"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    # The outcome is the target; the queue and the recent decisions come out of band.
    assert html.lstrip().startswith('<div id="decision-result"')
    assert "Rejected BUY 150 ACME for tess@example.com." in html
    assert 'id="approval-queue" hx-swap-oob="true"' in html
    assert f'id="approval-{rejected.pk}"' not in html
    assert f'id="approval-{waiting.pk}"' in html
    assert 'id="approval-recent" hx-swap-oob="true"' in html
    assert "Too concentrated" in html
    rejected.refresh_from_db()
    assert rejected.state == "rejected" and rejected.decided_via == "page"
    assert Order.objects.get(pk=rejected.order_id).status == "rejected"
    assert Account.objects.get(user=trader).reserved_cash == 0


def test_reject_without_a_reason_decides_nothing(client, manager, trader, acme, client_for):
    approval = hold_order(client_for, trader)
    client.force_login(manager)
    plain = client.post(reject_url(approval), {"reason": " "})
    assert plain.status_code == 400
    assert "A rejection needs a reason the trader will read." in plain.content.decode()
    assert 'data-testid="approval-item"' in plain.content.decode()  # the whole page again
    htmx = client.post(reject_url(approval), {"reason": ""}, **HTMX)
    assert htmx.status_code == 200
    html = htmx.content.decode()
    assert f'id="reject-reason-{approval.pk}-error" aria-live="polite">A rejection needs' in html
    approval.refresh_from_db()
    assert approval.is_pending


def test_a_refused_decision_is_shown(client, manager, admin_user, trader, acme, client_for):
    own = hold_order(client_for, manager)
    other = hold_order(client_for, trader)
    client.force_login(manager)
    page = client.get("/approvals/").content.decode()
    assert "Your own order: another manager decides it." in page
    assert f'action="{approve_url(own)}"' not in page
    assert f'action="{approve_url(other)}"' in page

    refused = client.post(approve_url(own))
    assert refused.status_code == 403
    assert "Nobody decides on their own order." in refused.content.decode()
    own.refresh_from_db()
    assert own.is_pending

    client.post(reject_url(other), {"reason": "No"})
    again = client.post(reject_url(other), {"reason": "No"}, **HTMX)
    assert again.status_code == 200
    assert "This request is already rejected (by max@example.com)." in again.content.decode()


def test_the_queue_refreshes_itself(client, manager, trader, acme, client_for):
    client.force_login(manager)
    hold_order(client_for, trader)
    response = client.get("/approvals/", HTTP_HX_TARGET="approval-queue", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="approval-queue"')
    assert 'hx-trigger="every 30s"' in html and "tess@example.com" in html
    assert "Recent decisions" not in html


@pytest.mark.parametrize("role", ["trader", "viewer"])
def test_only_managers_reach_the_page(client, request, role, trader2, acme, client_for):
    approval = hold_order(client_for, trader2)
    client.force_login(request.getfixturevalue(role))
    assert client.get("/approvals/").status_code == 403
    assert client.post(approve_url(approval)).status_code == 403
    assert client.post(reject_url(approval), {"reason": "no"}).status_code == 403
    approval.refresh_from_db()
    assert approval.is_pending


def test_signed_out_visitors_go_to_the_login_page(client):
    response = client.get("/approvals/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_page_socket_re_renders_the_queue_for_managers_only(
    manager, trader, trader2, acme, client_for
):
    approval = hold_order(client_for, trader)
    data = approval_event_data(approval)
    for event in ("approval:requested", "approval:decided"):
        html = ui_render(event, manager, data, page="approvals")
        assert 'id="approval-queue" hx-swap-oob="true"' in html
        assert 'id="approval-recent" hx-swap-oob="true"' in html
        assert f'id="approval-{approval.pk}"' in html
    # Nowhere to put it on other pages; and never for a trader's own page socket.
    assert ui_render("approval:requested", manager, data, page="dashboard") == ""
    assert ui_render("approval:decided", trader, data, page="approvals") == ""


def test_the_socket_leaves_the_deciders_own_page_to_the_decision_response(
    client, manager, admin_user, trader, acme, client_for
):
    approval = hold_order(client_for, trader)
    client.force_login(manager)
    client.post(reject_url(approval), {"reason": "No"}, **HTMX)
    approval.refresh_from_db()
    event = approval_event_data(approval)
    assert approvals_refresh(manager, event) == ""  # its response already swapped the page
    assert 'id="approval-recent"' in approvals_refresh(admin_user, event)
    assert approvals_refresh(trader, event) == ""
