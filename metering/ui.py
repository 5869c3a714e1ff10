"""Page-socket fragments for metering: the quota badge and gauge."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from metering.services import quota_status
from trading_demo.models import User
from trading_demo.realtime import ui_renderer
from trading_demo.timezones import in_user_zone


# A page's own orders and cancels are billed operations: the badge and the gauge follow them.
@ui_renderer("quota:warning")
@ui_renderer("trade:created")
@ui_renderer("trade:cancelled")
def quota_badge(user: User, data: dict[str, Any]) -> str:
    quota = quota_status(user_id=user.pk)
    return render_to_string("metering/quota_badge.html", {"quota": quota, "oob": True})


@ui_renderer("quota:warning", pages=["metering"])
@ui_renderer("trade:created", pages=["metering"])
@ui_renderer("trade:cancelled", pages=["metering"])
@in_user_zone
def quota_gauge(user: User, data: dict[str, Any]) -> str:
    quota = quota_status(user_id=user.pk)
    return render_to_string("metering/metering.html#gauge", {"quota": quota, "oob": True})
