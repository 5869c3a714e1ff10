"""Two middleware chains behind one WSGI app: the browser's, and a shorter one for API calls
that carry no cookie.

A script or an API client (a Bearer token, an Alpaca key pair) has no session, no CSRF token to
check, no flash messages, no HTMX headers and no page time zone, yet every request paid for the
eight middlewares that serve those: measured on this 2-core machine (README, "Benchmarks"), a
fifth of a small authenticated GET. Without a `Cookie` header nothing those middlewares do can
apply (CSRF guards ambient credentials, which only cookies are; the session, the messages and
`request.user` come from the session cookie), so such a request goes through
`settings.API_LANE_MIDDLEWARE`, the same list without them, in the same order. Every header the
API sends (security, CSP, request id, rate limits) and billing stay in both chains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponseBase
from django.test.utils import override_settings

API_PREFIXES = ("/api/", "/v2/")


def in_api_lane(environ: dict[str, Any]) -> bool:
    """A cookie-less request to the JSON API (`/api/`, Alpaca's `/v2/`)."""
    return "HTTP_COOKIE" not in environ and environ.get("PATH_INFO", "").startswith(API_PREFIXES)


class _ApiLaneHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds a handler's chain from settings.MIDDLEWARE alone; the lane's list is
        # put in its place while this one handler loads (once, at start-up).
        with override_settings(MIDDLEWARE=settings.API_LANE_MIDDLEWARE):
            super().load_middleware(is_async)


class LanedWSGIHandler(WSGIHandler):
    """Django's WSGI handler, with cookie-less API requests answered by the lane's chain."""

    def __init__(self) -> None:
        super().__init__()
        self.api_lane = _ApiLaneHandler()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> HttpResponseBase:
        if in_api_lane(environ):
            return self.api_lane(environ, start_response)
        return super().__call__(environ, start_response)
