"""`/stream`: Alpaca's trading stream. Authenticate with the key pair, `listen` to
`trade_updates`, then receive `new`, `pending_review`, `fill`, `partial_fill`, `canceled`,
`expired`, `rejected` and `replaced` events for your own orders only (the socket joins only its
user's group, and every order it renders is read back for that user).

    → {"action": "authenticate", "data": {"key_id": "PK…", "secret_key": "td_…"}}
    ← {"stream": "authorization", "data": {"action": "authenticate", "status": "authorized"}}
    → {"action": "listen", "data": {"streams": ["trade_updates"]}}
    ← {"stream": "listening", "data": {"streams": ["trade_updates"]}}
    ← {"stream": "trade_updates", "data": {"event": "fill", "order": {…}, "price": "…", …}}
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async

from portfolio.models import Position
from trades.models import Order, OrderStatus
from trading_demo.alpaca.authentication import user_for_key_pair
from trading_demo.alpaca.serializers import ORDER_STATUS, OrderOutput
from trading_demo.consumers import (
    AUTH_TIMEOUT_SECONDS,
    CLOSE_UNAUTHENTICATED,
    MAX_MESSAGE_BYTES,
    _EventConsumer,
)
from trading_demo.models import User
from trading_demo.socket_access import SocketCredential

STREAMS = ("trade_updates",)

# Our order events -> Alpaca's trade update events (fills are `fill` or `partial_fill`).
EVENTS = {
    "trade:created": "new",
    "trade:pending_approval": "pending_review",
    "trade:cancelled": "canceled",
    "trade:rejected": "rejected",
    "trade:expired": "expired",
    "trade:replaced": "replaced",
}


def trade_update(*, user: User, event: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """One of our order events as Alpaca's trade update, or None when it has no Alpaca
    counterpart (or the order is not this user's)."""
    if event != "trade:executed" and event not in EVENTS:
        return None
    order_id = data.get("id")
    if not isinstance(order_id, str):
        return None
    order = Order.objects.filter(pk=order_id, user=user).first()
    if order is None:
        return None
    if event == "trade:cancelled" and order.status == OrderStatus.REPLACED:
        return None  # a replace closes the old order; its `replaced` event says so
    rendered = dict(OrderOutput(order).data)
    # The order as it was when the event happened, not as it is by the time it is read.
    status = data.get("status")
    if status in ORDER_STATUS:
        rendered["status"] = ORDER_STATUS[OrderStatus(status)]
    if isinstance(data.get("filled_quantity"), int):
        rendered["filled_qty"] = str(data["filled_quantity"])
    update: dict[str, Any] = {"order": rendered}
    if event == "trade:executed":
        fill = data.get("fill") or {}
        update["event"] = (
            "fill" if data.get("filled_quantity") == data.get("quantity") else "partial_fill"
        )
        update["execution_id"] = fill.get("id")
        update["price"] = fill.get("price")
        update["qty"] = str(fill.get("quantity"))
        held = (
            Position.objects.filter(account__user=user, symbol_id=order.symbol_id)
            .values_list("quantity", flat=True)
            .first()
        )
        update["position_qty"] = str(held or 0)
    else:
        update["event"] = EVENTS[event]
    return update


class TradingStreamConsumer(_EventConsumer):
    """On the same footing as `/ws/` (the shared base): inbound messages rate-limited, the open-
    sockets gauge, and the key pair re-checked while the socket is open (a revoked token closes
    it with 4401)."""

    async def connect(self) -> None:
        self.groups: list[str] = []
        self.listening: set[str] = set()
        await self.accept()
        self._auth_timer = asyncio.create_task(self._close_if_anonymous())

    async def _close_if_anonymous(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT_SECONDS)
        if self.user is None:
            await self._close(CLOSE_UNAUTHENTICATED)

    async def disconnect(self, code: int) -> None:
        self._auth_timer.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode(errors="replace")
        message: Any = None
        if len(raw) <= MAX_MESSAGE_BYTES:
            try:
                message = json.loads(raw)
            except json.JSONDecodeError:
                message = None
        if not isinstance(message, dict):
            await self._send("error", {"error": "invalid syntax"})
            return
        action = message.get("action")
        if action in ("authenticate", "auth"):
            await self._authenticate(message)
        elif action == "listen":
            await self._listen(message)
        else:
            await self._send("error", {"error": f"unknown action {str(action)[:40]!r}"})

    async def _authenticate(self, message: dict[str, Any]) -> None:
        given = message.get("data")
        data: dict[str, Any] = given if isinstance(given, dict) else message
        key_id = data.get("key_id") or data.get("key")
        secret = data.get("secret_key") or data.get("secret")
        user = None
        if self.user is None and isinstance(key_id, str) and isinstance(secret, str):
            user = await database_sync_to_async(user_for_key_pair)(key_id, secret)
        if self.user is not None:
            user = self.user
        if user is None:
            await self._send("authorization", {"action": "authenticate", "status": "unauthorized"})
            await self._close(CLOSE_UNAUTHENTICATED)
            return
        if self.user is None:
            self._auth_timer.cancel()
            assert isinstance(secret, str)
            # The secret alone names the token: re-checking it follows a revocation.
            await self._join_user_groups(user, SocketCredential("token", secret))
        await self._send("authorization", {"action": "authenticate", "status": "authorized"})

    async def _listen(self, message: dict[str, Any]) -> None:
        if self.user is None:
            await self._send("authorization", {"action": "listen", "status": "unauthorized"})
            await self._close(CLOSE_UNAUTHENTICATED)
            return
        given = message.get("data")
        streams = given.get("streams") if isinstance(given, dict) else None
        self.listening = (
            {s for s in streams if s in STREAMS} if isinstance(streams, list) else set()
        )
        await self._send("listening", {"streams": sorted(self.listening)})

    async def event_message(self, message: dict[str, Any]) -> None:
        if self.closing or self.user is None or "trade_updates" not in self.listening:
            return
        if message.get("channel") != "trades":
            return
        update = await database_sync_to_async(trade_update)(
            user=self.user, event=message["event"], data=message["data"]
        )
        if update is None:
            return
        update["timestamp"] = message["timestamp"]
        await self._send("trade_updates", update)

    async def _send(self, stream: str, data: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({"stream": stream, "data": data}, default=str))
