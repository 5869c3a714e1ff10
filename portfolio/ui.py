"""Page-socket fragments for the portfolio: the sidebar summary on every page, and the
Portfolio page's table, P&L card and allocation chart."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from portfolio.views import portfolio_context
from trading_demo.models import User
from trading_demo.realtime import ui_renderer

PAGE = "portfolio/portfolio.html"


def sidebar(user: User, context: dict[str, Any]) -> str:
    return render_to_string("portfolio/summary.html", {"summary": context["summary"], "oob": True})


@ui_renderer("portfolio:updated")
def portfolio_panels(user: User, data: dict[str, Any]) -> str:
    context = {**portfolio_context(user), "oob": True, "user": user}
    parts = [
        sidebar(user, context),
        render_to_string(f"{PAGE}#pnl-card", context),
        render_to_string(f"{PAGE}#allocation", context),
    ]
    if data.get("marks"):
        # Only prices moved: update each row in place, so the table keeps the sort the
        # trader chose.
        parts += [
            render_to_string(f"{PAGE}#position-row", {"p": p, "oob_rows": True})
            for p in context["positions"]
        ]
    else:
        parts.append(render_to_string(f"{PAGE}#positions", context))
    return "".join(parts)
