"""Where people reach a local run, from HOST and PORT (Django-free: the supervisor uses it
before any Django process is up, and settings use it for PUBLIC_URL's default)."""

from __future__ import annotations

import os

WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}  # noqa: S104 - names to rewrite, not binds  # nosec


def local_url(host: str | None = None, port: str | int | None = None) -> str:
    """The address to open in a browser: a wildcard bind is reached on the loopback address,
    and an IPv6 address goes in brackets."""
    host = os.environ.get("HOST", "127.0.0.1") if host is None else host
    port = os.environ.get("PORT", "8000") if port is None else port
    host = WILDCARDS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"
