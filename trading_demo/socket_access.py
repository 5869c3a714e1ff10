"""Who an open WebSocket belongs to *now*.

A socket is authenticated once, when it opens, but it may stay open for hours: the user can be
deactivated or demoted, sign out, or have the token it used revoked or expire meanwhile. The
consumers keep the credential the socket opened with and ask `socket_user` again before every
privileged event and on a short interval (`WS_ACCESS_RECHECK_SECONDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace
from typing import Literal

from django.conf import settings
from django.contrib.auth import get_user

from trading_demo.authentication import user_for_token
from trading_demo.models import User


@dataclass(frozen=True)
class SocketCredential:
    """How the socket signed in: the session key of its cookie, or the token of its first
    message (a JWT access token or a personal API token)."""

    kind: Literal["session", "token"]
    value: str

    def __repr__(self) -> str:  # never print a token or a session key into a log
        return f"SocketCredential({self.kind})"


def socket_user(credential: SocketCredential) -> User | None:
    """The credential's active user as stored now; None when the session has ended (signed out,
    password changed), the token expired or was revoked, or the user was deactivated."""
    if credential.kind == "token":
        return user_for_token(credential.value)
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key=credential.value)
    # Django's own check, on a freshly loaded session: the user's backend, is_active and the
    # session's password hash, exactly as a page request is checked.
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    if not user.is_authenticated:
        return None
    return user  # type: ignore[return-value]
