"""The WSGI app's two chains (trading_demo/lanes.py): a cookie-less API call skips the
browser's middlewares and is answered exactly as the full chain would answer it, rate limits,
lockouts, billing and every header included; a request with a cookie, or for a page, takes the
full chain. Driven through the real `LanedWSGIHandler`, as a WSGI server calls it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.middleware import csp
from django.test import RequestFactory
from django.utils.csp import CSP, build_policy
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from conftest import jwt_for
from metering.models import UsageRecord
from tests.factories import PASSWORD
from trading_demo import middleware as csp_middleware
from trading_demo.lanes import LanedWSGIHandler, in_api_lane
from trading_demo.models import User
from trading_demo.services import api_token_create

pytestmark = pytest.mark.django_db


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    lane: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture
def app() -> Iterator[LanedWSGIHandler]:
    # As Django's test client does: the request signals must not close the test's connection
    # (it holds the test's transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield LanedWSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(app: LanedWSGIHandler, method: str, path: str, body: Any = None, **headers: str) -> Answer:
    factory = RequestFactory()
    if body is None:
        request = factory.generic(method, path, **headers)
    else:
        request = factory.generic(
            method, path, json.dumps(body), content_type="application/json", **headers
        )
    environ = request.environ
    if "HTTP_COOKIE" not in headers:
        del environ["HTTP_COOKIE"]  # the factory sends its (empty) cookie jar on every request
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = dict(response_headers)

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Answer(started["status"], started["headers"], content, lane=in_api_lane(environ))


def bearer(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {jwt_for(user)}"}


COOKIE = {"HTTP_COOKIE": "theme=dark"}


def test_cookie_less_api_calls_take_the_lane_and_the_rest_the_full_chain() -> None:
    environ = {"PATH_INFO": "/api/auth/me"}
    assert in_api_lane(environ)
    assert in_api_lane({"PATH_INFO": "/v2/account"})
    assert not in_api_lane({**environ, "HTTP_COOKIE": "sessionid=x"})
    assert not in_api_lane({"PATH_INFO": "/portfolio/"})
    assert not in_api_lane({"PATH_INFO": "/apiary"})
    assert not in_api_lane({"PATH_INFO": "/admin/"})


def test_the_lane_is_the_full_chain_without_the_browser_middlewares_in_the_same_order() -> None:
    lane = django_settings.API_LANE_MIDDLEWARE
    browser_only = django_settings.BROWSER_ONLY_MIDDLEWARE
    assert browser_only <= set(django_settings.MIDDLEWARE)
    assert lane == [name for name in django_settings.MIDDLEWARE if name not in browser_only]
    # What every API answer carries is in both chains.
    for kept in (
        "django.middleware.security.SecurityMiddleware",
        "trading_demo.middleware.ContentSecurityPolicyMiddleware",
        "trading_demo.middleware.ApiBodyLimitMiddleware",
        "metering.billing.BillingMiddleware",
    ):
        assert kept in lane


def test_an_unrelated_cookie_changes_nothing_in_the_answer(
    app: LanedWSGIHandler, trader: User
) -> None:
    lane = call(app, "GET", "/api/auth/me", **bearer(trader))
    full = call(app, "GET", "/api/auth/me", **bearer(trader), **COOKIE)
    assert lane.lane and not full.lane
    assert lane.status == full.status == 200
    assert lane.json() == full.json()
    assert lane.json()["email"] == trader.email
    # The same headers, but for the ones that differ per request or come from a cookie only.
    per_request = {"X-Request-ID", "Vary", "Content-Length", "X-RateLimit-Remaining"}
    assert {k: v for k, v in lane.headers.items() if k not in per_request} == {
        k: v for k, v in full.headers.items() if k not in per_request
    }
    assert lane.headers["Content-Security-Policy"] == build_policy(django_settings.SECURE_CSP)
    assert lane.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in lane.headers
    # The lane's chain really answered: no session middleware, so no `Vary: Cookie`.
    assert "Cookie" in full.headers["Vary"]
    assert "Cookie" not in lane.headers["Vary"]
    # Both chains count against the one rate limit.
    remaining = int(lane.headers["X-RateLimit-Remaining"])
    assert int(full.headers["X-RateLimit-Remaining"]) == remaining - 1


def test_no_credentials_in_the_lane_is_401_in_the_shared_shape(app: LanedWSGIHandler) -> None:
    answer = call(app, "GET", "/api/auth/me")
    assert answer.lane
    assert answer.status == 401
    assert answer.json()["error"] == "not_authenticated"


def test_an_unknown_api_path_in_the_lane_is_404_in_the_shared_shape(
    app: LanedWSGIHandler,
) -> None:
    answer = call(app, "GET", "/api/no-such-thing")
    assert answer.lane
    assert answer.status == 404
    assert answer.json()["error"] == "not_found"


def test_a_host_not_allowed_is_refused_in_the_lane(app: LanedWSGIHandler, trader: User) -> None:
    answer = call(app, "GET", "/api/auth/me", HTTP_HOST="evil.example", **bearer(trader))
    assert answer.lane
    assert answer.status == 400


def test_bearer_logout_in_the_lane_revokes_the_refresh_token(
    app: LanedWSGIHandler, trader: User
) -> None:
    refresh = RefreshToken.for_user(trader)
    answer = call(
        app,
        "POST",
        "/api/auth/logout",
        {"refresh": str(refresh)},
        HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}",
    )
    assert answer.lane
    assert answer.status == 204
    assert BlacklistedToken.objects.filter(token__jti=refresh["jti"]).exists()


def test_login_lockout_holds_in_the_lane(app: LanedWSGIHandler, trader: User, settings) -> None:
    wrong = {"email": trader.email, "password": "not the password"}
    first = call(app, "POST", "/api/auth/login", wrong)
    assert first.lane
    assert first.status == 401
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        call(app, "POST", "/api/auth/login", wrong)
    right = call(app, "POST", "/api/auth/login", {"email": trader.email, "password": PASSWORD})
    assert right.status == 429
    assert right.json()["error"] == "rate_limited"
    assert right.headers["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert "token" not in right.json()


def test_a_script_signs_in_and_uses_its_token_in_the_lane(
    app: LanedWSGIHandler, trader: User
) -> None:
    signed_in = call(app, "POST", "/api/auth/login", {"email": trader.email, "password": PASSWORD})
    assert signed_in.lane
    assert signed_in.status == 200
    assert "Set-Cookie" not in signed_in.headers  # no session for a script
    token = signed_in.json()["token"]
    me = call(app, "GET", "/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status == 200
    assert me.json()["email"] == trader.email


def test_an_alpaca_key_pair_is_served_in_the_lane(app: LanedWSGIHandler, trader: User) -> None:
    token, secret = api_token_create(user=trader, name="bot")
    keys = {"HTTP_APCA_API_KEY_ID": token.key_id, "HTTP_APCA_API_SECRET_KEY": secret}
    account = call(app, "GET", "/v2/account", **keys)
    assert account.lane
    assert account.status == 200
    assert account.json()["status"] == "ACTIVE"
    refused = call(app, "GET", "/v2/account", HTTP_APCA_API_KEY_ID=token.key_id)
    assert refused.status == 401
    assert refused.json() == {"code": 40110000, "message": "request is not authorized"}


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_api_documents_are_served_in_the_lane(app: LanedWSGIHandler, path: str) -> None:
    answer = call(app, "GET", path)
    assert answer.lane
    assert answer.status == 200
    assert "Content-Security-Policy" in answer.headers


def test_a_billable_call_in_the_lane_is_billed(app: LanedWSGIHandler, trader: User) -> None:
    before = UsageRecord.objects.filter(user=trader, operation="portfolio.get").count()
    answer = call(app, "GET", "/api/portfolio", **bearer(trader))
    assert answer.lane
    assert answer.status == 200
    assert UsageRecord.objects.filter(user=trader, operation="portfolio.get").count() == (
        before + 1
    )
    assert "X-RateLimit-Remaining" in answer.headers


def test_the_browsable_api_answers_a_cookie_less_browser_with_the_policy(
    app: LanedWSGIHandler, trader: User
) -> None:
    answer = call(app, "GET", "/api/auth/me", HTTP_ACCEPT="text/html", **bearer(trader))
    assert answer.lane
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert trader.email in answer.body.decode()
    assert answer.headers["Content-Security-Policy"] == build_policy(django_settings.SECURE_CSP)


def test_a_page_with_a_cookie_takes_the_full_chain(app: LanedWSGIHandler) -> None:
    answer = call(app, "GET", "/login/", **COOKIE)
    assert not answer.lane
    assert answer.status == 200
    assert "csrftoken" in answer.headers.get("Set-Cookie", "")


# The policy is built once per settings dict and sent as Django would build it.


def test_the_policy_built_once_is_the_one_django_builds(settings, rf) -> None:
    middleware = csp_middleware.ContentSecurityPolicyMiddleware(lambda request: HttpResponse())

    def policy() -> str:
        request = rf.get("/")
        middleware.process_request(request)
        return middleware.process_response(request, HttpResponse())["Content-Security-Policy"]

    settings.SECURE_CSP = {"default-src": ["'self'"], "img-src": ["'self'", "data:"]}
    assert policy() == policy() == build_policy(settings.SECURE_CSP)
    # A new setting gets its own policy, not the one built before.
    settings.SECURE_CSP = {"default-src": ["'none'"]}
    assert policy() == "default-src 'none'"


def test_a_views_own_policy_is_sent_as_it_asks(rf) -> None:
    middleware = csp_middleware.ContentSecurityPolicyMiddleware(lambda request: HttpResponse())
    response = HttpResponse()
    response._csp_config = {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}  # type: ignore[attr-defined]
    answered = middleware.process_response(rf.get("/"), response)
    assert answered["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_a_view_that_turns_the_policy_off_sends_none(rf) -> None:
    middleware = csp_middleware.ContentSecurityPolicyMiddleware(lambda request: HttpResponse())
    response = HttpResponse()
    response._csp_config = {}  # type: ignore[attr-defined]
    answered = middleware.process_response(rf.get("/"), response)
    assert "Content-Security-Policy" not in answered


def test_a_policy_that_names_the_nonce_gets_one_per_response(settings, rf) -> None:
    settings.SECURE_CSP = {"script-src": [CSP.SELF, CSP.NONCE]}
    middleware = csp_middleware.ContentSecurityPolicyMiddleware(lambda request: HttpResponse())
    policies = set()
    for _ in range(2):
        request = rf.get("/")
        middleware.process_request(request)
        str(csp.get_nonce(request))  # as a template that uses the nonce does
        policy = middleware.process_response(request, HttpResponse())["Content-Security-Policy"]
        assert "'nonce-" in policy
        policies.add(policy)
    assert len(policies) == 2
