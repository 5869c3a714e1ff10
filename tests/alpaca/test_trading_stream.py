"""alpaca-py's TradingStream against our /stream socket on a real Daphne: it authenticates with
the key pair, listens to trade_updates and receives its own orders' events (and nobody else's)."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Iterator

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from alpaca.trading.stream import TradingStream
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.alpaca.conftest import KeyPair, key_pair_for
from tests.trades.conftest import make_symbol, set_quotes
from trading_demo.asgi import application
from trading_demo.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme(db):
    symbol = make_symbol()
    set_quotes(symbol, bids=[("99.90", 300)], asks=[("100.10", 200)])
    return symbol


@pytest.fixture
def updates(daphne, keys: KeyPair) -> Iterator[queue.Queue]:
    received: queue.Queue = queue.Queue()
    stream = TradingStream(
        keys.key_id, keys.secret_key, paper=True, url_override=daphne.ws_url + "/stream"
    )

    async def on_update(update) -> None:
        received.put(update)

    stream.subscribe_trade_updates(on_update)
    runner = threading.Thread(target=stream.run, daemon=True)
    runner.start()
    try:
        yield received
    finally:
        if stream._loop is not None:  # started: stop it from its own loop
            asyncio.run_coroutine_threadsafe(stream.stop_ws(), stream._loop).result(timeout=10)
        runner.join(timeout=15)


def first_update(trading: TradingClient, received: queue.Queue):
    """The stream listens once its socket is up; until then an event would have nobody to
    reach. Place small resting orders until the stream reports one, then go on."""
    for attempt in range(20):
        placed = trading.submit_order(
            LimitOrderRequest(
                symbol="ACME",
                qty=1,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC,
                limit_price=90,
                client_order_id=f"probe-{attempt}",
            )
        )
        try:
            update = received.get(timeout=1)
        except queue.Empty:
            trading.cancel_order_by_id(placed.id)
            continue
        return placed, update
    raise AssertionError("the trading stream never reported an order")


def drain(received: queue.Queue) -> list:
    items = []
    while True:
        try:
            items.append(received.get(timeout=2))
        except queue.Empty:
            return items


def test_trading_stream_receives_new_and_fill_events(daphne, trading, updates, acme, trader2):
    probe, first = first_update(trading, updates)
    assert (first.event, first.order.id, first.order.status) == ("new", probe.id, "new")
    drain(updates)  # a cancelled earlier probe may still report

    # Someone else's fill is not ours to see.
    theirs = key_pair_for(daphne.url, trader2)
    other = TradingClient(theirs.key_id, theirs.secret_key, paper=True, url_override=daphne.url)
    other.submit_order(
        MarketOrderRequest(symbol="ACME", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    filled = trading.submit_order(
        MarketOrderRequest(symbol="ACME", qty=4, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )

    events = drain(updates)
    assert {update.order.id for update in events} == {filled.id}
    fill = next(update for update in events if update.event == "fill")
    assert (fill.qty, fill.price, fill.position_qty) == (4, 100.1, 4)
    assert fill.order.status == "filled" and fill.order.filled_qty == "4"
    assert fill.execution_id is not None


def test_stream_refuses_a_wrong_secret(daphne, keys):
    with connect(daphne.ws_url + "/stream", open_timeout=5) as socket:
        socket.send(
            json.dumps(
                {"action": "authenticate", "data": {"key_id": keys.key_id, "secret_key": "td_x"}}
            )
        )
        reply = socket.recv(timeout=5)
        assert '"status": "unauthorized"' in reply
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_revoking_the_token_closes_an_open_stream(trader, settings):
    """In process, with the re-check every 0.2 s instead of 15 s."""
    settings.WS_ACCESS_RECHECK_SECONDS = 0.2
    token, secret = api_token_create(user=trader, name="bot")

    async def scenario() -> None:
        socket = WebsocketCommunicator(application, "/stream")
        connected, _ = await socket.connect()
        assert connected
        await socket.send_json_to(
            {"action": "authenticate", "data": {"key_id": token.key_id, "secret_key": secret}}
        )
        reply = await socket.receive_json_from(timeout=2)
        assert reply["data"]["status"] == "authorized"
        await socket.send_json_to({"action": "listen", "data": {"streams": ["trade_updates"]}})
        assert (await socket.receive_json_from(timeout=2))["data"]["streams"] == ["trade_updates"]
        await sync_to_async(api_token_revoke)(user=trader, token_id=token.pk)
        closed = await socket.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": 4401}

    async_to_sync(scenario)()
