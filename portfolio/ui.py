"""Page-socket fragments for the portfolio: the sidebar summary on every page, and the
Portfolio page's table, P&L card and allocation chart."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string

from portfolio.selectors import account_summary
from portfolio.views import portfolio_context
from trading_demo.models import User
from trading_demo.realtime import ui_renderer
from trading_demo.timezones import in_user_zone

PAGE = "portfolio/portfolio.html"


@ui_renderer("portfolio:updated")
def sidebar(user: User, data: dict[str, Any]) -> str:
    """The account summary in every page's sidebar."""
    return render_to_string(
        "portfolio/summary.html", {"summary": account_summary(user=user), "oob": True}
    )


ANALYTICS_MARKS_EVERY_SECONDS = 10


@ui_renderer("portfolio:updated", pages=["analytics"])
def analytics_refresh(user: User, data: dict[str, Any]) -> str:
    """The Analytics report again after a fill or a reset; after price moves only every few
    seconds, as the report reads every equity snapshot of the period."""
    if data.get("marks") and not cache.add(
        f"analytics-refresh:{user.pk}", True, ANALYTICS_MARKS_EVERY_SECONDS
    ):
        return ""
    return render_to_string("portfolio/analytics.html#report-refresh", {"oob": True})


@ui_renderer("portfolio:updated", pages=["portfolio"])
@in_user_zone
def portfolio_panels(user: User, data: dict[str, Any]) -> str:
    """Every figure of the Portfolio page from one summary, so one price snapshot: the
    sidebar is rendered again here and, coming after `sidebar`'s, its swap is the one that
    stays."""
    context = {**portfolio_context(user), "oob": True, "user": user}
    parts: list[str] = [
        render_to_string(f"{PAGE}#pnl-card", context),
        render_to_string(f"{PAGE}#allocation", context),
        render_to_string("portfolio/summary.html", context),
    ]
    if data.get("marks") and context["positions"]:
        # Only prices moved: update each row in place, so the table keeps the sort the trader
        # chose (the socket does not know it). Rows travel in a <template>, as a bare <tr> after
        # other elements is dropped by the HTML parser; static/js/app.js moves them into the
        # table and reloads the table when its set of positions differs.
        rows = "".join(
            render_to_string(f"{PAGE}#position-row", {"p": p}) for p in context["positions"]
        )
        parts.append(f'<template id="position-rows" hx-swap-oob="true">{rows}</template>')
    else:
        parts.append(render_to_string(f"{PAGE}#positions", context))
    return "".join(parts)
