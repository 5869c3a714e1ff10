"""Helpers for the order-flow tests: orders of a known risk level against the default rules."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from tests.trades.conftest import order_body


def high_order(**overrides: Any) -> dict[str, Any]:
    """BUY 150 ACME at 100 resting: 15,000 USD is over the 10,000 approval threshold."""
    return order_body(
        quantity=150, order_type="LIMIT", price="100.00", time_in_force="GTC", **overrides
    )


def place_high(api: APIClient, **overrides: Any) -> dict[str, Any]:
    response = api.post("/api/trades", high_order(**overrides), format="json")
    assert response.status_code == 202, response.json()
    return response.json()  # type: ignore[no-any-return]
