from __future__ import annotations

from typing import Any

from django import template

from alerts.selectors import unread_count

register = template.Library()


@register.inclusion_tag("alerts/bell.html#bell", takes_context=True)
def alert_bell(context: template.Context) -> dict[str, Any]:
    """The header's bell with the live unread count (the page socket keeps it current)."""
    user = context["request"].user
    return {"unread": unread_count(user=user) if user.is_authenticated else 0, "oob": False}


@register.inclusion_tag("alerts/bell.html#toasts")
def alert_toasts() -> dict[str, Any]:
    """Where new alerts appear as toasts (appended by the page socket)."""
    return {}
