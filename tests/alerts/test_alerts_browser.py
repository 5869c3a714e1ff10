"""The bell, toasts and the Alerts page in Chromium against a real Daphne: a new alert appears
live on another page, the bell counts it, acknowledging clears it, and nothing breaks the CSP.

These need the shared shell wired (the alerts URLs in trading_demo/urls.py, the bell and the
toast container in base.html): until then they are skipped."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

from tests.alerts.conftest import raise_for
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from trading_demo import realtime


def _shell_not_wired() -> str:
    """Why the pages Daphne serves (the settings' own URLs and templates, not this suite's
    test urlconf) cannot show alerts yet; empty when they can."""
    try:
        reverse(
            "alert-acknowledge",
            args=["01234567-89ab-7def-8123-456789abcdef"],
            urlconf=django_settings.ROOT_URLCONF,
        )
    except NoReverseMatch:
        return f"{django_settings.ROOT_URLCONF} does not include the alerts URLs yet"
    if "alert_toasts" not in get_template("trading_demo/base.html").template.source:
        return "base.html has no alert bell and toast container yet"
    return ""


NOT_WIRED = _shell_not_wired()
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.skipif(bool(NOT_WIRED), reason=NOT_WIRED),
]
SERVED_URLS = django_settings.ROOT_URLCONF


@pytest.fixture(autouse=True)
def _served_urls(settings) -> None:
    settings.ROOT_URLCONF = SERVED_URLS  # reverse() as the Daphne process does


@pytest.fixture
def relay(monkeypatch) -> None:
    # The test process publishes; Daphne is another process: without Redis it has its own
    # in-memory layer, so events travel through the database relay, as the market's do.
    monkeypatch.setattr(
        realtime, "_relay_through_database", realtime.use_database_relay_if_needed()
    )


def test_a_new_alert_shows_live_and_acknowledging_clears_it(
    daphne, browser_context, trader, relay, screenshot_dir
):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, daphne.url, trader.email, PASSWORD)
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    expect(page.get_by_test_id("alert-bell")).to_have_attribute("aria-label", "Alerts: 0 unread")

    alert = raise_for(trader, severity="high", message="Position in ACME is 45 % of equity")
    toast = page.locator(f"#toast-{alert.pk}")
    expect(toast).to_contain_text("Position in ACME is 45 % of equity")
    expect(page.get_by_test_id("alert-bell-count")).to_have_text("1")
    page.screenshot(caret="initial", path=str(screenshot_dir / "alert-toast.png"))
    toast.get_by_role("button", name="Acknowledge").click()
    expect(toast).to_have_count(0)
    expect(page.get_by_test_id("alert-bell")).to_have_attribute("aria-label", "Alerts: 0 unread")

    second = raise_for(trader, severity="critical", message="Quota 95 % used")
    page.locator(f"#toast-{second.pk}").get_by_role("button", name="Dismiss").click()
    expect(page.locator(f"#toast-{second.pk}")).to_be_hidden()

    page.goto(daphne.url + "/alerts/")
    expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
    expect(page.get_by_test_id("alerts-table")).to_contain_text("Quota 95 % used")
    raise_for(trader, severity="low", message="A third one")
    expect(page.get_by_test_id("alerts-table")).to_contain_text("A third one")
    page.get_by_role("button", name="Acknowledge all").click()
    expect(page.get_by_test_id("unread-count")).to_contain_text("0 unread")
    expect(page.get_by_test_id("alert-bell-count")).to_have_text("0")
    page.screenshot(caret="initial", path=str(screenshot_dir / "alerts.png"), full_page=True)
    assert errors == []


def test_price_alert_form_validates_inline(daphne, browser_context, trader, acme):
    page = browser_context.new_page()
    sign_in(page, daphne.url, trader.email, PASSWORD)
    page.goto(daphne.url + "/alerts/")
    page.get_by_label("Price", exact=True).fill("1.234")
    expect(page.locator("#pa-threshold-error")).to_contain_text("2 decimal places")
    page.get_by_label("Price", exact=True).fill("101.50")
    expect(page.locator("#pa-threshold-error")).to_have_text("")
    page.get_by_role("button", name="Arm price alert").click()
    expect(page.get_by_test_id("price-alert-created")).to_contain_text("ACME above 101.50")
    expect(page.get_by_test_id("price-alerts")).to_contain_text("Armed")
