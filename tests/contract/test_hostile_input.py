"""Hostile input gets a 4xx in the shared error shape and changes nothing (issue 12 item 6):
deep JSON, decimals that only Python reads as numbers, chunked bodies past the 64 KB limit."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from alerts.models import PriceAlert
from conftest import jwt_for
from tests.trades.conftest import order_body
from trades.models import Order

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000
# Digits Python's Decimal() reads as 60.
ARABIC_SIXTY = "\u0666\u0660"
FULLWIDTH_SIXTY = "\uff16\uff10"


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == code
    return body


@pytest.mark.parametrize(
    "path", ["/api/trades", "/api/alerts", "/api/metering/estimate", "/api/auth/login"]
)
def test_5000_nested_arrays_are_a_400_on_every_api_route(client_for, trader, path):
    response = client_for(trader).post(path, DEEP, content_type="application/json")
    body = assert_error_shape(response, 400, "validation_failed")
    assert "nested deeper than" in body["message"]


def test_nesting_inside_strings_does_not_count(client_for, trader, acme):
    note = "[" * 150
    response = client_for(trader).post(
        "/api/alerts",
        {"symbol": "ACME", "condition": "above", "threshold": "120.00", "note": note},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["note"] == note


@pytest.mark.parametrize(
    "price",
    [
        ARABIC_SIXTY,
        FULLWIDTH_SIXTY,
        "6e1",
        "60e0",
        "1E2",
        " 60",
        "60 ",
        "+60",
        "-60",
        "60.",
        ".5",
        "0x3C",
        "NaN",
        "Infinity",
        "60_000",
        60,
        60.5,
        True,
        None,
        ["60"],
    ],
)
def test_a_limit_price_is_plain_ascii_digits(client_for, trader, acme, price):
    body = order_body(order_type="LIMIT", time_in_force="GTC", price=price)
    response = client_for(trader).post("/api/trades", body, format="json")
    details = assert_error_shape(response, 400, "validation_failed")["details"]
    assert "price" in details
    assert not Order.objects.exists()


@pytest.mark.parametrize("threshold", [ARABIC_SIXTY, FULLWIDTH_SIXTY, "6e1", 60])
def test_a_price_alert_threshold_is_plain_ascii_digits(client_for, trader, acme, threshold):
    response = client_for(trader).post(
        "/api/alerts",
        {"symbol": "ACME", "condition": "above", "threshold": threshold},
        format="json",
    )
    assert "threshold" in assert_error_shape(response, 400, "validation_failed")["details"]
    assert not PriceAlert.objects.exists()


@pytest.mark.parametrize("threshold", ["60", "60.5", "60.50", "0060.05"])
def test_plain_amounts_are_accepted(client_for, trader, acme, threshold):
    response = client_for(trader).post(
        "/api/alerts",
        {"symbol": "ACME", "condition": "above", "threshold": threshold},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert PriceAlert.objects.get().threshold == Decimal(threshold)


def wsgi_call(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """One request through Django's WSGI handler as a WSGI server gives a chunked body: the
    de-chunked stream, a Transfer-Encoding header and no Content-Length."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        **headers,
    }
    captured: list[str] = []

    def start_response(status: str, response_headers: list, exc_info: object = None) -> None:
        captured.append(status)

    chunks = WSGIHandler()(environ, start_response)
    content = b"".join(chunks)
    return int(captured[0].split()[0]), json.loads(content)


def test_a_chunked_body_over_64_kb_is_a_413_under_wsgi(transactional_db, trader, acme):
    note = "x" * (settings.API_MAX_BODY_BYTES + 10)
    payload = json.dumps({"symbol": "ACME", "condition": "above", "threshold": "1", "note": note})
    status, body = wsgi_call(
        "/api/alerts", payload.encode(), {"HTTP_AUTHORIZATION": f"Bearer {jwt_for(trader)}"}
    )
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert set(body) == {"error", "message", "details"}
    assert not PriceAlert.objects.exists()


def test_a_small_chunked_body_is_read_not_dropped_under_wsgi(transactional_db, trader, acme):
    payload = json.dumps({"symbol": "ACME", "condition": "above", "threshold": "120.00"})
    status, body = wsgi_call(
        "/api/alerts", payload.encode(), {"HTTP_AUTHORIZATION": f"Bearer {jwt_for(trader)}"}
    )
    assert status == 201, body
    assert PriceAlert.objects.get().threshold == 120


def test_a_declared_body_over_64_kb_is_a_413(client_for, trader):
    big = json.dumps({"counts": {"api.call": 1}, "pad": "x" * settings.API_MAX_BODY_BYTES})
    response = client_for(trader).post(
        "/api/metering/estimate", big, content_type="application/json"
    )
    assert_error_shape(response, 413, "payload_too_large")


def _chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    yield b'{"email": "a@example.com", "password": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@pytest.mark.django_db(transaction=True)
def test_chunked_bodies_on_a_real_daphne(daphne):
    """Through a real server: over the limit is a 413, under it is parsed (a wrong password is a
    401, where a dropped body would be a 400 for missing fields). No open test transaction: the
    server records the failed sign-in in the same database."""
    too_big = requests.post(
        daphne.url + "/api/auth/login",
        data=_chunks(settings.API_MAX_BODY_BYTES + 8192),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "payload_too_large"
    small = requests.post(
        daphne.url + "/api/auth/login",
        data=_chunks(100, size=10),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert small.status_code == 401, small.text
    assert small.json()["error"] == "not_authenticated"


# What Decimal() reads as 100: Arabic-Indic and full-width digits.
ARABIC_HUNDRED = "\u0661\u0660\u0660"
FULLWIDTH_HUNDRED = "\uff11\uff10\uff10"


def alpaca_order(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "symbol": "ACME",
        "qty": "5",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "limit_price": "100.50",
    }
    return body | overrides


@pytest.mark.parametrize(
    "field, value",
    [
        ("limit_price", ARABIC_HUNDRED),
        ("limit_price", FULLWIDTH_HUNDRED),
        ("limit_price", "1e2"),
        ("qty", "\u0665"),  # Arabic-Indic five
        ("qty", "5e0"),
    ],
)
def test_the_alpaca_api_takes_plain_digits_too(client_for, trader, acme, field, value):
    response = client_for(trader).post("/v2/orders", alpaca_order(**{field: value}), format="json")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["message"].startswith(f"{field}:")
    assert not Order.objects.exists()


def test_the_alpaca_api_still_takes_plain_strings_and_json_numbers(client_for, trader, acme):
    """alpaca-py sends quantities and prices as JSON numbers (10.0)."""
    api = client_for(trader)
    assert api.post("/v2/orders", alpaca_order(), format="json").status_code == 200
    numbers = alpaca_order(qty=5.0, limit_price=100.5, client_order_id="numbers")
    response = api.post("/v2/orders", numbers, format="json")
    assert response.status_code == 200, response.content
    assert sorted(Order.objects.values_list("price", flat=True)) == [Decimal("100.50")] * 2


@pytest.mark.parametrize(
    "path", ["/api/alerts/%0A/acknowledge", "/api/trades/%0Ax", "/api/no%0Asuch"]
)
def test_a_newline_in_an_api_path_is_a_json_404(client_for, trader, path):
    """Found by schemathesis: Django's HTML 404 page answered where the catch-all's `.*` did
    not match across the newline."""
    response = client_for(trader).put(path)
    assert response["Content-Type"] == "application/json"
    assert_error_shape(response, 404, "not_found")
