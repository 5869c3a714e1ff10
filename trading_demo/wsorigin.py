"""Which page origins may open a WebSocket with the visitor's session cookie.

An origin is scheme, host and port together (RFC 6454): `http://127.0.0.1:9999` is another site
than `http://127.0.0.1:8000` even though the host is the same, and a page there must not ride the
session cookie the browser also sends to it. The allowed origins are:
- the socket server's own origin (a page served by the same Daphne, tests, one-server setups);
- the pages' origin when sockets have their own port (`WS_PORT`): each allowed host on the
  pages' scheme and port (`PORT`), as `context_processors.ws_base` sends the browser there;
- `WS_ALLOWED_ORIGINS` (default: `PUBLIC_URL` and `CSRF_TRUSTED_ORIGINS`), for proxies that put
  pages and sockets on one public origin (docker-compose's nginx).
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


def parse_origin(value: str) -> Origin | None:
    """`scheme://host[:port]` -> its parts, with the scheme's default port; None when it is not
    an http(s) origin (`null`, `file://`, garbage)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


def _host_allowed(host: str) -> bool:
    for pattern in settings.ALLOWED_HOSTS:
        pattern = pattern.strip("[]").lower()
        if pattern == "*" or is_same_domain(host, pattern):
            return True
    return False


def _socket_origin(scope: dict[str, Any], headers: dict[bytes, bytes]) -> Origin | None:
    """The origin the socket itself was opened on (its Host header, ws -> http)."""
    host = headers.get(b"host")
    if host is None:
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return parse_origin(f"{scheme}://{host.decode('latin1')}")


def origin_allowed(origin: str, *, socket_origin: Origin | None) -> bool:
    parsed = parse_origin(origin)
    if parsed is None:
        return False
    explicit = {parse_origin(item) for item in settings.WS_ALLOWED_ORIGINS}
    if parsed in explicit:
        return True
    if not _host_allowed(parsed.host):
        return False
    if parsed == socket_origin:
        return True
    if settings.WS_PORT:
        page_scheme = "https" if settings.HTTPS else "http"
        return (parsed.scheme, parsed.port) == (page_scheme, settings.PAGE_PORT)
    return False


class SameOriginOrNoOrigin:
    """Refuse WebSockets whose Origin is not an allowed page origin (see the module docstring).

    Browsers always send Origin, so this stops cross-site pages from riding a user's session
    cookie. Scripts usually send none; they authenticate with a token in the first message.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin")
        if origin is not None and not origin_allowed(
            origin.decode("latin1"), socket_origin=_socket_origin(scope, headers)
        ):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.app(scope, receive, send)
