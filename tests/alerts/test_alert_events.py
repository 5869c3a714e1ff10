"""Alerts on the WebSocket: `alert:created` and `alert:acknowledged` on `/ws/` reach the owner
(or every manager) and nobody else; the page socket pushes the bell, toasts and list refresh."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.test import Client

from alerts.services import (
    alert_acknowledge,
    alerts_acknowledge_all,
    price_alert_create,
    price_alerts_evaluate,
)
from conftest import jwt_for
from tests.alerts.conftest import raise_for, raise_for_managers
from trades.services.market import market_tick
from trading_demo.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def socket_for(token: str, *channels: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/")
    await socket.connect()
    await socket.send_json_to({"type": "auth", "token": token})
    assert (await socket.receive_json_from(timeout=2))["type"] == "connected"
    for channel in channels:
        await socket.send_json_to({"type": "subscribe", "channel": channel})
        assert (await socket.receive_json_from(timeout=2))["type"] == "subscribed"
    return socket


def test_a_crossed_price_alert_reaches_the_owners_socket_and_slack_only(
    slack, settings, trader, trader2, acme
):
    """The issue's proof: a price alert just above the price, the simulator driven with a seeded
    walk until it crosses; the alert fires once, reaches its owner's socket and no one else's,
    and arrives at the Slack stand-in with the right colour and fields."""
    settings.ALERTS_SLACK_MIN_SEVERITY = "medium"
    trader.slack_min_severity = "medium"
    trader.save()
    threshold = acme.last_price + Decimal("0.50")
    price_alert_create(user=trader, symbol="ACME", condition="above", threshold=threshold)
    tokens = jwt_for(trader), jwt_for(trader2)

    def drive_market() -> int:
        rng, fired = random.Random(7), 0
        for _ in range(400):
            symbol = market_tick(symbol_id="ACME", rng=rng, dt_years=1e-4)
            fired += price_alerts_evaluate(symbol_id="ACME", price=symbol.last_price)
        return fired

    async def scenario() -> None:
        mine = await socket_for(tokens[0], "alerts")
        theirs = await socket_for(tokens[1], "alerts")
        assert await sync_to_async(drive_market)() == 1
        event = await mine.receive_json_from(timeout=3)
        assert event["event"] == "alert:created"
        assert event["data"]["type"] == "price" and event["data"]["severity"] == "medium"
        assert event["data"]["message"].startswith("ACME rose to ")
        assert await mine.receive_nothing(timeout=0.3)
        assert await theirs.receive_nothing(timeout=0.3)
        await mine.disconnect()
        await theirs.disconnect()

    async_to_sync(scenario)()
    call_command("deliver_slack", "--once")
    assert len(slack.received) == 1
    attachment = slack.received[0]["attachments"][0]
    assert attachment["color"] == "warning"
    assert [(f["title"], f["value"]) for f in attachment["fields"]] == [
        ("Severity", "medium"),
        ("Type", "price"),
    ]


def test_managers_alerts_reach_every_managers_alerts_channel(manager, admin_user, trader):
    tokens = [jwt_for(user) for user in (manager, admin_user, trader)]

    async def scenario() -> None:
        sockets = [await socket_for(token, "alerts") for token in tokens]
        alert = await sync_to_async(raise_for_managers)()
        for socket in sockets[:2]:
            event = await socket.receive_json_from(timeout=3)
            assert (event["event"], event["data"]["id"]) == ("alert:created", str(alert.pk))
            assert event["data"]["audience"] == "managers"
        assert await sockets[2].receive_nothing(timeout=0.3)
        await sync_to_async(alert_acknowledge)(user=manager, alert_id=alert.pk)
        for socket in sockets[:2]:
            event = await socket.receive_json_from(timeout=3)
            assert event["event"] == "alert:acknowledged"
            assert event["data"]["acknowledged_by"] == str(manager.pk)
        for socket in sockets:
            await socket.disconnect()

    async_to_sync(scenario)()


def test_alert_events_need_the_alerts_subscription(trader):
    token = jwt_for(trader)

    async def scenario() -> None:
        other = await socket_for(token, "trades")
        await sync_to_async(raise_for)(trader)
        assert await other.receive_nothing(timeout=0.3)
        await other.disconnect()

    async_to_sync(scenario)()


def page_socket(user, page: str = "dashboard") -> WebsocketCommunicator:
    """The socket a signed-in page opens (`base.html`), as the browser would."""
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return WebsocketCommunicator(
        application, f"/ws/ui/?page={page}", headers=[(b"cookie", cookie.encode())]
    )


def test_the_page_socket_pushes_bell_toast_and_list_refresh_to_the_owner(trader, trader2):
    raise_for(trader, message="earlier one")
    mine, theirs = page_socket(trader, "alerts"), page_socket(trader2, "alerts")

    async def scenario() -> None:
        assert (await mine.connect())[0]
        assert (await theirs.connect())[0]
        alert = await sync_to_async(raise_for)(trader, severity="high", message="Margin low")
        html = await mine.receive_from(timeout=3)
        assert 'id="alert-bell"' in html and 'hx-swap-oob="true"' in html
        assert 'data-count="2"' in html
        assert 'hx-swap-oob="beforeend:#toasts"' in html
        assert f'id="toast-{alert.pk}"' in html and "Margin low" in html
        assert 'id="alerts-refresh"' in html and 'hx-trigger="load"' in html
        assert await theirs.receive_nothing(timeout=0.3)

        await sync_to_async(alert_acknowledge)(user=trader, alert_id=alert.pk)
        html = await mine.receive_from(timeout=3)
        assert 'data-count="1"' in html and 'id="alerts-refresh"' in html
        await sync_to_async(alerts_acknowledge_all)(user=trader)
        html = await mine.receive_from(timeout=3)
        assert 'data-count="0"' in html
        assert '<div id="toasts" hx-swap-oob="innerHTML"></div>' in html
        await mine.disconnect()
        await theirs.disconnect()

    async_to_sync(scenario)()


def test_toasts_follow_the_users_preference(trader):
    trader.toast_min_severity = "high"
    trader.save()
    page = page_socket(trader)

    async def scenario() -> None:
        assert (await page.connect())[0]
        await sync_to_async(raise_for)(trader, severity="medium", message="quiet one")
        html = await page.receive_from(timeout=3)
        assert 'data-count="1"' in html
        assert "toasts" not in html and "quiet one" not in html
        await sync_to_async(raise_for)(trader, severity="critical", message="loud one")
        html = await page.receive_from(timeout=3)
        assert "loud one" in html and 'data-severity="critical"' in html
        assert "alerts-refresh" not in html  # the list lives on the Alerts page only
        await page.disconnect()

    async_to_sync(scenario)()
