"""Brute force on every sign-in path: after LOGIN_FAILURE_LIMIT wrong passwords the right one is
refused too, per account and per client address, with X-Forwarded-For believed only from a
trusted proxy; the lockout ends after the cool-off or when an operator resets it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from tests.factories import PASSWORD
from trading_demo.models import AuditEvent, User

pytestmark = pytest.mark.django_db

API = "/api/auth/login"
PATHS = [API, "/login/", "/api-auth/login/", "/admin/login/"]
# The attack: 30 wrong passwords, then the right one, on each path.
ATTACK_ATTEMPTS = 30


def attempt(client: Client, path: str, email: str, password: str, **extra: str):
    if path == API:
        body = {"email": email, "password": password}
        return client.post(path, body, content_type="application/json", **extra)
    return client.post(path, {"username": email, "password": password}, **extra)


def signed_in(client: Client, path: str, response) -> bool:
    if path == API:
        return response.status_code == 200 and "token" in response.json()
    return "_auth_user_id" in client.session


def limited(response) -> bool:
    if response.status_code == 429:
        return True
    return "Too many sign-in attempts" in response.content.decode()


def assert_locked_out(client: Client, path: str, response, settings) -> None:
    assert not signed_in(client, path, response)
    assert response.status_code == 429
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert response["Retry-After"] == str(cool_off)
    if path == API:
        body = response.json()
        assert body["error"] == "rate_limited"
        assert body["message"].startswith("Too many failed sign-ins")
        assert body["details"] == {"retry_after": cool_off, "reason": "too_many_failed_logins"}
    else:
        html = response.content.decode()
        assert "Too many failed sign-ins for this account or from this address." in html
        assert "Try again in 15 minutes." in html


@pytest.mark.parametrize("path", PATHS)
def test_right_password_works_below_the_limit(admin_user: User, settings, path: str) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = attempt(client, path, admin_user.email, "wrong-password")
        assert not signed_in(client, path, response)
        assert response.status_code in (200, 401)
    response = attempt(client, path, admin_user.email, PASSWORD)
    assert signed_in(client, path, response)


@pytest.mark.parametrize("path", PATHS)
def test_after_the_limit_the_right_password_is_refused(
    admin_user: User, settings, path: str
) -> None:
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    answers = [attempt(client, path, admin_user.email, "wrong-password") for _ in range(limit)]
    assert all(not signed_in(client, path, r) for r in answers)
    # The attempt that reaches the limit already says so.
    assert_locked_out(client, path, answers[-1], settings)
    assert_locked_out(client, path, attempt(client, path, admin_user.email, PASSWORD), settings)
    # Every failure is in the audit log, on the account, with the path and the address.
    events = AuditEvent.objects.filter(action="auth.login_failed").order_by("at")
    assert events.count() == limit + 1
    assert {e.target_id for e in events} == {str(admin_user.pk)}
    assert {e.data["path"] for e in events} == {path}
    assert {e.data["address"] for e in events} == {"127.0.0.1"}
    assert [e.data["locked_out"] for e in events] == [False] * (limit - 1) + [True, True]


@pytest.mark.parametrize("path", PATHS)
def test_thirty_wrong_passwords_with_forged_addresses_never_open_the_door(
    admin_user: User, settings, path: str
) -> None:
    """The issue's reproduction: a new X-Forwarded-For per guess no longer buys a new bucket."""
    client = Client()
    answers = [
        attempt(
            client,
            path,
            admin_user.email,
            f"guess-{n}",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
        for n in range(ATTACK_ATTEMPTS)
    ]
    assert not any(signed_in(client, path, r) for r in answers)
    # From the limit on, every guess is refused unchecked: locked out (429), or, past
    # LOGIN_RATE_LIMIT requests a minute on our own login paths, throttled.
    limit = settings.AXES_FAILURE_LIMIT
    assert all(limited(r) for r in answers[limit - 1 :])
    assert not any(limited(r) for r in answers[: limit - 1])
    right = attempt(client, path, admin_user.email, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert not signed_in(client, path, right)
    assert limited(right)


def test_account_is_locked_whatever_address_the_guesses_come_from(trader: User, settings) -> None:
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), API, trader.email, "wrong")
    client = Client(REMOTE_ADDR="10.0.1.1")
    assert_locked_out(client, API, attempt(client, API, trader.email, PASSWORD), settings)
    # The account is counted however its email is written.
    upper = attempt(client, API, trader.email.upper(), PASSWORD)
    assert_locked_out(client, API, upper, settings)


def test_address_is_locked_whatever_accounts_it_guesses(trader: User, trader2: User, settings):
    guesser = Client(REMOTE_ADDR="10.0.0.9")
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(guesser, API, f"nobody{n}@example.com", "wrong")
    assert_locked_out(guesser, API, attempt(guesser, API, trader.email, PASSWORD), settings)
    # Someone else, from another address, signs in as usual.
    other = Client(REMOTE_ADDR="10.0.0.10")
    assert attempt(other, API, trader2.email, PASSWORD).status_code == 200


def test_forged_forwarded_for_from_an_untrusted_peer_is_the_same_bucket(
    trader: User, settings
) -> None:
    assert settings.TRUSTED_PROXIES == []
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(
            client, API, f"nobody{n}@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        )
    fresh = attempt(client, API, trader.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.200")
    assert_locked_out(client, API, fresh, settings)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_forwarded_for_from_a_trusted_proxy_is_the_client(trader: User, settings) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    proxy = Client()  # the test client's peer address is 127.0.0.1: our proxy
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(proxy, API, f"nobody{n}@example.com", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    # Another client behind the same proxy is its own bucket and signs in.
    other = attempt(proxy, API, trader.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == 200
    # The locked client stays locked, also when it writes a fake address in front: the proxy
    # appends what it saw, and only that counts.
    again = attempt(
        proxy, API, trader.email, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7"
    )
    assert_locked_out(proxy, API, again, settings)


def test_lockout_ends_after_the_cool_off(trader: User, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, API, trader.email, "wrong")
    assert attempt(client, API, trader.email, PASSWORD).status_code == 429
    # Let the cool-off pass: every counted failure moves back by it.
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert attempt(client, API, trader.email, PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("command", "argument"),
    [("axes_reset_username", "tess@example.com"), ("axes_reset_ip", "127.0.0.1")],
)
def test_operator_lifts_a_lockout(trader: User, settings, command: str, argument: str) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/login/", trader.email, "wrong")
    assert attempt(client, "/login/", trader.email, PASSWORD).status_code == 429
    call_command(command, argument)
    response = attempt(client, "/login/", trader.email, PASSWORD)
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_locked_out_page_is_readable_and_links_back(trader: User, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = attempt(client, "/login/", trader.email, "wrong")
    html = response.content.decode()
    assert 'role="alert"' in html
    assert 'href="/login/"' in html


def test_ordinary_authenticated_requests_run_no_lockout_queries(client_for, trader, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Even with the address locked, signed-in clients carry on, and nothing of axes is read.
    guesser = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(guesser, API, f"nobody{n}@example.com", "wrong")
    session = Client()
    session.force_login(trader)
    with CaptureQueriesContext(connection) as queries:
        assert client_for(trader).get("/api/auth/me").status_code == 200
        assert session.get("/api/auth/me").status_code == 200
    assert queries.captured_queries
    assert not [q["sql"] for q in queries.captured_queries if "axes_" in q["sql"]]
