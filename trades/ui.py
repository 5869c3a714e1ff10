"""Page-socket fragments for the Dashboard: the same partials the page renders, pushed as
out-of-band swaps when the market or the user's orders change."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from trades.selectors import order_get, symbol_get
from trades.views import history_context, market_context
from trading_demo.models import User
from trading_demo.realtime import ui_renderer

PAGE = "trades/dashboard.html"
ORDER_EVENTS = (
    "trade:created",
    "trade:executed",
    "trade:cancelled",
    "trade:rejected",
    "trade:expired",
    "trade:pending_approval",
)


@ui_renderer("book:updated", pages=["dashboard"])
def market_panels(user: User, data: dict[str, Any]) -> str:
    symbol = symbol_get(code=data["symbol"])
    if symbol is None:
        return ""
    context = {**market_context(symbol, user), "oob": True, "user": user}
    # Only traders have a ticket (and so a quote strip in it) to swap into.
    # The chart itself is not pushed: each page re-reads it in its own timeframe (a
    # `chart:refresh` the page's script fires when the price head arrives).
    parts = ("chart-head", "order-book", "tape", *(("ticket-quote",) if user.can_trade else ()))
    return "".join(render_to_string(f"{PAGE}#{part}", context) for part in parts)


@ui_renderer("price:tick", pages=["dashboard"])
def quote_values(user: User, data: dict[str, Any]) -> str:
    symbol = symbol_get(code=data["symbol"])
    if symbol is None:
        return ""
    return render_to_string(f"{PAGE}#quote-values", {"s": symbol, "oob": True})


def _order_notice(user: User, data: dict[str, Any]) -> str:
    """The order's notice under the ticket, as it reads now: a page that still says
    "awaiting a manager's approval" learns it was approved, rejected or cancelled."""
    order = order_get(user=user, order_id=data["id"])
    if order is None:
        return ""
    notice = render_to_string(f"{PAGE}#placed-notice", {"placed": order, "oob": True})
    return f'<template id="order-notices" hx-swap-oob="true">{notice}</template>'


def _order_history(user: User, data: dict[str, Any]) -> str:
    return render_to_string(
        f"{PAGE}#history", {**history_context(user), "oob_history": True, "user": user}
    )


for _event in ORDER_EVENTS:
    ui_renderer(_event, pages=["dashboard"])(_order_history)
    ui_renderer(_event, pages=["dashboard"])(_order_notice)
