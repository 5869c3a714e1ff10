from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle


class ApiUserRateThrottle(UserRateThrottle):
    """API_RATE_LIMIT per signed-in user (per client address when anonymous)."""

    scope = "api"


class LoginRateThrottle(SimpleRateThrottle):
    """Password guessing is limited per client address, whatever account it targets."""

    scope = "login"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
