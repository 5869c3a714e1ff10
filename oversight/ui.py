"""Page-socket fragments for the Approvals page: when a request arrives or is decided (by
anyone, anywhere: admin, API, Slack, expiry, the trader cancelling), every manager with the
page open gets the queue and the recent decisions re-rendered from the page's own partials."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from oversight.views import PAGE, queue_context, recent_context
from trading_demo.models import User
from trading_demo.realtime import ui_renderer


@ui_renderer("approval:requested", pages=["approvals"])
@ui_renderer("approval:decided", pages=["approvals"])
def approvals_refresh(user: User, data: dict[str, Any]) -> str:
    if not user.is_manager:
        # The trader hears of their own decision on the same event: not their page to show.
        return ""
    oob = {"oob": True}
    return render_to_string(f"{PAGE}#queue", queue_context(user) | oob) + render_to_string(
        f"{PAGE}#recent", recent_context(user) | oob
    )
