"""WebSocket consumers: `/ws/` speaks the JSON protocol of the contract; `/ws/ui/` pushes
rendered partials to pages (htmx ws extension, out-of-band swaps)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from trading_demo.authentication import user_for_token
from trading_demo.models import User
from trading_demo.realtime import (
    MANAGERS_GROUP,
    PUBLIC_PREFIXES,
    channel_check,
    public_group,
    relay_start,
    ui_render,
    user_group,
)

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
AUTH_TIMEOUT_SECONDS = 10
MAX_MESSAGE_BYTES = 4096
MAX_SUBSCRIPTIONS = 50


class _EventConsumer(AsyncWebsocketConsumer):
    """Shared parts: who the socket belongs to and which groups it is in.

    Channels closes stale database connections before every message it dispatches; these
    consumers touch the database only through `database_sync_to_async` (which does that itself),
    so `dispatch` skips the per-message clean-up — measured as the main cost of fan-out.
    """

    user: User | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _join(self, group: str) -> None:
        if group not in self.groups:
            self.groups.append(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def _leave(self, group: str) -> None:
        if group in self.groups:
            self.groups.remove(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join_user_groups(self, user: User) -> None:
        relay_start()
        self.user = user
        await self._join(user_group(user.pk))

    def _session_user(self) -> User | None:
        user = self.scope.get("user")
        if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
            return None
        return user  # type: ignore[no-any-return]


class EventsConsumer(_EventConsumer):
    """`/ws/`: clients subscribe to channels and receive `{"event", "data", "timestamp"}`."""

    async def connect(self) -> None:
        self.groups: list[str] = []
        self.subscriptions: set[str] = set()
        self.client_id = str(uuid.uuid4())
        self._auth_timer: asyncio.Task[None] | None = None
        await self.accept()
        user = self._session_user()
        if user is not None:
            await self._authenticated(user)
        else:
            self._auth_timer = asyncio.create_task(self._close_if_anonymous())

    async def _close_if_anonymous(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT_SECONDS)
        if self.user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _authenticated(self, user: User) -> None:
        await self._join_user_groups(user)
        await self._send_json(
            {
                "type": "connected",
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
            await self._send_json({"type": "pong", "timestamp": timezone.now().isoformat()})
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
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        await self._authenticated(user)

    async def _subscribe(self, channel: object) -> None:
        assert self.user is not None
        if not isinstance(channel, str):
            await self._error("bad_message", "subscribe needs a channel.")
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
        if message["channel"] not in self.subscriptions:
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
        user = self._session_user()
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        # Join every group before accepting: once the page sees the socket open, nothing
        # published for it may be missed.
        await self._join_user_groups(user)
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
        assert self.user is not None
        html = await database_sync_to_async(ui_render)(
            message["event"], self.user, message["data"], self.page
        )
        if html:
            await self.send(text_data=html)
