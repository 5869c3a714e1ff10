"""The seed's own contract next to ours (issue 14): camelCase order fields and `side` on
POST /api/trades; the WebSocket at `/` that greets before authentication, epoch-millisecond
timestamps on request, and `tradeId` on `trade:cancelled`."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from conftest import jwt_for
from tests.trades.conftest import set_quotes
from trades.models import Order
from trading_demo.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def test_trades_accept_the_seeds_camel_case_and_side(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 50)])
    api = client_for(trader)
    response = api.post(
        "/api/trades",
        {
            "symbol": "ACME",
            "side": "buy",
            "quantity": 3,
            "orderType": "LIMIT",
            "price": "100.00",
            "timeInForce": "IOC",
            "clientOrderId": "seed-client-1",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["type"], body["order_type"], body["time_in_force"], body["client_order_id"]) == (
        "BUY",
        "LIMIT",
        "IOC",
        "seed-client-1",
    )
    assert body["status"] == "filled"

    stop = api.post(
        "/api/trades",
        {
            "symbol": "ACME",
            "type": "SELL",
            "quantity": 1,
            "orderType": "STOP",
            "stopPrice": "95.00",
            "timeInForce": "GTC",
        },
        format="json",
    )
    assert stop.status_code == 201 and stop.json()["stop_price"] == "95.00"

    both = api.post(
        "/api/trades",
        {"symbol": "ACME", "type": "BUY", "side": "SELL", "quantity": 1},
        format="json",
    )
    assert both.status_code == 400 and both.json()["error"] == "validation_failed"
    assert Order.objects.filter(user=trader).count() == 2


def test_root_socket_greets_first_and_sends_epoch_ms_and_trade_id(client_for, trader, acme):
    api = client_for(trader)
    token = jwt_for(trader)
    resting = api.post(
        "/api/trades",
        {"symbol": "ACME", "type": "BUY", "quantity": 1, "orderType": "LIMIT", "price": "99.00"},
        format="json",
    ).json()

    async def scenario() -> None:
        socket = WebsocketCommunicator(application, "/?timestamps=ms")
        connected, _ = await socket.connect()
        assert connected
        greeting = await socket.receive_json_from(timeout=2)
        assert greeting["type"] == "connected" and greeting["clientId"]
        await socket.send_json_to({"type": "auth", "token": token})
        signed_in = await socket.receive_json_from(timeout=2)
        assert signed_in["type"] == "authenticated"
        assert signed_in["user"]["id"] == str(trader.pk)
        await socket.send_json_to({"type": "ping"})
        pong = await socket.receive_json_from(timeout=2)
        assert isinstance(pong["timestamp"], int)
        await socket.send_json_to({"type": "subscribe", "channel": "trades"})
        await socket.receive_json_from(timeout=2)
        await cancel_order(api, resting["id"])
        cancelled = await next_event(socket, "trade:cancelled")
        assert cancelled["data"]["tradeId"] == resting["id"]
        assert (
            isinstance(cancelled["timestamp"], int) and cancelled["timestamp"] > 1_700_000_000_000
        )
        await socket.disconnect()

    async_to_sync(scenario)()


async def next_event(socket: WebsocketCommunicator, name: str) -> dict:
    """The next `name` event. With Redis the order's own `trade:created` is handed to the
    layer by the publisher thread and may arrive after the subscription, before this one."""
    for _ in range(5):
        message = await socket.receive_json_from(timeout=3)
        if message.get("event") == name:
            return message
        assert message.get("event") == "trade:created", message
    raise AssertionError(f"no {name} event")


async def cancel_order(api, order_id: str) -> None:
    response = await sync_to_async(api.delete)(f"/api/trades/{order_id}")
    assert response.status_code == 200


def test_ws_path_keeps_its_protocol(trader):
    """`/ws/` is unchanged: nothing before authentication, ISO timestamps."""
    token = jwt_for(trader)

    async def scenario() -> None:
        socket = WebsocketCommunicator(application, "/ws/")
        connected, _ = await socket.connect()
        assert connected
        assert await socket.receive_nothing(timeout=0.3)
        await socket.send_json_to({"type": "auth", "token": token})
        assert (await socket.receive_json_from(timeout=2))["type"] == "connected"
        await socket.send_json_to({"type": "ping"})
        assert isinstance((await socket.receive_json_from(timeout=2))["timestamp"], str)
        await socket.disconnect()

    async_to_sync(scenario)()
