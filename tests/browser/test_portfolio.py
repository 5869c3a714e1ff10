from __future__ import annotations

import random
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portfolio.ledger import account_ensure
from portfolio.models import Position
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.trades.conftest import make_symbol, set_quotes
from trades.services.market import holders_notify, market_tick
from trading_demo import realtime

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
    dashboard.get_by_role("button", name="Buy ACME").click()
    expect(dashboard.get_by_test_id("order-placed")).to_contain_text("40 filled")

    row = portfolio.locator("#pos-ACME")
    expect(row).to_contain_text("40")
    expect(row).to_contain_text("4,004.00")
    expect(portfolio.locator(".chart-slice")).to_have_count(2)
    expect(portfolio.get_by_test_id("pnl-card")).to_contain_text("$100,000.00")
    portfolio.screenshot(
        caret="initial", path=str(screenshot_dir / "portfolio.png"), full_page=True
    )


@pytest.fixture
def relay():
    """Market moves made by this test process reach Daphne's sockets as the market process's do:
    through Redis when REDIS_URL is set, else through the database relay."""
    realtime.use_database_relay_if_needed()
    yield
    realtime._relay_through_database = False


def money(text: str) -> Decimal:
    return Decimal(text.split("(")[0].replace("$", "").replace(",", "").replace("+", "").strip())


def money_text(amount: Decimal) -> str:
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def test_positions_move_with_the_market_and_agree_with_the_pnl_card(
    daphne, browser_context, trader, relay
):
    acme = make_symbol("ACME", "100.00")
    make_symbol("BOLT", "50.00")
    account = account_ensure(user=trader)
    Position.objects.create(account=account, symbol_id="ACME", quantity=40, cost_basis="4000.00")
    Position.objects.create(account=account, symbol_id="BOLT", quantity=300, cost_basis="15000.00")
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, daphne.url, trader.email, PASSWORD)
    # Sorted by value, largest first: BOLT (15,000) above ACME (4,000).
    page.goto(daphne.url + "/portfolio/?sort=-value")
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    rows = page.get_by_test_id("position-table").locator("tbody tr")
    expect(rows.first).to_have_id("pos-BOLT")

    moved = market_tick(symbol_id="ACME", rng=random.Random(5), dt_years=1e-2)
    assert moved.last_price != acme.last_price
    holders_notify(symbol_ids=["ACME"])

    row = page.locator("#pos-ACME")
    expect(row.get_by_test_id("mark")).to_have_text(str(moved.last_price))
    unrealised = (moved.last_price * 40 - Decimal("4000.00")).quantize(Decimal("0.01"))
    card = page.get_by_test_id("pnl-card")
    sign = "+" if unrealised > 0 else ""
    expect(card.get_by_test_id("pnl-unrealised")).to_have_text(f"{sign}{money_text(unrealised)}")
    cells = [money(row.get_by_test_id("unrealised").inner_text())]
    cells.append(money(page.locator("#pos-BOLT").get_by_test_id("unrealised").inner_text()))
    assert sum(cells) == money(card.get_by_test_id("pnl-unrealised").inner_text())
    # The sort the trader chose is kept.
    expect(rows.first).to_have_id("pos-BOLT")
    assert errors == []
