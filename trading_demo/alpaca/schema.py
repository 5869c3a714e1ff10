"""OpenAPI: the Alpaca routes have their own document (`/v2/schema/`); `/api/schema/` keeps to
the project's own API, whose error shape they do not share."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


def exclude_v2(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[Any]:
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith("/v2/")]


class AlpacaKeyScheme(OpenApiAuthenticationExtension):
    target_class = "trading_demo.alpaca.authentication.AlpacaKeyAuthentication"
    name = ["alpacaKeyId", "alpacaSecretKey"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {"type": "apiKey", "in": "header", "name": "APCA-API-KEY-ID"},
            {"type": "apiKey", "in": "header", "name": "APCA-API-SECRET-KEY"},
        ]
