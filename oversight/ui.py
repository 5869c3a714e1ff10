"""Page-socket fragments for the Approvals page: when a request arrives or is decided (by
anyone, anywhere: admin, API, Slack, expiry, the trader cancelling), every manager with the
page open gets the queue and the recent decisions re-rendered from the page's own partials."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from oversight.models import ApprovalState, DecisionChannel
from oversight.views import PAGE, queue_context, recent_context
from trading_demo.models import User
from trading_demo.realtime import ui_renderer
from trading_demo.timezones import in_user_zone


@ui_renderer("approval:requested", pages=["approvals"])
@ui_renderer("approval:decided", pages=["approvals"])
@in_user_zone
def approvals_refresh(user: User, data: dict[str, Any]) -> str:
    if not user.is_manager:
        # The trader hears of their own decision on the same event: not their page to show.
        return ""
    if data.get("decided_via") == DecisionChannel.PAGE and data.get("decided_by") == str(user.pk):
        # The decider's page is updated by the decision's own response. Re-rendering the queue
        # under it while that response is in flight would take the form out of the page, and
        # htmx then drops the response's out-of-band parts.
        return ""
    oob = {"oob": True}
    html = render_to_string(f"{PAGE}#queue", queue_context(user) | oob) + render_to_string(
        f"{PAGE}#recent", recent_context(user) | oob
    )
    if data.get("state") == ApprovalState.PENDING:
        # A new request: the notice of the manager's last decision ("Approved …") is about
        # another order, and would read as if it were about this one.
        html += render_to_string(f"{PAGE}#decision-result", oob)
    return html
