"""With REDIS_URL, web runs as several processes: an event published by one Daphne reaches a
socket held by another."""

from __future__ import annotations

import pytest
from websockets.sync.client import connect

from tests.factories import PASSWORD
from tests.servers import Daphne, browser_session, cookie_header

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def two_webs(redis_url):
    servers = [Daphne(extra_env={"REDIS_URL": redis_url}) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def test_event_from_one_web_process_reaches_socket_on_another(two_webs, trader, trader2):
    web_a, web_b = two_webs
    on_a = browser_session(web_a.url, trader.email, PASSWORD)
    # Sessions live in the shared database, so the same cookie is good on both processes.
    headers = {"Cookie": cookie_header(on_a), "Origin": web_b.url}
    other = browser_session(web_b.url, trader2.email, PASSWORD)
    other_headers = {"Cookie": cookie_header(other), "Origin": web_b.url}
    with (
        connect(web_b.ws_url + "/ws/ui/", additional_headers=headers, open_timeout=5) as page,
        connect(
            web_b.ws_url + "/ws/ui/", additional_headers=other_headers, open_timeout=5
        ) as other_page,
    ):
        response = on_a.post(
            web_a.url + "/settings/",
            data={"theme": "dark", "csrfmiddlewaretoken": on_a.cookies["csrftoken"]},
            headers={"Referer": web_a.url + "/settings/"},
            timeout=5,
        )
        assert response.status_code == 200
        fragment = page.recv(timeout=5)
        assert 'data-theme-sync="dark"' in fragment
        with pytest.raises(TimeoutError):
            other_page.recv(timeout=0.5)


def test_healthz_reports_the_redis_layer(two_webs):
    import requests

    body = requests.get(two_webs[0].url + "/healthz", timeout=5).json()
    assert body["checks"]["channel_layer"] == {
        **body["checks"]["channel_layer"],
        "ok": True,
        "detail": "RedisPubSubChannelLayer",
    }
