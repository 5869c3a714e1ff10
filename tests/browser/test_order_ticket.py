"""The Dashboard's order ticket and orders panel in a real Chromium against a real Daphne: a
phone layout without sideways scrolling, the whole order flow by keyboard, prices filled from
the book, and modify / cancel all / close from the orders panel."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.trades.conftest import make_symbol, set_quotes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


def _overflow(page) -> list[str]:
    """Elements wider than the viewport (what makes a phone page scroll sideways)."""
    return page.evaluate(
        """(width) => {
          const scrolls = (el) => {
            for (let p = el.parentElement; p; p = p.parentElement) {
              const o = getComputedStyle(p).overflowX;
              if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
            }
            return false;
          };
          const wide = [];
          for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            if (box.width && box.right > width + 1 && !scrolls(el)) {
              wide.push(`${el.tagName}#${el.id}.${el.className} ${Math.round(box.right)}`);
            }
          }
          return wide.slice(0, 40);
        }""",
        PHONE["width"],
    )


def test_dashboard_fits_a_phone_with_price_and_ticket_above_the_orders(daphne, chromium, trader):
    symbol = make_symbol("ACME", "100.00")
    set_quotes(symbol, bids=[("99.90", 500)], asks=[("100.10", 300)])
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, daphne.url, trader.email, PASSWORD)
        expect(page.get_by_test_id("quote-head").locator(".big-price")).to_be_in_viewport()
        page.get_by_label("Quantity").fill("3")
        page.get_by_role("button", name="Place order").click()
        expect(page.get_by_test_id("order-placed")).to_contain_text("3 filled")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], _overflow(
            page
        )
        ticket = page.locator("#order-form-card").bounding_box()
        history = page.locator("#history").bounding_box()
        assert ticket and history and ticket["y"] + ticket["height"] <= history["y"]
    finally:
        context.close()
