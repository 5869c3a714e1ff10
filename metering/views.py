"""The Metering page: usage over time, breakdown, cost so far, delivery status, quota gauge,
and the cost estimator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

import charts
from metering.selectors import estimate, estimated_monthly_cost, usage_summary
from metering.services import quota_status
from trading_demo.models import User
from trading_demo.pages import AuthedHtmxRequest


def metering_context(user: User, period: str = "month") -> dict[str, Any]:
    summary = usage_summary(user_id=user.pk, period=period)
    month = summary if period == "month" else usage_summary(user_id=user.pk, period="month")
    return {
        "period": period,
        "summary": summary,
        "month_cost": month.total_cost,
        "estimated_monthly_cost": estimated_monthly_cost(month),
        "quota": quota_status(user_id=user.pk),
        "usage_svg": charts.bars_svg(
            [(day.strftime("%m-%d"), Decimal(count)) for day, count in summary.daily],
            title="Billable operations per day",
            chart_id="usage-chart",
            value_format="{:,g}",
        ),
        "operations": list(settings.METERING_PRICES.items()),
    }


@login_required
def metering(request: AuthedHtmxRequest) -> HttpResponse:
    period = request.GET.get("period", "month")
    if period not in ("day", "week", "month"):
        period = "month"
    return render(request, "metering/metering.html", metering_context(request.user, period))


@login_required
@require_POST
def estimator(request: AuthedHtmxRequest) -> HttpResponse:
    counts: dict[str, int] = {}
    errors: dict[str, str] = {}
    for operation in settings.METERING_PRICES:
        raw = request.POST.get(operation, "").strip() or "0"
        if not raw.isdigit() or int(raw) > 100_000_000:
            errors[operation] = "A whole number from 0 to 100,000,000."
            continue
        counts[operation] = int(raw)
    lines, total = estimate(counts)
    return render(
        request,
        "metering/metering.html#estimate",
        {"estimate_lines": lines, "estimate_total": total, "estimate_errors": errors},
    )
