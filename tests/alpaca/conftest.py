"""The Alpaca-compatible API against a real Daphne (HTTP and the /stream socket) on the test
database, driven by the real alpaca-py SDK."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.trading.client import TradingClient

from conftest import jwt_for
from trading_demo.models import User


@dataclass(frozen=True)
class KeyPair:
    key_id: str
    secret_key: str
    token_id: str


def key_pair_for(server_url: str, user: User, name: str = "bot") -> KeyPair:
    """Create a personal API token through the API, as a user would, and take the key pair it
    shows once."""
    response = requests.post(
        server_url + "/api/auth/tokens",
        json={"name": name},
        headers={"Authorization": f"Bearer {jwt_for(user)}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["secret_key"] == body["token"]
    return KeyPair(body["key_id"], body["secret_key"], body["id"])


@pytest.fixture
def keys(daphne, trader) -> KeyPair:
    return key_pair_for(daphne.url, trader)


@pytest.fixture
def trading(daphne, keys) -> TradingClient:
    return TradingClient(keys.key_id, keys.secret_key, paper=True, url_override=daphne.url)


@pytest.fixture
def market_data(daphne, keys) -> StockHistoricalDataClient:
    return StockHistoricalDataClient(keys.key_id, keys.secret_key, url_override=daphne.url)
