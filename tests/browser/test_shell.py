from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_trader_signs_in_and_sees_the_live_dashboard(
    daphne, browser_context, trader, screenshot_dir
):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, daphne.url, trader.email, PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("user-email")).to_have_text(trader.email)
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    expect(page.locator("#status-lights")).to_contain_text("Database: up")
    page.screenshot(caret="initial", path=str(screenshot_dir / "dashboard.png"))
    # CSP violations and script errors show up in the console.
    assert errors == []


def test_wrong_password_shows_an_error(daphne, browser_context, trader):
    page = browser_context.new_page()
    page.goto(daphne.url + "/login/")
    page.get_by_label("Email").fill(trader.email)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password.")


def test_theme_change_in_one_tab_applies_to_the_other_live(
    daphne, browser_context, trader, screenshot_dir
):
    first = browser_context.new_page()
    sign_in(first, daphne.url, trader.email, PASSWORD)
    expect(first.locator("#ws-label")).to_have_text("Live updates: connected")
    second = browser_context.new_page()
    second.goto(daphne.url + "/settings/")
    second.get_by_label("Dark").check()
    # Saving refreshes that tab (HX-Refresh): wait for the reload, or the screenshot below can
    # land mid-navigation.
    with second.expect_navigation():
        second.get_by_role("button", name="Save preferences").click()
    expect(second.locator("html")).to_have_attribute("data-theme", "dark")
    expect(first.locator("html")).to_have_attribute("data-theme", "dark")
    second.screenshot(caret="initial", path=str(screenshot_dir / "settings-dark.png"))


def test_phone_width_collapses_navigation(daphne, chromium, trader):
    context = chromium.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    sign_in(page, daphne.url, trader.email, PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    context.close()
