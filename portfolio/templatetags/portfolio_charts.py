"""Charts the Portfolio and Analytics pages include with one tag each: the account against an
equal-weight basket of the symbols, and the equity history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

import charts
from portfolio.selectors import Performance, performance
from trades.selectors import MAX_BASKET_MOMENTS, basket_closes

register = template.Library()
HUNDRED = Decimal(100)


def _sample[T](items: list[T], count: int) -> list[T]:
    """At most `count` items spread evenly, the last one always kept."""
    if len(items) <= count:
        return items
    step = len(items) / count
    picked = [items[int(i * step)] for i in range(count - 1)]
    return [*picked, items[-1]]


@register.inclusion_tag("portfolio/charts.html#benchmark")
def benchmark_chart(perf: Performance | None) -> dict[str, Any]:
    """The account's equity and an equal-weight basket of every symbol over the same period,
    both rebased to 100 at its start, with each one's return."""
    curve = _sample(list(perf.curve), MAX_BASKET_MOMENTS) if perf else []
    closes = basket_closes(moments=[t for t, _ in curve])
    basket = charts.equal_weight_index(closes)
    account = charts.rebased(curve)
    if basket and account:
        # Start both lines at the first moment both have a value.
        account = charts.rebased([(t, v) for t, v in curve if t >= basket[0][0]])
    symbols = len(closes)
    return {
        "svg": charts.line_svg(
            account,
            title="Account vs equal-weight basket (both start at 100)",
            compare=basket,
            compare_label=f"Equal-weight basket of {symbols} symbols",
            chart_id="benchmark-chart",
            value_format="{:,.1f}",
            height=200,
        ),
        "account_return": account[-1][1] - HUNDRED if account else None,
        "basket_return": basket[-1][1] - HUNDRED if basket else None,
        "symbols": symbols,
    }


@register.inclusion_tag("portfolio/charts.html#equity-history", takes_context=True)
def equity_history(context: template.Context) -> dict[str, Any]:
    """The last day of the account's equity (snapshots every minute), on the Portfolio page."""
    perf = performance(user=context["request"].user, period="day")
    curve = list(perf.curve) if perf else []
    return {
        "svg": charts.line_svg(
            curve,
            title="Equity, last 24 hours (USD)",
            area=True,
            baseline=perf.start_equity if perf else None,
            chart_id="equity-history-chart",
            value_format="${:,.0f}",
            height=200,
        ),
        "perf": perf,
    }
