"""Quota thresholds: one alert and one `quota:warning` per threshold per month."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from alerts.models import Alert
from conftest import jwt_for
from metering.models import Quota
from metering.services import usage_record
from trading_demo.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def fill_to(user, count: int) -> None:
    for _ in range(count):
        usage_record(user_id=user.pk, operation="api.call")


def test_crossing_80_percent_alerts_once_and_warns_on_the_socket(trader, trader2):
    Quota.objects.create(user=trader, monthly_limit=100)
    fill_to(trader, 79)
    token = jwt_for(trader)

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/")
        await socket.connect()
        await socket.send_json_to({"type": "auth", "token": token})
        await socket.receive_json_from(timeout=2)
        await socket.send_json_to({"type": "subscribe", "channel": "metering"})
        await socket.receive_json_from(timeout=2)
        await sync_to_async(usage_record)(user_id=trader.pk, operation="api.call")
        event = await socket.receive_json_from(timeout=3)
        assert event["event"] == "quota:warning"
        assert (event["data"]["threshold"], event["data"]["used"]) == (80, 80)
        await sync_to_async(usage_record)(user_id=trader.pk, operation="api.call")
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    async_to_sync(scenario)()
    alerts = Alert.objects.filter(owner=trader, type="quota")
    assert alerts.count() == 1
    assert alerts.get().data["threshold"] == 80
    assert not Alert.objects.filter(owner=trader2).exists()


def test_95_and_100_percent_alert_once_each_and_100_blocks(client_for, trader, acme):
    Quota.objects.create(user=trader, monthly_limit=20)
    fill_to(trader, 18)
    usage_record(user_id=trader.pk, operation="api.call")  # 19 = 95 %
    usage_record(user_id=trader.pk, operation="api.call")  # 20 = 100 %
    thresholds = sorted(a.data["threshold"] for a in Alert.objects.filter(owner=trader))
    assert thresholds == [80, 95, 100]
    api = client_for(trader)
    assert api.get("/api/market/symbols").status_code == 429
    assert api.get("/api/metering/quota").json()["state"] == "exceeded"
    assert Alert.objects.filter(owner=trader).count() == 3
