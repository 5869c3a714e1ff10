"""Feedback a trader can see: a loading bar while a request is in flight, a message saying what
failed, the live connection's loss and its catch-up on reconnecting, Analytics and the quota
badge following fills without reload, and the session clock."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portfolio.ledger import account_ensure
from portfolio.models import Position
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.trades.conftest import make_symbol, order_body, set_quotes
from trades.services.market import current_session
from trading_demo import realtime

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def relay():
    realtime.use_database_relay_if_needed()
    yield
    realtime._relay_through_database = False


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_a_request_shows_the_loading_bar_and_a_failure_says_what_failed(
    daphne, browser_context, trader
):
    page = browser_context.new_page()
    sign_in(page, daphne.url, trader.email, PASSWORD)
    page.goto(daphne.url + "/analytics/")
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    held = []
    page.route("**/analytics/?period=week", lambda route: held.append(route))
    page.get_by_role("link", name="Week").click()
    expect(page.locator("html")).to_have_class("is-loading")
    expect(page.get_by_test_id("request-error")).to_be_hidden()
    page.wait_for_function("() => true")  # let the route callback arrive
    assert held
    held[0].fulfill(status=503, body="down")
    expect(page.locator("html")).not_to_have_class("is-loading")
    expect(page.get_by_test_id("request-error")).to_have_text(
        "The server could not answer (503). Try again in a moment."
    )
    page.unroute("**/analytics/?period=week")
    page.get_by_role("link", name="Month").click()
    expect(page.get_by_test_id("request-error")).to_be_hidden()


def test_a_lost_connection_is_said_and_the_page_catches_up_after_it(
    daphne, browser_context, trader
):
    make_symbol("ACME", "100.00")
    account_ensure(user=trader)
    page = browser_context.new_page()
    errors = console_errors(page)
    sockets = []

    def through(ws):
        sockets.append(ws)
        ws.connect_to_server()

    page.route_web_socket("**/ws/ui/**", through)
    sign_in(page, daphne.url, trader.email, PASSWORD)
    page.goto(daphne.url + "/portfolio/")
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    expect(page.get_by_test_id("no-positions-table")).to_be_visible()
    sockets[-1].close(code=1001)  # the socket server going away, as on a restart
    expect(page.get_by_test_id("socket-lost")).to_be_visible()
    # What happens while the page is not listening: a position opens (no event reaches it).
    Position.objects.create(
        account=account_ensure(user=trader), symbol_id="ACME", quantity=7, cost_basis="700.00"
    )
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected", timeout=30_000)
    expect(page.get_by_test_id("socket-lost")).to_be_hidden()
    expect(page.locator("#pos-ACME")).to_contain_text("7")
    assert [e for e in errors if "WebSocket" not in e] == []


def test_analytics_and_the_quota_badge_follow_a_fill(
    daphne, browser_context, trader, client_for, relay
):
    symbol = make_symbol("ACME", "100.00")
    set_quotes(symbol, bids=[("99.90", 500)], asks=[("100.10", 500)])
    page = browser_context.new_page()
    errors = console_errors(page)
    sign_in(page, daphne.url, trader.email, PASSWORD)
    page.goto(daphne.url + "/analytics/?period=week")
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    stats = page.get_by_test_id("stats")
    expect(stats.get_by_role("row", name="Fills")).to_contain_text("0")
    badge_before = page.get_by_test_id("quota-badge").get_attribute("title")
    # An order placed elsewhere (another tab, a script): its events reach this page.
    response = client_for(trader).post("/api/trades", order_body(quantity=40), format="json")
    assert response.status_code == 201
    expect(stats.get_by_role("row", name="Fills")).to_contain_text("1")
    expect(page.locator("#report-period")).to_have_value("week")  # the period the trader chose
    expect(page.get_by_test_id("quota-badge")).not_to_have_attribute("title", badge_before or "")
    assert errors == []


def test_the_session_clock_counts_down_to_the_close(daphne, browser_context, trader):
    session = current_session()
    page = browser_context.new_page()
    sign_in(page, daphne.url, trader.email, PASSWORD)
    page.goto(daphne.url + "/settings/")
    clock = page.get_by_test_id("session-clock")
    expect(clock).to_contain_text(f"Session closes {session.closes_at:%H:%M} UTC")
    expect(clock).to_contain_text(" s")  # the countdown ticks in seconds
    first = clock.inner_text()
    expect(clock).not_to_have_text(first)
