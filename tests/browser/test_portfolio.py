from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.trades.conftest import make_symbol, set_quotes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_fill_on_dashboard_appears_on_portfolio_page_live(
    daphne, browser_context, trader, screenshot_dir
):
    symbol = make_symbol("ACME", "100.00")
    set_quotes(symbol, bids=[("99.90", 500)], asks=[("100.10", 500)])
    portfolio = browser_context.new_page()
    sign_in(portfolio, daphne.url, trader.email, PASSWORD)
    portfolio.goto(daphne.url + "/portfolio/")
    expect(portfolio.locator("#ws-label")).to_have_text("Live updates: connected")
    expect(portfolio.get_by_test_id("no-positions-table")).to_be_visible()
    expect(portfolio.locator(".chart-slice")).to_have_count(1)  # cash only

    dashboard = browser_context.new_page()
    dashboard.goto(daphne.url + "/?symbol=ACME")
    dashboard.get_by_label("Quantity").fill("40")
    dashboard.get_by_role("button", name="Place order").click()
    expect(dashboard.get_by_test_id("order-placed")).to_contain_text("40 filled")

    row = portfolio.locator("#pos-ACME")
    expect(row).to_contain_text("40")
    expect(row).to_contain_text("4,004.00")
    expect(portfolio.locator(".chart-slice")).to_have_count(2)
    expect(portfolio.get_by_test_id("pnl-card")).to_contain_text("$100,000.00")
    portfolio.screenshot(
        caret="initial", path=str(screenshot_dir / "portfolio.png"), full_page=True
    )
