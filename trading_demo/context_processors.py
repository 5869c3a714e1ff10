from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.urls import reverse

from trading_demo.models import Theme


def ws_base(request: HttpRequest) -> str:
    """Scheme, host and port of the socket server as this page's visitor reaches it ("" when
    it is the page's own origin)."""
    if not settings.WS_PORT:
        return ""
    host, _ = split_domain_port(request.get_host())
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"{'wss' if request.is_secure() else 'ws'}://{host}:{settings.WS_PORT}"


def shell(request: HttpRequest) -> dict[str, Any]:
    """Navigation, theme and the socket server's address for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"theme": Theme.LIGHT, "nav": [], "ws_base": ""}
    items = [
        ("dashboard", "Dashboard"),
        ("portfolio", "Portfolio"),
        ("analytics", "Analytics"),
        ("metering", "Metering"),
        ("alerts", "Alerts"),
    ]
    if user.is_manager:
        items.append(("approvals", "Approvals"))
        items.append(("risk", "Risk"))
    items.append(("settings", "Settings"))
    current = request.resolver_match.url_name if request.resolver_match else ""
    nav = [
        {"url": reverse(name), "label": label, "current": name == current} for name, label in items
    ]
    return {"theme": user.theme, "nav": nav, "ws_base": ws_base(request)}
