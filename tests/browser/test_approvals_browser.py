"""Approvals in two real Chromium contexts against a real Daphne: a trader's large order waits
for a manager, the manager decides it (in the Django admin, or on the Approvals page), and each
side sees the other's action without reloading. Nothing breaks the CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from oversight.models import ApprovalRequest
from portfolio.models import Account
from tests.browser.conftest import console_errors, sign_in
from tests.factories import PASSWORD
from tests.oversight.test_approvals_admin import hold_order
from tests.trades.conftest import make_symbol, set_quotes
from trades.models import Order
from trading_demo import realtime
from trading_demo.services import roles_sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def relay(monkeypatch) -> None:
    # Orders placed by this test process reach Daphne's sockets through the database relay
    # (or Redis), as the market process's events do.
    monkeypatch.setattr(
        realtime, "_relay_through_database", realtime.use_database_relay_if_needed()
    )


@pytest.fixture
def second_context(chromium) -> Iterator[object]:
    """The manager's own browser: separate cookies, so a separate session."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def test_a_manager_approves_in_the_admin_and_the_trader_sees_the_fill(
    daphne, browser_context, second_context, trader, manager, screenshot_dir
):
    roles_sync()  # the managers' admin permissions, as seed_demo gives them
    set_quotes(make_symbol("ACME", "100.00"), asks=[("100.10", 1000)])

    trader_page = browser_context.new_page()
    trader_errors = console_errors(trader_page)
    sign_in(trader_page, daphne.url, trader.email, PASSWORD)
    expect(trader_page.locator("#ws-label")).to_have_text("Live updates: connected")

    manager_page = second_context.new_page()
    manager_errors = console_errors(manager_page)
    sign_in(manager_page, daphne.url, manager.email, PASSWORD)
    manager_page.goto(daphne.url + "/approvals/")
    expect(manager_page.locator("#ws-label")).to_have_text("Live updates: connected")
    expect(manager_page.get_by_test_id("queue-empty")).to_be_visible()

    # The trader places BUY 150 ACME (15,000 USD): confirmed, then held for approval.
    trader_page.get_by_label("Quantity").fill("150")
    trader_page.get_by_role("button", name="Buy ACME").click()
    expect(trader_page.get_by_test_id("confirm")).to_be_visible()
    trader_page.get_by_role("button", name="Confirm order").click()
    expect(trader_page.get_by_test_id("order-placed")).to_contain_text(
        re.compile(r"awaiting .*approval")
    )
    history = trader_page.get_by_test_id("open-orders")
    pending = history.locator("tr[data-status=pending_approval]")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("Awaiting approval")

    # It arrives in the manager's queue live.
    item = manager_page.get_by_test_id("approval-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(trader.email)
    expect(item).to_contain_text("$15,000.00")
    manager_page.screenshot(
        caret="initial", path=str(screenshot_dir / "approvals.png"), full_page=True
    )

    approval = ApprovalRequest.objects.get()
    manager_page.goto(f"{daphne.url}/admin/oversight/approvalrequest/{approval.pk}/change/")
    decide = manager_page.get_by_test_id("approval-decide")
    expect(decide).to_be_visible()
    expect(manager_page.locator(".field-reason_list")).to_contain_text("at least HIGH")
    manager_page.screenshot(
        caret="initial", path=str(screenshot_dir / "admin-approval.png"), full_page=True
    )
    decide.get_by_role("button", name="Approve").click()
    expect(manager_page.locator(".messagelist")).to_contain_text(
        f"Approved: BUY 150 ACME @ 100.00 for {trader.email}."
    )
    expect(decide).to_have_count(0)

    # The trader's page shows the fill without a reload.
    filled = trader_page.get_by_test_id("trade-history").locator("tr[data-status=filled]")
    expect(filled).to_have_count(1)
    expect(filled.get_by_test_id("filled")).to_have_text("150")
    # The notice under the ticket no longer says it awaits approval.
    notice = trader_page.get_by_test_id("order-placed")
    expect(notice).to_contain_text("filled, 150 filled")
    expect(notice).not_to_contain_text("awaiting")
    approval.refresh_from_db()
    assert approval.state == "approved" and approval.decided_via == "admin"
    assert trader_errors == [] and manager_errors == []


def test_a_manager_rejects_on_the_page_while_the_queue_changes(
    daphne, browser_context, trader, trader2, manager, acme, client_for, relay
):
    page = browser_context.new_page()
    errors = console_errors(page)
    sign_in(page, daphne.url, manager.email, PASSWORD)
    page.goto(daphne.url + "/approvals/")
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")

    first = hold_order(client_for, trader)
    items = page.get_by_test_id("approval-item")
    expect(items).to_have_count(1)
    reason = page.locator(f"#reject-reason-{first.pk}")
    reason.fill("Too concentrated in ACME today")

    # Another request arrives while the manager types: the queue is re-rendered, the typed
    # reason stays.
    hold_order(client_for, trader2)
    expect(items).to_have_count(2)
    expect(page.get_by_test_id("queue-count")).to_have_text("2 pending")
    expect(reason).to_have_value("Too concentrated in ACME today")

    page.locator(f"#approval-{first.pk}").get_by_role("button", name="Reject").click()
    expect(page.get_by_test_id("decision-notice")).to_have_text(
        f"Rejected BUY 150 ACME for {trader.email}."
    )
    expect(items).to_have_count(1)
    decisions = page.get_by_test_id("recent-decisions")
    expect(decisions).to_contain_text("Too concentrated in ACME today")
    expect(decisions).to_contain_text("Rejected")

    first.refresh_from_db()
    assert first.state == "rejected" and first.decided_via == "page"
    assert Order.objects.get(pk=first.order_id).status == "rejected"
    assert Account.objects.get(user=trader).reserved_cash == 0
    assert errors == []
