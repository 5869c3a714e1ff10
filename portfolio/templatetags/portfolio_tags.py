from __future__ import annotations

from typing import Any

from django import template

from portfolio.selectors import AccountSummary, account_summary

register = template.Library()


@register.inclusion_tag("portfolio/summary.html", takes_context=True)
def account_card(context: template.Context) -> dict[str, Any]:
    """The sidebar's live account summary (shown on every page). A page that already read the
    summary passes it on, so the sidebar and the page show figures of one price snapshot."""
    summary = context.get("summary")
    if not isinstance(summary, AccountSummary):
        summary = account_summary(user=context["request"].user)
    return {"summary": summary, "oob": False}
