from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from channels.layers import channel_layers
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory
from tests.metering.conftest import metering, metering_server  # noqa: F401  (shared)
from tests.oversight.conftest import (  # noqa: F401  (shared)
    OversightServer,
    oversight_server,
    oversight_settings,
    oversight_shared,
)
from tests.servers import Daphne
from tests.trades.conftest import make_symbol
from trades.models import Symbol
from trading_demo.models import Role, User


@pytest.fixture(autouse=True)
def _oversight_for_orders(settings, oversight_shared: OversightServer) -> Iterator[None]:  # noqa: F811
    """Orders are scored by a real oversight server; this one is shared by the run."""
    settings.OVERSIGHT_GRPC_URL = oversight_shared.target
    yield


@pytest.fixture(autouse=True)
def _fresh_cache_and_layer() -> Iterator[None]:
    # Throttle counters live in the cache and groups in the channel layer: no test sees
    # another's.
    cache.clear()
    channel_layers.backends.clear()  # the next get_channel_layer() builds a fresh one
    yield


@pytest.fixture
def trader(db: None) -> User:
    return UserFactory(role=Role.TRADER, email="tess@example.com")


@pytest.fixture
def trader2(db: None) -> User:
    return UserFactory(role=Role.TRADER, email="theo@example.com")


@pytest.fixture
def manager(db: None) -> User:
    return UserFactory(role=Role.MANAGER, email="max@example.com")


@pytest.fixture
def admin_user(db: None) -> User:
    return UserFactory(role=Role.ADMIN, email="ada@example.com")


@pytest.fixture
def viewer(db: None) -> User:
    return UserFactory(role=Role.VIEWER, email="vera@example.com")


def jwt_for(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for():
    """An API client signed in as the given user with a JWT, as an API client would be."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(user)}")
        return client

    return make


@pytest.fixture
def acme(db: None) -> Symbol:
    """A symbol at a round 100.00 with no quotes: tests set the book they need."""
    return make_symbol()


@pytest.fixture(scope="session")
def daphne(
    django_db_setup: None,
    django_db_blocker: object,
    oversight_shared: OversightServer,  # noqa: F811
) -> Iterator[Daphne]:
    """One real Daphne (HTTP + WebSocket) on the test database for the whole session."""
    # Every browser test signs in from 127.0.0.1 against this one server: the sign-in limit
    # per address (20 a minute) would refuse the thirtieth of them in a fast run. That limit is
    # tested in-process (tests/trading_demo/test_login_lockout.py, test_auth_api.py).
    server = Daphne(
        extra_env={
            "OVERSIGHT_GRPC_URL": oversight_shared.target,
            "LOGIN_RATE_LIMIT": "10000/min",
        }
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("REDIS_URL is not set: the Redis scale-out path is tested in CI's second run")
    return url
