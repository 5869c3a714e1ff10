"""API calls are resolved before any page pattern is tried (trading_demo/urls.py)."""

from __future__ import annotations

from django.urls import get_resolver, resolve


def test_the_apis_are_tried_first():
    first = [str(pattern.pattern) for pattern in get_resolver().url_patterns[:2]]
    assert first == ["api/", "v2/"]


def test_pages_and_apis_still_resolve_to_their_views():
    assert resolve("/").url_name == "dashboard"
    assert resolve("/api/auth/me").url_name == "api-me"
    assert resolve("/api/trades").url_name == "api-trades"
    assert resolve("/api/no-such-thing").url_name == "api-not-found"
    assert resolve("/portfolio/").url_name == "portfolio"
    assert resolve("/admin/").app_name == "admin"
