"""The Dashboard in a real Chromium against a real Daphne: orders, fills and market moves
appear without reloading."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.trades.conftest import make_symbol, set_quotes
from trades.services.market import market_tick
from trading_demo import realtime

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def relay():
    """Events published by this test process reach the server's sockets the way the market
    process's do: through Redis when REDIS_URL is set, else through the database relay."""
    realtime.use_database_relay_if_needed()
    yield
    realtime._relay_through_database = False


def test_market_order_fills_and_shows_without_reload(
    daphne, browser_context, trader, screenshot_dir
):
    symbol = make_symbol("ACME", "100.00")
    set_quotes(symbol, bids=[("99.90", 500)], asks=[("100.10", 300), ("100.20", 500)])
    page = browser_context.new_page()
    sign_in(page, daphne.url, trader.email, PASSWORD)
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    other_tab = browser_context.new_page()
    other_tab.goto(daphne.url + "/?symbol=ACME")
    expect(other_tab.locator("#ws-label")).to_have_text("Live updates: connected")
    expect(page.get_by_test_id("no-open-orders")).to_be_visible()

    page.get_by_label("Quantity").fill("25")
    expect(page.get_by_test_id("estimate-notional")).to_have_text("$2,500.00")
    page.get_by_role("button", name="Buy ACME").click()
    expect(page.get_by_test_id("order-placed")).to_contain_text("25 filled at 100.10")
    history = page.get_by_test_id("trade-history")
    expect(history.locator("tr[data-status=filled]")).to_have_count(1)
    # Sidebar position: pushed over the page socket, not part of the form's response.
    expect(page.get_by_test_id("sidebar-positions")).to_contain_text("ACME")
    expect(page.get_by_test_id("buying-power")).to_have_text("$97,497.50")
    # The other tab never submitted anything and still sees it.
    expect(
        other_tab.get_by_test_id("trade-history").locator("tr[data-status=filled]")
    ).to_have_count(1)
    expect(other_tab.get_by_test_id("sidebar-positions")).to_contain_text("25")
    page.screenshot(
        caret="initial", path=str(screenshot_dir / "dashboard-trading.png"), full_page=True
    )


def test_form_shows_server_validation_inline(daphne, browser_context, trader):
    make_symbol("ACME", "100.00")
    page = browser_context.new_page()
    sign_in(page, daphne.url, trader.email, PASSWORD)
    page.get_by_label("Order type").select_option("LIMIT")
    page.get_by_label("Quantity").fill("0")
    page.get_by_role("button", name="Buy ACME").click()
    expect(page.locator("#of-quantity-error")).to_contain_text("greater than or equal to 1")
    page.get_by_label("Quantity").fill("5")
    page.get_by_role("button", name="Buy ACME").click()
    expect(page.locator("#of-price-error")).to_contain_text("needs a limit price")
    expect(page.locator("#of-quantity-error")).to_have_count(0)
    expect(page.get_by_test_id("no-open-orders")).to_be_visible()


def test_large_order_asks_for_confirmation(daphne, browser_context, trader):
    symbol = make_symbol("ACME", "100.00")
    set_quotes(symbol, asks=[("100.10", 1000)])
    page = browser_context.new_page()
    sign_in(page, daphne.url, trader.email, PASSWORD)
    page.get_by_label("Quantity").fill("200")
    page.get_by_role("button", name="Buy ACME").click()
    expect(page.get_by_test_id("confirm")).to_contain_text("20.0 % of your equity")
    expect(page.get_by_test_id("no-open-orders")).to_be_visible()
    page.get_by_role("button", name="Confirm order").click()
    # 20,000 USD is over the 10,000 approval threshold: confirmed, it waits for a manager.
    expect(page.get_by_test_id("order-placed")).to_contain_text("awaiting a manager's approval")


def test_market_moves_reach_the_page(daphne, browser_context, trader, relay):
    make_symbol("ACME", "100.00")
    page = browser_context.new_page()
    sign_in(page, daphne.url, trader.email, PASSWORD)
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    before = page.get_by_test_id("quote-head").locator(".big-price").inner_text()
    symbol = market_tick(symbol_id="ACME", rng=random.Random(5), dt_years=1e-2)
    assert str(symbol.last_price) != before
    expect(page.get_by_test_id("quote-head").locator(".big-price")).to_have_text(
        str(symbol.last_price)
    )
    expect(page.locator("#qs-ACME .qs-price")).to_have_text(str(symbol.last_price))
    expect(page.get_by_test_id("order-book").locator("tr.ask")).to_have_count(5)
