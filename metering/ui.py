"""Page-socket fragments for metering: the quota badge and gauge."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from metering.services import quota_status
from trading_demo.models import User
from trading_demo.realtime import ui_renderer


@ui_renderer("quota:warning")
def quota_badge(user: User, data: dict[str, Any]) -> str:
    quota = quota_status(user_id=user.pk)
    return render_to_string("metering/quota_badge.html", {"quota": quota, "oob": True})


@ui_renderer("quota:warning", pages=["metering"])
def quota_gauge(user: User, data: dict[str, Any]) -> str:
    quota = quota_status(user_id=user.pk)
    return render_to_string("metering/metering.html#gauge", {"quota": quota, "oob": True})
