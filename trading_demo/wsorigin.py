from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.utils.http import is_same_domain


class SameOriginOrNoOrigin:
    """Refuse WebSockets whose Origin is not one of ALLOWED_HOSTS.

    Browsers always send Origin, so this stops cross-site pages from riding a user's session
    cookie. Scripts usually send none; they authenticate with a token in the first message.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = dict(scope.get("headers", [])).get(b"origin")
        if origin is not None:
            host = urlparse(origin.decode("latin1")).hostname or ""
            allowed = settings.ALLOWED_HOSTS
            if not any(
                pattern == "*" or is_same_domain(host, pattern.strip("[]")) for pattern in allowed
            ):
                denier = WebsocketDenier()
                return await denier(scope, receive, send)
        return await self.app(scope, receive, send)
