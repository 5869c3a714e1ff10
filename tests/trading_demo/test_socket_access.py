"""Open sockets follow permissions, refuse foreign origins and cannot be flooded (issue 12, 8)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from conftest import jwt_for
from tests.factories import PASSWORD
from tests.servers import browser_session, cookie_header
from trading_demo.asgi import application
from trading_demo.consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_POLICY_VIOLATION,
    CLOSE_UNAUTHENTICATED,
)
from trading_demo.models import Role, User
from trading_demo.realtime import publish
from trading_demo.services import api_token_create, api_token_revoke, user_set_role

pytestmark = pytest.mark.django_db(transaction=True)


def run(coro_fn):
    return async_to_sync(coro_fn)()


async def token_socket(token: str, *, subscribe: str = "approvals") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/")
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "auth", "token": token})
    assert (await socket.receive_json_from(timeout=2))["type"] == "connected"
    await socket.send_json_to({"type": "subscribe", "channel": subscribe})
    assert (await socket.receive_json_from(timeout=2))["type"] == "subscribed"
    return socket


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def session_socket(key: str, path: str = "/ws/", origin: str = "") -> WebsocketCommunicator:
    headers = [(b"cookie", f"sessionid={key}".encode())]
    if origin:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def approval_requested() -> None:
    publish("approval:requested", {"id": "ap-1"}, channel="approvals", to_managers=True)


async def assert_closed_before_event(socket: WebsocketCommunicator, code: int) -> None:
    await sync_to_async(approval_requested)()
    output = await socket.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": code}, output


def test_manager_still_a_manager_receives_approval_requests(manager):
    token = jwt_for(manager)

    async def scenario():
        socket = await token_socket(token)
        await sync_to_async(approval_requested)()
        event = await socket.receive_json_from(timeout=2)
        assert (event["event"], event["data"]) == ("approval:requested", {"id": "ap-1"})
        await socket.disconnect()

    run(scenario)


def test_demoted_manager_socket_is_closed_4403_before_the_next_approval(manager):
    token = jwt_for(manager)

    async def scenario():
        socket = await token_socket(token)
        await sync_to_async(user_set_role)(user=manager, role=Role.VIEWER)
        await assert_closed_before_event(socket, CLOSE_FORBIDDEN)

    run(scenario)


def test_deactivated_manager_socket_is_closed_4401(manager):
    token = jwt_for(manager)

    async def scenario():
        socket = await token_socket(token)
        await sync_to_async(User.objects.filter(pk=manager.pk).update)(is_active=False)
        await assert_closed_before_event(socket, CLOSE_UNAUTHENTICATED)

    run(scenario)


def test_revoked_api_token_socket_is_closed_4401(manager):
    token, key = api_token_create(user=manager, name="ws")

    async def scenario():
        socket = await token_socket(key)
        await sync_to_async(api_token_revoke)(user=manager, token_id=token.pk)
        await assert_closed_before_event(socket, CLOSE_UNAUTHENTICATED)

    run(scenario)


def test_expired_jwt_socket_is_closed_4401(manager):
    access = AccessToken.for_user(manager)
    access.set_exp(lifetime=timedelta(seconds=1))
    token = str(access)

    async def scenario():
        socket = await token_socket(token)
        await asyncio.sleep(1.5)
        await assert_closed_before_event(socket, CLOSE_UNAUTHENTICATED)

    run(scenario)


def test_signed_out_session_socket_is_closed_4401(manager):
    key = session_cookie(manager)

    async def scenario():
        socket = await session_socket(key)
        connected, _ = await socket.connect()
        assert connected
        assert (await socket.receive_json_from(timeout=2))["type"] == "connected"
        await socket.send_json_to({"type": "subscribe", "channel": "approvals"})
        assert (await socket.receive_json_from(timeout=2))["type"] == "subscribed"
        await sync_to_async(SessionStore(session_key=key).delete)()
        await assert_closed_before_event(socket, CLOSE_UNAUTHENTICATED)

    run(scenario)


def test_page_socket_of_demoted_manager_is_closed_4403(manager):
    key = session_cookie(manager)

    async def scenario():
        socket = await session_socket(key, "/ws/ui/?page=approvals")
        connected, _ = await socket.connect()
        assert connected
        await sync_to_async(user_set_role)(user=manager, role=Role.TRADER)
        await assert_closed_before_event(socket, CLOSE_FORBIDDEN)

    run(scenario)


def test_deactivation_closes_an_idle_socket_on_the_recheck_interval(settings, trader):
    settings.WS_ACCESS_RECHECK_SECONDS = 0.2
    token = jwt_for(trader)

    async def scenario():
        socket = await token_socket(token, subscribe="trades")
        await sync_to_async(User.objects.filter(pk=trader.pk).update)(is_active=False)
        output = await socket.receive_output(timeout=3)
        assert output == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}

    run(scenario)


# --- Origin: scheme, host and port ---------------------------------------------------------


@pytest.fixture
def sockets_on_own_port(settings):
    """As under `make run`: pages on :8000, sockets on :8001."""
    settings.WS_PORT = 8001
    settings.PAGE_PORT = 8000
    settings.WS_ALLOWED_ORIGINS = []


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://127.0.0.1:9999", False),  # same host, another port: another site
        ("https://127.0.0.1:8000", False),  # another scheme
        ("http://127.0.0.1", False),  # port 80
        ("http://evil.example.net:8000", False),
        ("null", False),
    ],
)
def test_session_socket_origin_must_match_scheme_host_and_port(
    sockets_on_own_port, trader, origin, allowed
):
    key = session_cookie(trader)

    async def scenario():
        socket = await session_socket(key, origin=origin)
        connected, _ = await socket.connect()
        assert connected is allowed
        if connected:
            assert (await socket.receive_json_from(timeout=2))["type"] == "connected"
            await socket.disconnect()

    run(scenario)


def test_explicit_allowed_origin_is_accepted(settings, trader):
    settings.WS_ALLOWED_ORIGINS = ["https://trading.example.com"]
    settings.ALLOWED_HOSTS = ["trading.example.com"]
    key = session_cookie(trader)

    async def scenario():
        good = await session_socket(key, origin="https://trading.example.com:443")
        assert (await good.connect())[0]
        await good.disconnect()
        bad = await session_socket(key, origin="https://trading.example.com:8443")
        assert not (await bad.connect())[0]

    run(scenario)


def test_real_daphne_refuses_same_host_other_port(daphne, trader):
    session = browser_session(daphne.url, trader.email, PASSWORD)
    headers = {"Cookie": cookie_header(session), "Origin": "http://127.0.0.1:9999"}
    with pytest.raises(InvalidStatus):
        ws_connect(daphne.ws_url + "/ws/", additional_headers=headers, open_timeout=5)
    headers["Origin"] = daphne.url
    with ws_connect(daphne.ws_url + "/ws/", additional_headers=headers, open_timeout=5) as ok:
        assert '"connected"' in ok.recv(timeout=5)


# --- flooding ------------------------------------------------------------------------------


def test_three_thousand_pings_are_cut_off_with_4008(daphne, trader):
    with ws_connect(daphne.ws_url + "/ws/", open_timeout=5) as socket:
        socket.send(f'{{"type":"auth","token":"{jwt_for(trader)}"}}')
        assert '"connected"' in socket.recv(timeout=5)
        sent = 0
        try:
            for _ in range(3000):
                socket.send('{"type":"ping"}')
                sent += 1
        except ConnectionClosed:
            pass
        pongs = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                if '"pong"' in socket.recv(timeout=10):
                    pongs += 1
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CLOSE_POLICY_VIOLATION
    # The burst a real client needs is answered (less the token the auth message took; the
    # refill while 3,000 pings arrive may add none); the flood is not.
    assert django_settings.WS_MESSAGE_BURST - 1 <= pongs < 3000, (sent, pongs)
    print(f"\nsocket flood: {sent} of 3000 pings sent, {pongs} answered, then closed 4008")


def test_a_client_within_the_rate_is_never_cut_off(settings, trader):
    settings.WS_MESSAGE_BURST = 20
    token = jwt_for(trader)

    async def scenario():
        socket = await token_socket(token, subscribe="trades")
        for _ in range(18):
            await socket.send_json_to({"type": "ping"})
            assert (await socket.receive_json_from(timeout=2))["type"] == "pong"
        await socket.disconnect()

    run(scenario)
