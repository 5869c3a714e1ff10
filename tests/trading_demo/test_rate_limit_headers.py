"""X-RateLimit-Limit/Remaining/Reset on API responses, next to Retry-After on a 429; one bucket
per user however many web processes count it."""

from __future__ import annotations

import time

import pytest
import requests
from rest_framework_simplejwt.tokens import RefreshToken

from tests.servers import Daphne
from trading_demo.throttling import ApiUserRateThrottle, LoginRateThrottle


@pytest.mark.django_db
def test_api_responses_count_down_the_limit(client_for, trader, monkeypatch):
    monkeypatch.setattr(ApiUserRateThrottle, "rate", "2/min", raising=False)
    client = client_for(trader)
    before = int(time.time())
    responses = [client.get("/api/auth/me") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r["X-RateLimit-Limit"] for r in responses] == ["2", "2", "2"]
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["1", "0", "0"]
    resets = {int(r["X-RateLimit-Reset"]) for r in responses}
    assert len(resets) == 1
    reset = resets.pop()
    assert before < reset <= before + 61
    # Retry-After on the refusal points at the same moment the window resets.
    retry_after = int(responses[2]["Retry-After"])
    assert 1 <= retry_after <= reset - before + 1
    assert responses[2].json()["details"]["retry_after"] == retry_after


@pytest.mark.django_db
def test_each_user_has_their_own_bucket(client_for, trader, trader2, monkeypatch):
    monkeypatch.setattr(ApiUserRateThrottle, "rate", "1/min", raising=False)
    assert client_for(trader).get("/api/auth/me").status_code == 200
    assert client_for(trader).get("/api/auth/me").status_code == 429
    other = client_for(trader2).get("/api/auth/me")
    assert other.status_code == 200
    assert other["X-RateLimit-Remaining"] == "0"


@pytest.mark.django_db
def test_sign_in_answers_carry_the_login_limit(api, trader, monkeypatch):
    monkeypatch.setattr(LoginRateThrottle, "rate", "4/min", raising=False)
    response = api.post(
        "/api/auth/login", {"email": trader.email, "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert (response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"]) == ("4", "3")


@pytest.mark.django_db
def test_sign_in_limit_ignores_forged_forwarded_for(api, trader, monkeypatch):
    monkeypatch.setattr(LoginRateThrottle, "rate", "3/min", raising=False)
    codes = [
        api.post(
            "/api/auth/refresh",
            {"refresh": "not-a-token"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_pages_have_no_rate_limit_headers(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_web_processes_share_one_bucket(redis_url, trader):
    token = str(RefreshToken.for_user(trader).access_token)
    # A day's window: the four requests cannot straddle a boundary and reset the count.
    env = {"REDIS_URL": redis_url, "API_RATE_LIMIT": "3/day"}
    webs = [Daphne(extra_env=env) for _ in range(2)]
    try:
        headers = {"Authorization": f"Bearer {token}"}
        answers = [
            requests.get(webs[n % 2].url + "/api/auth/me", headers=headers, timeout=10)
            for n in range(4)
        ]
    finally:
        for web in webs:
            web.stop()
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert len({r.headers["X-RateLimit-Reset"] for r in answers}) == 1
    assert int(answers[3].headers["Retry-After"]) >= 1
