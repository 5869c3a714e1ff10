"""Page-socket fragments for the portfolio: the sidebar summary on every page, and the
Portfolio page's table, P&L card and allocation chart."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from portfolio.selectors import account_summary
from portfolio.views import portfolio_context
from trading_demo.models import User
from trading_demo.realtime import ui_renderer

PAGE = "portfolio/portfolio.html"


@ui_renderer("portfolio:updated")
def sidebar(user: User, data: dict[str, Any]) -> str:
    """The account summary in every page's sidebar."""
    return render_to_string(
        "portfolio/summary.html", {"summary": account_summary(user=user), "oob": True}
    )


@ui_renderer("portfolio:updated", pages=["portfolio"])
def portfolio_panels(user: User, data: dict[str, Any]) -> str:
    context = {**portfolio_context(user), "oob": True, "user": user}
    parts: list[str] = [
        render_to_string(f"{PAGE}#pnl-card", context),
        render_to_string(f"{PAGE}#allocation", context),
    ]
    if data.get("marks"):
        # Only prices moved: update each row in place, so the table keeps the sort the
        # trader chose. Rows travel in a <template>: a bare <tr> is dropped by the HTML parser.
        rows = "".join(
            render_to_string(f"{PAGE}#position-row", {"p": p, "oob_rows": True})
            for p in context["positions"]
        )
        parts.append(f"<template>{rows}</template>")
    else:
        parts.append(render_to_string(f"{PAGE}#positions", context))
    return "".join(parts)
