"""A browser in New York sees New York times without choosing anything."""

from __future__ import annotations

import zoneinfo

import pytest
from playwright.sync_api import expect

from tests.alerts.conftest import raise_for
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_browser_zone_is_used_and_named(daphne, chromium, trader):
    alert = raise_for(trader, message="Position is 45 % of equity")
    context = chromium.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id="America/New_York"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, daphne.url, trader.email, PASSWORD)
    # The first page reports the zone (and shows itself again in it).
    page.wait_for_load_state("networkidle")
    page.goto(daphne.url + "/alerts/")
    eastern = alert.created_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    expect(page.get_by_test_id("alerts-table")).to_contain_text(
        f"{eastern:%Y-%m-%d %H:%M:%S} {eastern:%Z}"
    )
    page.goto(daphne.url + "/settings/")
    expect(page.get_by_label("Time zone for the pages' times")).to_have_value("America/New_York")
    trader.refresh_from_db()
    assert trader.time_zone == "America/New_York"
    assert errors == []
    context.close()
