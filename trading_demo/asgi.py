"""HTTP and WebSocket entry point (Daphne)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading_demo.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from trading_demo.routing import websocket_urlpatterns  # noqa: E402
from trading_demo.wsorigin import SameOriginOrNoOrigin  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginOrNoOrigin(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
