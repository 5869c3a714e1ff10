"""Page-socket fragments for alerts: the header bell's unread count and the toasts on every
page, and a live refresh of the Alerts page's list on that page."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from alerts.models import severity_at_least
from alerts.selectors import unread_count
from trading_demo.models import User
from trading_demo.realtime import ui_renderer

BELL = "alerts/bell.html"


def bell(user: User) -> str:
    return render_to_string(f"{BELL}#bell", {"unread": unread_count(user=user), "oob": True})


@ui_renderer("alert:created")
def alert_created(user: User, data: dict[str, Any]) -> str:
    parts = [bell(user)]
    # Re-read the preference: the socket's user was loaded when the page opened.
    minimum = (
        User.objects.filter(pk=user.pk).values_list("toast_min_severity", flat=True).first()
        or user.toast_min_severity
    )
    if severity_at_least(data["severity"], minimum):
        parts.append(render_to_string(f"{BELL}#toast", {"alert": data}))
    return "".join(parts)


@ui_renderer("alert:acknowledged")
def alert_acknowledged(user: User, data: dict[str, Any]) -> str:
    # A single alert's toast is not removed from here: this page may never have shown it, and
    # an out-of-band swap without a target is an error in the browser. Its own Acknowledge
    # button removes it; "acknowledge all" clears the container, which every page has.
    parts = [bell(user)]
    if data.get("all"):
        parts.append(render_to_string(f"{BELL}#toasts-clear"))
    return "".join(parts)


@ui_renderer("alert:created", pages=["alerts"])
@ui_renderer("alert:acknowledged", pages=["alerts"])
def list_refresh(user: User, data: dict[str, Any]) -> str:
    """The Alerts page's list. It may be filtered, so rather than guess, the page fetches it
    again with its own filters: an element that loads itself, swapped in for the list's
    placeholder (which only the first page of the list has)."""
    return render_to_string(f"{BELL}#list-refresh")
