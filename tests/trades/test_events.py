"""Trade and market events on `/ws/`: the owner gets their order's life cycle, subscribers get
ticks and book updates, nobody gets another trader's orders."""

from __future__ import annotations

import random

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from conftest import jwt_for
from tests.trades.conftest import order_body, set_quotes
from trades.services.market import market_tick
from trading_demo.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def socket_for(token: str, *channels: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/")
    await socket.connect()
    await socket.send_json_to({"type": "auth", "token": token})
    await socket.receive_json_from(timeout=2)
    for channel in channels:
        await socket.send_json_to({"type": "subscribe", "channel": channel})
        assert (await socket.receive_json_from(timeout=2))["type"] == "subscribed"
    return socket


async def events(socket: WebsocketCommunicator, count: int) -> list[dict]:
    return [await socket.receive_json_from(timeout=3) for _ in range(count)]


def test_order_events_reach_the_owner_only(client_for, trader, trader2, acme):
    set_quotes(acme, asks=[("100.10", 4), ("100.20", 100)])
    tokens = jwt_for(trader), jwt_for(trader2)
    api = client_for(trader)

    async def scenario():
        mine = await socket_for(tokens[0], "trades")
        theirs = await socket_for(tokens[1], "trades")
        response = await sync_to_async(api.post)(
            "/api/trades", order_body(quantity=6), format="json"
        )
        assert response.status_code == 201
        received = await events(mine, 3)
        assert [e["event"] for e in received] == [
            "trade:created",
            "trade:executed",
            "trade:executed",
        ]
        assert [e["data"]["fill"]["quantity"] for e in received[1:]] == [4, 2]
        assert received[2]["data"]["status"] == "filled"
        assert await theirs.receive_nothing(timeout=0.3)
        limit = await sync_to_async(api.post)(
            "/api/trades",
            order_body(order_type="LIMIT", price="99.00", time_in_force="GTC"),
            format="json",
        )
        await sync_to_async(api.delete)(f"/api/trades/{limit.json()['id']}")
        received = await events(mine, 2)
        assert [e["event"] for e in received] == ["trade:created", "trade:cancelled"]
        await mine.disconnect()
        await theirs.disconnect()

    async_to_sync(scenario)()


def test_ticks_and_book_updates_reach_subscribers(trader, acme):
    token = jwt_for(trader)

    async def scenario():
        watcher = await socket_for(token, "prices:ACME", "book:ACME")
        other = await socket_for(token, "prices:MSFT")
        symbol = await sync_to_async(market_tick)(
            symbol_id="ACME", rng=random.Random(1), dt_years=1e-3
        )
        received = {e["event"]: e["data"] for e in await events(watcher, 2)}
        assert received["price:tick"]["last_price"] == str(symbol.last_price)
        assert received["book:updated"] == {"symbol": "ACME"}
        assert await other.receive_nothing(timeout=0.3)
        await watcher.disconnect()
        await other.disconnect()

    async_to_sync(scenario)()
