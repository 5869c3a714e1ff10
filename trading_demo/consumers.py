"""WebSocket consumers: `/ws/` speaks the JSON protocol of the contract; `/ws/ui/` pushes
rendered partials to pages (htmx ws extension, out-of-band swaps)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from trading_demo.authentication import user_for_token
from trading_demo.metrics import socket_event
from trading_demo.models import User
from trading_demo.realtime import (
    MANAGER_CHANNELS,
    MANAGERS_GROUP,
    PUBLIC_PREFIXES,
    channel_check,
    public_group,
    relay_start,
    ui_render,
    user_group,
)
from trading_demo.socket_access import SocketCredential, socket_user

logger = logging.getLogger(__name__)

# Close codes: 4401 = not (or no longer) signed in (session ended, token expired or revoked,
# user deactivated); 4403 = signed in but no longer allowed what the socket was doing (a manager
# demoted while subscribed to approvals); 4008 = policy violation (too many messages): Daphne lets
# applications close only with 1000 or 3000-4999, so it is WebSocket's 1008 in the 4000 range.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_POLICY_VIOLATION = 4008
AUTH_TIMEOUT_SECONDS = 10
MAX_MESSAGE_BYTES = 4096
MAX_SUBSCRIPTIONS = 50


class TokenBucket:
    """`burst` messages at once, refilled at `rate` per second."""

    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class _EventConsumer(AsyncWebsocketConsumer):
    """Shared parts: who the socket belongs to, which groups it is in, and that it keeps the
    right to be there (see trading_demo/socket_access.py).

    Channels closes stale database connections before every message it dispatches; these
    consumers touch the database only through `database_sync_to_async` (which does that itself),
    so `dispatch` skips the per-message clean-up — measured as the main cost of fan-out.
    """

    user: User | None = None
    credential: SocketCredential | None = None
    closing = False
    _access_watch: asyncio.Task[None] | None = None
    _bucket: TokenBucket | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        socket_event(message["type"])  # the open-sockets gauge (trading_demo/metrics.py)
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        if self._bucket is None:
            self._bucket = TokenBucket(
                rate=settings.WS_MESSAGE_RATE, burst=settings.WS_MESSAGE_BURST
            )
        if not self._bucket.take():
            logger.warning("socket of user %s closed: too many messages", self._user_id())
            await self._close(CLOSE_POLICY_VIOLATION)
            return
        await super().websocket_receive(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.closing = True
        if self._access_watch is not None:
            self._access_watch.cancel()
        await super().websocket_disconnect(message)

    async def _close(self, code: int) -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=code)

    def _user_id(self) -> str:
        return str(self.user.pk) if self.user is not None else "-"

    async def _access_holds(self) -> bool:
        """Re-read the socket's user through its credential; close the socket when it no
        longer holds (4401) or when the user lost a channel it is subscribed to (4403)."""
        if self.closing or self.credential is None:
            return not self.closing
        current = await database_sync_to_async(socket_user)(self.credential)
        if current is None or self.user is None or current.pk != self.user.pk:
            logger.info("socket of user %s closed: its sign-in no longer holds", self._user_id())
            await self._close(CLOSE_UNAUTHENTICATED)
            return False
        self.user = current
        if MANAGERS_GROUP in self.groups and not current.is_manager:
            logger.info("socket of user %s closed: no longer a manager", self._user_id())
            await self._leave(MANAGERS_GROUP)
            await self._close(CLOSE_FORBIDDEN)
            return False
        return True

    async def _watch_access(self) -> None:
        # The first round at a random point of the interval: sockets opened together (a page
        # reload by many, a reconnect after a restart) would otherwise re-check all at once.
        interval = settings.WS_ACCESS_RECHECK_SECONDS
        await asyncio.sleep(random.uniform(0, interval))
        while not self.closing:
            try:
                await self._access_holds()
            except Exception:
                # A database hiccup must not end the watch (nor keep a socket privileged for
                # ever): the next round asks again, and privileged events ask on delivery.
                logger.exception("could not re-check the socket of user %s", self._user_id())
            await asyncio.sleep(interval)

    async def _join(self, group: str) -> None:
        if group not in self.groups:
            self.groups.append(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def _leave(self, group: str) -> None:
        if group in self.groups:
            self.groups.remove(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join_user_groups(self, user: User, credential: SocketCredential) -> None:
        relay_start()
        self.user = user
        self.credential = credential
        await self._join(user_group(user.pk))
        self._access_watch = asyncio.create_task(self._watch_access())

    def _session_user(self) -> tuple[User, SocketCredential] | None:
        user = self.scope.get("user")
        if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
            return None
        session_key = self.scope["session"].session_key
        if not session_key:
            return None
        return user, SocketCredential("session", session_key)


class EventsConsumer(_EventConsumer):
    """`/ws/`: clients subscribe to channels and receive `{"event", "data", "timestamp"}`."""

    async def connect(self) -> None:
        self.groups: list[str] = []
        self.subscriptions: set[str] = set()
        self.client_id = str(uuid.uuid4())
        self._auth_timer: asyncio.Task[None] | None = None
        # The seed's own contract (issue 14): at `/` the server greets before authentication,
        # and `?timestamps=ms` asks for epoch milliseconds instead of ISO 8601.
        self.greeted = self.scope.get("path") == "/"
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        self.epoch_ms = query.get("timestamps", [""])[0] == "ms"
        await self.accept()
        if self.greeted:
            await self._send_json(
                {"type": "connected", "client_id": self.client_id, "clientId": self.client_id}
            )
        signed_in = self._session_user()
        if signed_in is not None:
            await self._authenticated(*signed_in)
        else:
            self._auth_timer = asyncio.create_task(self._close_if_anonymous())

    async def _close_if_anonymous(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT_SECONDS)
        if self.user is None:
            await self._close(CLOSE_UNAUTHENTICATED)

    async def _authenticated(self, user: User, credential: SocketCredential) -> None:
        await self._join_user_groups(user, credential)
        await self._send_json(
            {
                "type": "authenticated" if self.greeted else "connected",
                "client_id": self.client_id,
                "user": {"id": str(user.pk), "role": user.role},
            }
        )

    async def disconnect(self, code: int) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self._error("bad_message", "Send JSON text messages of at most 4 KB.")
            return
        try:
            message = json.loads(text_data)
        except json.JSONDecodeError:
            await self._error("bad_message", "Messages must be JSON objects.")
            return
        if not isinstance(message, dict):
            await self._error("bad_message", "Messages must be JSON objects.")
            return
        kind = message.get("type")
        if self.user is None:
            await self._first_message(kind, message)
            return
        if kind == "ping":
            now = timezone.now()
            stamp: object = int(now.timestamp() * 1000) if self.epoch_ms else now.isoformat()
            await self._send_json({"type": "pong", "timestamp": stamp})
        elif kind == "subscribe":
            await self._subscribe(message.get("channel"))
        elif kind == "unsubscribe":
            await self._unsubscribe(message.get("channel"))
        elif kind == "auth":
            await self._error("already_authenticated", "This socket is already signed in.")
        else:
            await self._error("unknown_type", f"Unknown message type {kind!r}.")

    async def _first_message(self, kind: object, message: dict[str, Any]) -> None:
        token = message.get("token")
        user = None
        if kind == "auth" and isinstance(token, str):
            user = await database_sync_to_async(user_for_token)(token)
        if user is None:
            await self._close(CLOSE_UNAUTHENTICATED)
            return
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        assert isinstance(token, str)
        await self._authenticated(user, SocketCredential("token", token))

    async def _subscribe(self, channel: object) -> None:
        assert self.user is not None
        if not isinstance(channel, str):
            await self._error("bad_message", "subscribe needs a channel.")
            return
        if channel in MANAGER_CHANNELS and not await self._access_holds():
            return
        check = channel_check(channel, is_manager=self.user.is_manager)
        if not check.ok:
            await self._error(check.reason, f"Cannot subscribe to {channel!r}.", channel=channel)
            return
        if channel not in self.subscriptions and len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            await self._error("too_many_subscriptions", "Unsubscribe from something first.")
            return
        self.subscriptions.add(channel)
        if channel == "approvals":
            await self._join(MANAGERS_GROUP)
        elif channel.partition(":")[0] in PUBLIC_PREFIXES:
            await self._join(public_group(channel))
        await self._send_json({"type": "subscribed", "channel": channel})

    async def _unsubscribe(self, channel: object) -> None:
        if not isinstance(channel, str) or channel not in self.subscriptions:
            await self._error("not_subscribed", f"Not subscribed to {channel!r}.")
            return
        self.subscriptions.discard(channel)
        if channel == "approvals":
            await self._leave(MANAGERS_GROUP)
        elif channel.partition(":")[0] in PUBLIC_PREFIXES:
            await self._leave(public_group(channel))
        await self._send_json({"type": "unsubscribed", "channel": channel})

    async def event_message(self, message: dict[str, Any]) -> None:
        if self.closing or message["channel"] not in self.subscriptions:
            return
        if message["channel"] in MANAGER_CHANNELS and not await self._access_holds():
            return
        if self.epoch_ms:
            at = datetime.fromisoformat(message["timestamp"])
            await self._send_json(
                {
                    "event": message["event"],
                    "data": message["data"],
                    "timestamp": int(at.timestamp() * 1000),
                }
            )
            return
        # Serialised once by publish(), not once per socket.
        await self.send(text_data=message["text"])

    async def _error(self, code: str, text: str, **extra: Any) -> None:
        await self._send_json({"type": "error", "error": code, "message": text, **extra})

    async def _send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, separators=(",", ":")))


class PageConsumer(_EventConsumer):
    """`/ws/ui/?channels=prices:AAPL,...`: pushes HTML fragments for the signed-in page.

    Only session users: pages are the web UI. The fragments are rendered by the renderers each
    app registers (`realtime.ui_renderer`), from the same partials the page itself used.
    """

    async def connect(self) -> None:
        self.groups: list[str] = []
        signed_in = self._session_user()
        if signed_in is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        user, credential = signed_in
        # Join every group before accepting: once the page sees the socket open, nothing
        # published for it may be missed.
        await self._join_user_groups(user, credential)
        if user.is_manager:
            await self._join(MANAGERS_GROUP)
        query = self.scope.get("query_string", b"").decode()
        self.page = ""
        for part in query.split("&"):
            key, _, value = part.partition("=")
            if key == "page":
                self.page = value[:32]
            if key != "channels":
                continue
            for channel in value.replace("%3A", ":").split(",")[:MAX_SUBSCRIPTIONS]:
                if (
                    channel.partition(":")[0] in PUBLIC_PREFIXES
                    and channel_check(channel, is_manager=user.is_manager).ok
                ):
                    await self._join(public_group(channel))
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The page socket only pushes; htmx's ws-send is not used.
        return

    async def event_message(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        if message["channel"] in MANAGER_CHANNELS and not await self._access_holds():
            return
        assert self.user is not None
        html = await database_sync_to_async(ui_render)(
            message["event"], self.user, message["data"], self.page
        )
        if html:
            await self.send(text_data=html)
