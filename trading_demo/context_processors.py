from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from trading_demo.models import Theme


def shell(request: HttpRequest) -> dict[str, Any]:
    """Navigation and theme for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"theme": Theme.LIGHT, "nav": []}
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
    return {"theme": user.theme, "nav": nav}
