"""Portfolio and Analytics pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

import charts
from portfolio.ledger import account_ensure
from portfolio.selectors import (
    PERIODS,
    account_summary,
    allocation_slices,
    performance,
    sort_positions,
)
from portfolio.services import account_reset
from trading_demo.models import User
from trading_demo.pages import AuthedHtmxRequest

SORTS = [
    "symbol",
    "quantity",
    "value",
    "unrealized",
    "unrealized_pct",
    "realized",
    "allocation",
    "change",
]


def portfolio_context(user: User, sort: str = "symbol") -> dict[str, Any]:
    account_ensure(user=user)
    summary = account_summary(user=user)
    assert summary is not None
    slices = allocation_slices(summary)
    return {
        "summary": summary,
        "positions": sort_positions(summary.positions, sort),
        "sort": sort,
        "allocation_svg": charts.doughnut_svg(slices, title="Allocation of equity", size=240),
        "legend": charts.legend_items(slices),
    }


@login_required
def portfolio(request: AuthedHtmxRequest) -> HttpResponse:
    sort = request.GET.get("sort", "symbol")
    if sort.lstrip("-") not in SORTS:
        sort = "symbol"
    context = portfolio_context(request.user, sort)
    if request.htmx:
        return render(request, "portfolio/portfolio.html#positions", context)
    return render(request, "portfolio/portfolio.html", context)


def analytics_context(user: User, period: str) -> dict[str, Any]:
    account_ensure(user=user)
    result = performance(user=user, period=period)
    assert result is not None
    return {
        "period": period,
        "periods": list(PERIODS),
        "perf": result,
        "equity_svg": charts.line_svg(
            result.curve,
            title="Equity",
            area=True,
            baseline=result.start_equity,
            chart_id="equity-chart",
        ),
        "drawdown_svg": charts.line_svg(
            result.drawdown,
            title="Drawdown from the running peak (%)",
            area=True,
            baseline=None,
            chart_id="drawdown-chart",
            height=160,
            value_format="{:,.2f} %",
        ),
        "daily_svg": charts.bars_svg(
            [(day.strftime("%m-%d"), value) for day, value in result.daily_pnl],
            title="P&L by day",
            chart_id="daily-chart",
        ),
    }


@login_required
def analytics(request: AuthedHtmxRequest) -> HttpResponse:
    period = request.GET.get("period", "day")
    if period not in PERIODS:
        period = "day"
    context = analytics_context(request.user, period)
    if request.htmx:
        return render(request, "portfolio/analytics.html#report", context)
    return render(request, "portfolio/analytics.html", context)


@login_required
@require_POST
def reset(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    if not user.can_trade:
        messages.error(request, "Viewers cannot reset an account.")
        return redirect("settings")
    if request.POST.get("confirm_text", "").strip().upper() != "RESET":
        messages.error(request, "Type RESET to confirm: the account was not reset.")
        return redirect("settings")
    account_ensure(user=user)
    account_reset(user=user)
    messages.success(request, "Your account starts over with its starting cash.")
    return redirect("portfolio")
