"""Page-socket fragments of the shell (registered when the app is ready)."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from trading_demo.models import User
from trading_demo.realtime import ui_renderer


@ui_renderer("preferences:updated")
def theme_sync(user: User, data: dict[str, Any]) -> str:
    # Every open tab of this user switches theme at once (static/js/app.js applies it).
    return render_to_string(
        "trading_demo/base.html#theme-sync", {"theme": data["theme"], "oob": True}
    )
