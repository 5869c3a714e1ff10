"""Every page for every role, at a desktop and a phone width, in a real Chromium: no sideways
scrolling, no console errors (script errors, CSP refusals, htmx swap errors), and axe-core finds
no serious or critical accessibility violation.

The Dashboard's own matrix (the same checks, every role, with orders in every tab) is in
test_order_ticket.py, beside the ticket it holds."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from alerts.services import alert_raise, price_alert_create
from oversight.models import ApprovalRequest
from tests.browser.conftest import console_errors, sign_in
from tests.factories import PASSWORD
from tests.oversight.test_approvals_admin import hold_order
from tests.trades.conftest import make_symbol, order_body, set_quotes
from trading_demo.services import roles_sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

EVERYONE = ["/portfolio/", "/analytics/", "/metering/", "/alerts/", "/settings/"]
MANAGERS = [*EVERYONE, "/approvals/", "/risk/"]
PAGES = {"trader": EVERYONE, "viewer": EVERYONE, "manager": MANAGERS, "admin_user": MANAGERS}
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
BLOCKING = {"serious", "critical"}
SCREENSHOT_ROLES = {"approvals": ("manager",), "risk": ("admin",)}

# What a width check reads: the page may not scroll sideways, and no element may stick out of
# the viewport (which overflow: hidden somewhere up the tree would otherwise hide).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (el.closest('.table-scroll, .quote-strip, .visually-hidden, .skip-link, template')) continue;
    if (box.right > width + 1) wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') +
      ' right=' + Math.round(box.right));
  }
  const header = [...document.querySelectorAll('.app-header > *')]
    .filter((el) => el.getBoundingClientRect().height > 0)
    .map((el) => el.getBoundingClientRect().bottom);
  const lines = header.length ? Math.max(...header) - Math.min(...header) : 0;
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5), lines};
}"""


@pytest.fixture
def market(db: None, client_for, trader, trader2, manager) -> None:
    """What a busy demo shows: fills, positions, a pending approval, alerts of every kind and a
    price alert, so the long rows of each page are on it."""
    symbol = make_symbol("ACME", "100.00")
    set_quotes(symbol, bids=[("99.90", 5000)], asks=[("100.10", 5000)])
    for user in (trader, trader2, manager):
        response = client_for(user).post("/api/trades", order_body(quantity=40), format="json")
        assert response.status_code == 201, response.json()
        price_alert_create(
            user=user,
            symbol="ACME",
            condition="above",
            threshold=Decimal("250.00"),
            note="Take profit on the breakout",
        )
    hold_order(client_for, trader)
    hold_order(client_for, trader2)
    for user in (trader, trader2, manager):
        alert_raise(
            type="risk",
            severity="critical",
            owner=user,
            symbol="ACME",
            message="ACME order of 15,000.00 USD scored HIGH 55: waiting for a manager's approval",
        )


def blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def visit_all(
    chromium, base_url: str, user, size: tuple[int, int], paths: list[str], shots
) -> Iterator[str]:
    """Yields every problem found, as a line naming the page."""
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    errors = console_errors(page)
    try:
        sign_in(page, base_url, user.email, PASSWORD)
        for path in paths:
            errors.clear()
            page.goto(base_url + path)
            expect(page.locator("#ws-label")).to_have_text("Live updates: connected")
            page.wait_for_load_state("networkidle")
            found = page.evaluate(OVERFLOW_JS)
            if found["scroll"] > found["width"] or found["wide"]:
                yield f"{path} at {size[0]} px: {found['scroll']} px wide, {found['wide']}"
            if size[0] >= 1024 and found["lines"] > 8:
                yield f"{path} at {size[0]} px: the header wraps onto a second line"
            page_name = urlsplit(path).path.strip("/") or "dashboard"
            if user.role in SCREENSHOT_ROLES.get(page_name, ("trader",)):
                # make screenshots: every page as the README shows it, desktop and phone.
                name = f"{page_name}-{'phone' if size[0] < 800 else 'desktop'}.png"
                page.screenshot(caret="initial", path=str(shots / name), full_page=size[0] < 800)
            for line in blocking_violations(page):
                yield f"{path} at {size[0]} px: axe {line}"
            for line in errors:
                yield f"{path} at {size[0]} px: console {line}"
    finally:
        context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_fits_has_no_errors_and_passes_axe(
    request, daphne, chromium, market, role, width, screenshot_dir
):
    user = request.getfixturevalue(role)
    problems = list(
        visit_all(chromium, daphne.url, user, WIDTHS[width], PAGES[role], screenshot_dir)
    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_signed_out_pages_fit_and_pass_axe(daphne, chromium, width):
    """The sign-in page and a 404 (the styled error page), as anyone sees them."""
    size = WIDTHS[width]
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    problems: list[str] = []
    try:
        for path, status in (("/login/", 200), ("/no-such-page/", 404)):
            response = page.goto(daphne.url + path)
            assert response is not None and response.status == status
            found = page.evaluate(OVERFLOW_JS)
            if found["scroll"] > found["width"] or found["wide"]:
                problems.append(f"{path} at {size[0]} px: {found['scroll']} px wide")
            problems += [f"{path}: axe {line}" for line in blocking_violations(page)]
    finally:
        context.close()
    # The 404 itself is reported by the browser as a failed load; nothing else may be.
    assert [e for e in errors if "404" not in e] == []
    assert not problems, "\n".join(problems)


# The Django admin as managers use it (Approvals decided there, orders looked up): its own
# changelists scroll inside `.results`, and its pages carry Django's markup, so the check here
# is the page itself never scrolling sideways and no console error (CSP refusals included).
ADMIN_PAGES = [
    "/admin/",
    "/admin/oversight/approvalrequest/",
    "/admin/trades/order/",
    "/admin/alerts/alert/",
]
ADMIN_OVERFLOW_JS = """() => ({scroll: document.documentElement.scrollWidth,
  width: document.documentElement.clientWidth})"""


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("role", ["manager", "admin_user"])
def test_the_admin_fits_a_phone_and_a_desktop_without_errors(
    request, daphne, chromium, market, role, width
):
    roles_sync()  # the managers' admin permissions, as seed_demo gives them
    user = request.getfixturevalue(role)
    size = WIDTHS[width]
    approval = ApprovalRequest.objects.order_by("created_at").first()
    assert approval is not None
    paths = [*ADMIN_PAGES, f"/admin/oversight/approvalrequest/{approval.pk}/change/"]
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    errors = console_errors(page)
    problems: list[str] = []
    try:
        sign_in(page, daphne.url, user.email, PASSWORD)
        for path in paths:
            errors.clear()
            response = page.goto(daphne.url + path)
            assert response is not None and response.status == 200, path
            expect(page.locator("#content")).to_be_visible()
            found = page.evaluate(ADMIN_OVERFLOW_JS)
            if found["scroll"] > found["width"]:
                problems.append(f"{path} at {size[0]} px: {found['scroll']} px wide")
            problems.extend(f"{path} at {size[0]} px: console {line}" for line in errors)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
