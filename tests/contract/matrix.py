"""The access-control matrix's machinery: the routes of the URL conf, the objects a route names
(all the trader's), and one request as one role."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from alerts.models import PriceAlert
from conftest import jwt_for
from tests.alerts.conftest import raise_for
from tests.factories import UserFactory
from tests.oversight.flow import place_high
from tests.trades.conftest import make_symbol, set_quotes
from trading_demo.models import Role, User
from trading_demo.services import api_token_create, roles_sync

ROLES = ("anonymous", "viewer", "trader", "other_trader", "manager", "admin")
DRF_METHODS = ("get", "post", "put", "patch", "delete")


def routes() -> Iterator[tuple[str, Any]]:
    """Every route of the URL conf as its pattern text (`api/trades/<uuid:order_id>`)."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    yield from walk(get_resolver().url_patterns, "")


def drf_methods(callback: Any) -> set[str] | None:
    """The methods a DRF view answers, or None for a Django view."""
    view = getattr(callback, "cls", None)
    if not (isinstance(view, type) and issubclass(view, APIView)):
        return None
    return {m.upper() for m in DRF_METHODS if callable(getattr(view, m, None))}


def needs_fresh_approval(route: str) -> bool:
    return route.rstrip("/").endswith(("/approve", "/reject"))


def admin_model_routes() -> set[str]:
    """The admin site's per-model routes (changelist, add, change, delete, history, ...)."""
    prefixes = tuple(
        f"admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry
    )
    return {route for route, _ in routes() if route.startswith(prefixes)}


@dataclass
class World:
    """Two traders, a viewer, a manager and an admin; the objects routes name are the trader's."""

    users: dict[str, User]
    values: dict[str, str]


def build_world() -> World:
    roles_sync()  # the groups' admin permissions, as `manage.py seed_demo` sets them
    users = {
        "viewer": UserFactory(role=Role.VIEWER, email="vera@example.com"),
        "trader": UserFactory(role=Role.TRADER, email="tess@example.com"),
        "other_trader": UserFactory(role=Role.TRADER, email="theo@example.com"),
        "manager": UserFactory(role=Role.MANAGER, email="max@example.com"),
        "admin": UserFactory(role=Role.ADMIN, email="ada@example.com"),
    }
    symbol = make_symbol()
    set_quotes(symbol, bids=[("99.90", 1000)], asks=[("100.10", 1000)])
    trader = users["trader"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(trader)}")
    held = place_high(api)  # a HIGH order: pending approval, with its approval request
    bought = api.post(
        "/api/trades",
        {"symbol": "ACME", "type": "BUY", "quantity": 5, "order_type": "MARKET"},
        format="json",
    )
    assert bought.status_code == 201, bought.json()
    alert = raise_for(trader)
    price_alert = api.post(
        "/api/alerts",
        {"symbol": "ACME", "condition": "above", "threshold": "150.00"},
        format="json",
    ).json()
    assert PriceAlert.objects.filter(pk=price_alert["id"]).exists()
    token, _ = api_token_create(user=trader, name="script")
    values = {
        "order_id": held["id"],
        "approval_id": held["approval"]["id"],
        "price_alert_id": price_alert["id"],
        "alert_id": str(alert.pk),
        "token_id": str(token.pk),
        "user_id": str(trader.pk),
        "symbol": "ACME",
        "part": "book",
        "activity_type": "FILL",
        # The admin site's generic routes: the app index, "view on site" for the trader's user.
        "app_label": "trades",
        "content_type_id": str(ContentType.objects.get_for_model(User).pk),
        "object_id": str(trader.pk),
        "id": str(trader.pk),
    }
    return World(users=users, values=values)


def url_for(route: str, world: World) -> str:
    """The route with the trader's objects in it; catch-alls get a path nothing else answers."""
    fixed = {
        "admin/^(?P<app_label>": "admin/trades/",
        "admin/(?P<url>.*)$": "admin/no-such-page/",
        "api/^[\\s\\S]*$": "api/no-such-endpoint",
        "v2/^[\\s\\S]*$": "v2/no-such-endpoint",
    }
    for start, url in fixed.items():
        if route.startswith(start):
            return "/" + url

    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        # DELETE /api/alerts/{id} takes a price alert's id (what POST /api/alerts returned).
        if name == "alert_id" and ("price" in route or route == "api/alerts/<uuid:alert_id>"):
            name = "price_alert_id"
        return world.values[name]

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def fresh_approval(world: World) -> World:
    """Another held order of the trader's: a decision is final at the oversight service, which a
    rolled-back test transaction does not undo."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(world.users['trader'])}")
    held = place_high(api)
    values = {**world.values, "approval_id": held["approval"]["id"], "order_id": held["id"]}
    return World(users=world.users, values=values)


# Bodies for writes that take one: valid, so a refusal is about the role or the owner.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "api/trades"): {"symbol": "ACME", "type": "BUY", "quantity": 1},
    ("POST", "api/alerts"): {"symbol": "ACME", "condition": "below", "threshold": "50.00"},
    ("POST", "api/auth/tokens"): {"name": "matrix"},
    ("POST", "api/users"): {
        "email": "new@example.com",
        "password": "a-long-password",
        "role": "trader",
    },
    ("PUT", "api/users/<uuid:user_id>/role"): {"role": "viewer"},
    ("PATCH", "api/auth/me"): {"theme": "dark"},
    ("POST", "api/portfolio/reset"): {"confirm": True},
    ("POST", "api/metering/track"): {"operation": "api.call"},
    ("POST", "api/metering/estimate"): {"counts": {"api.call": 10}},
    ("POST", "api/approvals/<uuid:approval_id>/reject"): {"reason": "too big"},
    ("POST", "api/trades/<uuid:order_id>/replace"): {"quantity": 120},
    ("POST", "v2/orders"): {
        "symbol": "ACME",
        "qty": "1",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
    },
}


def request_as(role: str, method: str, route: str, world: World) -> int:
    """One request as `role`: JWT for the APIs, the session for pages and the admin site."""
    url = url_for(route, world)
    user = world.users.get(role)
    api_route = route.startswith(("api/", "v2/"))
    client: Client
    if api_route:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(user)}")
        body = BODIES.get((method, route))
        if body is None:
            response = client.generic(method, url)
        else:
            response = client.generic(
                method, url, data=json.dumps(body), content_type="application/json"
            )
    else:
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.generic(method, url)
    return response.status_code
