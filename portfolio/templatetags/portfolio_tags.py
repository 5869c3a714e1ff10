from __future__ import annotations

from typing import Any

from django import template

from portfolio.selectors import account_summary

register = template.Library()


@register.inclusion_tag("portfolio/summary.html", takes_context=True)
def account_card(context: template.Context) -> dict[str, Any]:
    """The sidebar's live account summary (shown on every page)."""
    user = context["request"].user
    return {"summary": account_summary(user=user), "oob": False}
