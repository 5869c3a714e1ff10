"""The /v2/ edge's own rules, in-process: Alpaca's error bodies for the rate limit, the quota,
bad keys and unknown routes, metering of every call, viewers read-only, and its OpenAPI
document (kept apart from /api/schema/, whose error shape it does not share)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from metering.models import UsageRecord
from tests.trades.conftest import make_symbol
from trading_demo.models import ApiToken
from trading_demo.services import api_token_create

pytestmark = pytest.mark.django_db


def alpaca_client(user) -> APIClient:
    token, secret = api_token_create(user=user, name="bot")
    client = APIClient()
    client.credentials(HTTP_APCA_API_KEY_ID=token.key_id, HTTP_APCA_API_SECRET_KEY=secret)
    return client


def test_key_pair_halves_of_different_tokens_do_not_authenticate(trader):
    first, _ = api_token_create(user=trader, name="one")
    _, second_secret = api_token_create(user=trader, name="two")
    client = APIClient()
    client.credentials(HTTP_APCA_API_KEY_ID=first.key_id, HTTP_APCA_API_SECRET_KEY=second_secret)
    response = client.get("/v2/account")
    assert response.status_code == 401
    assert response.json() == {"code": 40110000, "message": "request is not authorized"}
    assert APIClient().get("/v2/account").json()["code"] == 40110000


def test_rate_limit_answers_in_alpacas_body(trader, monkeypatch):
    from trading_demo.throttling import ApiUserRateThrottle

    monkeypatch.setattr(ApiUserRateThrottle, "rate", "2/min", raising=False)
    client = alpaca_client(trader)
    responses = [client.get("/v2/clock") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json()["code"] == 42910000
    assert int(responses[2].headers["Retry-After"]) > 0


def test_every_call_is_metered_and_the_quota_refuses_in_alpacas_body(trader):
    make_symbol()
    client = alpaca_client(trader)
    assert client.get("/v2/assets").status_code == 200
    assert client.get("/v2/account").status_code == 200
    operations = list(UsageRecord.objects.filter(user=trader).values_list("operation", flat=True))
    assert sorted(operations) == ["api.call", "portfolio.get"]

    from metering.models import Quota

    Quota.objects.update_or_create(user=trader, defaults={"monthly_limit": len(operations)})
    refused = client.get("/v2/assets")
    assert refused.status_code == 429 and refused.json()["code"] == 42910000


def test_viewers_read_but_cannot_trade(viewer):
    make_symbol()
    client = alpaca_client(viewer)
    assert client.get("/v2/account").json()["trading_blocked"] is True
    refused = client.post(
        "/v2/orders",
        {"symbol": "ACME", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day"},
        format="json",
    )
    assert refused.status_code == 403 and refused.json()["code"] == 40310000


def test_unsupported_routes_and_orders_say_so(trader):
    make_symbol()
    client = alpaca_client(trader)
    watchlists = client.get("/v2/watchlists")
    assert watchlists.status_code == 404 and "not supported" in watchlists.json()["message"]
    notional = client.post(
        "/v2/orders",
        {
            "symbol": "ACME",
            "notional": "500",
            "side": "buy",
            "type": "market",
            "time_in_force": "day",
        },
        format="json",
    )
    assert notional.status_code == 422 and "notional" in notional.json()["message"]
    trailing = client.post(
        "/v2/orders",
        {
            "symbol": "ACME",
            "qty": 1,
            "side": "buy",
            "type": "trailing_stop",
            "trail_percent": "1",
            "time_in_force": "day",
        },
        format="json",
    )
    assert trailing.status_code == 422
    limit_without_price = client.post(
        "/v2/orders",
        {"symbol": "ACME", "qty": 1, "side": "buy", "type": "limit", "time_in_force": "day"},
        format="json",
    )
    assert limit_without_price.status_code == 422
    assert limit_without_price.json()["message"].startswith("limit_price:")
    bad_data = client.get("/v2/stocks/quotes/latest?symbols=NOPE")
    assert bad_data.status_code == 400 and bad_data.json()["code"] == 40010001


def test_v2_has_its_own_openapi_document(client_for, trader):
    api = client_for(trader)
    v2 = api.get("/v2/schema/?format=json")
    assert v2.status_code == 200
    paths = set(v2.json()["paths"])
    assert {
        "/v2/account",
        "/v2/orders",
        "/v2/orders/{order_id}",
        "/v2/orders:by_client_order_id",
        "/v2/positions/{symbol}",
        "/v2/stocks/bars",
        "/v2/stocks/quotes/latest",
        "/v2/stocks/snapshots",
    } <= paths
    assert not any(path.startswith("/api/") for path in paths)
    ours = api.get("/api/schema/?format=json")
    assert not any(path.startswith("/v2/") for path in ours.json()["paths"])


def test_key_id_is_shown_with_every_token(client_for, trader):
    api = client_for(trader)
    created = api.post("/api/auth/tokens", {"name": "bot"}, format="json").json()
    token = ApiToken.objects.get(pk=created["id"])
    assert created["key_id"] == token.key_id and created["secret_key"].startswith("td_")
    listed = api.get("/api/auth/tokens").json()["results"]
    assert [t["key_id"] for t in listed] == [token.key_id]
    assert "secret_key" not in listed[0]
