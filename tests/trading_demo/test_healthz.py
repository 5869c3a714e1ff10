from __future__ import annotations

import pytest

from tests.servers import free_port

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_everything_answers(client, metering, oversight_settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is True
    for service in ("metering", "oversight"):
        assert body["checks"][service] == {
            **body["checks"][service],
            "ok": True,
            "detail": "SERVING",
        }


def test_healthz_is_503_when_a_grpc_service_is_down(client, metering, oversight_settings):
    metering.stop()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["metering"]["ok"] is False
    metering.start()
    assert client.get("/healthz").json()["checks"]["metering"]["ok"] is True


def test_healthz_is_503_naming_the_part_that_is_down(client, settings):
    # A Redis channel layer on a port where nothing listens.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["channel_layer"]["ok"] is False
    assert body["checks"]["channel_layer"]["detail"]
    assert body["checks"]["database"]["ok"] is True


def test_status_lights_partial_shows_each_check(client, trader, metering, oversight_settings):
    client.force_login(trader)
    html = client.get("/status/").content.decode()
    assert "Database: up" in html
    assert "Channel layer: up" in html
