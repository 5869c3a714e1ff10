from __future__ import annotations

from typing import Any

from django import template

from metering.services import quota_status

register = template.Library()


@register.inclusion_tag("metering/quota_badge.html", takes_context=True)
def quota_badge(context: template.Context) -> dict[str, Any]:
    """The header's compact quota badge (on every page; refreshed over the page socket)."""
    return {"quota": quota_status(user_id=context["request"].user.pk), "oob": False}
