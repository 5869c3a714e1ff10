"""The `/ws/` JSON protocol and `publish()`, against the real ASGI application in process."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from conftest import jwt_for
from trading_demo.asgi import application
from trading_demo.consumers import CLOSE_UNAUTHENTICATED
from trading_demo.realtime import publish

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(token: str | None = None) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/")
    connected, _ = await socket.connect()
    assert connected
    if token is not None:
        await socket.send_json_to({"type": "auth", "token": token})
        greeting = await socket.receive_json_from(timeout=2)
        assert greeting["type"] == "connected"
        assert greeting["client_id"]
    return socket


def run(coro_fn):
    return async_to_sync(coro_fn)()


def test_anonymous_socket_is_closed_with_4401():
    async def scenario():
        socket = await connect()
        await socket.send_json_to({"type": "subscribe", "channel": "trades"})
        closed = await socket.receive_output(timeout=2)
        assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}

    run(scenario)


def test_bad_token_is_closed_with_4401():
    async def scenario():
        socket = await connect()
        await socket.send_json_to({"type": "auth", "token": "forged.jwt.value"})
        closed = await socket.receive_output(timeout=2)
        assert closed["code"] == CLOSE_UNAUTHENTICATED

    run(scenario)


def test_ping_pong_and_unknown_type_keeps_socket_open(trader):
    token = jwt_for(trader)

    async def scenario():
        socket = await connect(token)
        await socket.send_json_to({"type": "dance"})
        error = await socket.receive_json_from(timeout=2)
        assert (error["type"], error["error"]) == ("error", "unknown_type")
        await socket.send_to(text_data="{not json")
        assert (await socket.receive_json_from(timeout=2))["error"] == "bad_message"
        await socket.send_json_to({"type": "ping"})
        assert (await socket.receive_json_from(timeout=2))["type"] == "pong"
        await socket.disconnect()

    run(scenario)


def test_forbidden_and_unknown_channels_give_errors(trader):
    token = jwt_for(trader)

    async def scenario():
        socket = await connect(token)
        await socket.send_json_to({"type": "subscribe", "channel": "approvals"})
        forbidden = await socket.receive_json_from(timeout=2)
        assert (forbidden["error"], forbidden["channel"]) == ("forbidden", "approvals")
        await socket.send_json_to({"type": "subscribe", "channel": "prices:aapl"})
        assert (await socket.receive_json_from(timeout=2))["error"] == "unknown_channel"
        await socket.send_json_to({"type": "subscribe", "channel": "trades"})
        assert await socket.receive_json_from(timeout=2) == {
            "type": "subscribed",
            "channel": "trades",
        }
        await socket.disconnect()

    run(scenario)


def test_manager_may_subscribe_to_approvals(manager):
    token = jwt_for(manager)

    async def scenario():
        socket = await connect(token)
        await socket.send_json_to({"type": "subscribe", "channel": "approvals"})
        assert (await socket.receive_json_from(timeout=2))["type"] == "subscribed"
        await socket.disconnect()

    run(scenario)


def _publish_in_transaction(user_id, *, fail: bool) -> None:
    try:
        with transaction.atomic():
            publish("trade:created", {"id": "o-1"}, channel="trades", user_ids=[user_id])
            if fail:
                raise RuntimeError("roll back")
    except RuntimeError:
        pass


def test_publish_on_commit_reaches_owner_only(trader, trader2):
    tokens = (jwt_for(trader), jwt_for(trader2))

    async def scenario():
        mine, theirs = await connect(tokens[0]), await connect(tokens[1])
        for socket in (mine, theirs):
            await socket.send_json_to({"type": "subscribe", "channel": "trades"})
            await socket.receive_json_from(timeout=2)
        await sync_to_async(_publish_in_transaction)(trader.pk, fail=False)
        event = await mine.receive_json_from(timeout=2)
        assert event["event"] == "trade:created"
        assert event["data"] == {"id": "o-1"}
        assert event["timestamp"]
        assert await theirs.receive_nothing(timeout=0.3)
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)


def test_rolled_back_transaction_sends_nothing(trader):
    token = jwt_for(trader)

    async def scenario():
        socket = await connect(token)
        await socket.send_json_to({"type": "subscribe", "channel": "trades"})
        await socket.receive_json_from(timeout=2)
        await sync_to_async(_publish_in_transaction)(trader.pk, fail=True)
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_unsubscribed_channel_events_are_not_forwarded(trader):
    token = jwt_for(trader)

    async def scenario():
        socket = await connect(token)
        await sync_to_async(_publish_in_transaction)(trader.pk, fail=False)
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_api_token_authenticates_a_socket(client_for, trader):
    key = client_for(trader).post("/api/auth/tokens", {"name": "ws"}, format="json").json()["token"]

    async def scenario():
        socket = await connect(key)
        await socket.disconnect()

    run(scenario)


def test_foreign_origin_is_refused(trader):
    async def scenario():
        socket = WebsocketCommunicator(
            application, "/ws/", headers=[(b"origin", b"https://evil.example.net")]
        )
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)
