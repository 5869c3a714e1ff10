"""Each user's time zone for the pages: times are stored and served by the API in UTC, and
shown on the pages in the zone the user chose in Settings (by default the one their browser
reports, sent once by static/js/app.js)."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

ZONES = frozenset(zoneinfo.available_timezones())


def zone_valid(name: str) -> bool:
    return name in ZONES


def user_zone(user: Any) -> tzinfo:
    name = getattr(user, "time_zone", "") or ""
    if name and zone_valid(name):
        return zoneinfo.ZoneInfo(name)
    return UTC


def zone_choices() -> list[str]:
    """Every zone the server knows, UTC first (the Settings page's list)."""
    return ["UTC", *sorted(zone for zone in ZONES if zone != "UTC")]


class UserTimezoneMiddleware:
    """Pages render their times in the signed-in user's zone (API responses stay UTC: their
    serializers write ISO 8601 with the offset, in UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/api/"):
            with timezone.override(user_zone(user)):
                return self.get_response(request)
        return self.get_response(request)


def in_user_zone[F: Callable[..., str]](render: F) -> F:
    """For page-socket renderers (`render(user, data)`): the fragment shows the user's times
    as the page around it does."""

    @functools.wraps(render)
    def wrapped(user: Any, data: dict[str, Any]) -> str:
        with timezone.override(user_zone(user)):
            return render(user, data)

    return wrapped  # type: ignore[return-value]
