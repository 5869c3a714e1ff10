"""API rate limits: fixed windows counted in the Django cache, and the `X-RateLimit-*` headers.

A window's count is one atomic increment (`cache.incr`), so with `REDIS_URL` every web process
counts into the same bucket; DRF's own throttles read a list of timestamps and write it back,
which loses requests when two processes do it at once. The cost is the usual fixed-window one:
a client can spend a full window's allowance just before and just after a boundary.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from trading_demo.clientip import client_address

if TYPE_CHECKING:  # DRF's views import this module (DEFAULT_THROTTLE_CLASSES)
    from rest_framework.views import APIView

# Where a throttle leaves what it counted, for the headers middleware (on Django's request, so
# the middleware finds it whatever DRF did with its own request object).
STATE_ATTRIBUTE = "_rate_limit_state"


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: int  # Unix time (s) when the window ends and the count starts again

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def _count(key: str, timeout: int) -> int:
    """Add one to a window's counter and return the new count (atomic in Redis and locmem)."""
    try:
        return int(cache.incr(key))
    except ValueError:
        if cache.add(key, 1, timeout=timeout):
            return 1
        return int(cache.incr(key))  # another process created it between the two calls


def _remember(request: Request | HttpRequest, state: RateLimitState) -> None:
    django_request = getattr(request, "_request", request)
    current: RateLimitState | None = getattr(django_request, STATE_ATTRIBUTE, None)
    # Several limits on one request: the client needs to hear about the tightest.
    if current is None or state.remaining < current.remaining:
        setattr(django_request, STATE_ATTRIBUTE, state)


class WindowRateThrottle(SimpleRateThrottle):
    """`scope`'s rate ("100/min") as a fixed window per `get_cache_key`."""

    reset_at: int = 0
    # Set by SimpleRateThrottle.__init__ from the rate (the stubs leave them out).
    num_requests: int | None
    duration: int | None

    def get_ident(self, request: Request) -> str:
        return client_address(request) or "unknown"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        limit, duration = int(self.num_requests or 0), int(self.duration or 1)
        now = time.time()
        window_start = int(now // duration) * duration
        self.reset_at = window_start + duration
        # The key names its window, so it is never reused; twice the window keeps it alive
        # for all of its window whenever it was created.
        count = _count(f"{key}:{window_start}", timeout=2 * duration)
        _remember(request, RateLimitState(limit, max(0, limit - count), self.reset_at))
        return count <= limit

    def wait(self) -> float | None:
        return max(1, math.ceil(self.reset_at - time.time()))


class ApiUserRateThrottle(WindowRateThrottle):
    """API_RATE_LIMIT per signed-in user (per client address when anonymous)."""

    scope = "api"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        ident = str(user.pk) if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginRateThrottle(WindowRateThrottle):
    """Sign-in requests are limited per client address, whatever account they target (failed
    passwords are counted separately, per account and per address: trading_demo/logins.py)."""

    scope = "login"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_page(self, request: HttpRequest) -> bool:
        """The same limit for the sign-in page's form: a plain Django request (the limit reads
        only its client address) and no DRF view."""
        return self.allow_request(cast(Request, request), cast("APIView", None))


def _with_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    state: RateLimitState | None = getattr(request, STATE_ATTRIBUTE, None)
    if state is not None:
        for name, value in state.headers().items():
            response[name] = value
    return response


class RateLimitHeadersMiddleware:
    """Adds `X-RateLimit-Limit/Remaining/Reset` to every response a limit was counted for
    (next to `Retry-After` on a 429). Sync and async, so it never costs a thread hop."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        return _with_headers(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return _with_headers(request, await self.get_response(request))
