"""OpenAPI schema tweaks: names for nested serializers, and our API-token authentication."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        # Every API class nests its own InputSerializer/OutputSerializer (STYLE.md): name the
        # component after the API class, `OrderCreateApi.InputSerializer` -> `OrderCreateInput`.
        qualname = type(serializer).__qualname__
        outer, _, inner = qualname.rpartition(".")
        if outer:
            return outer.removesuffix("Api") + inner.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)  # type: ignore[no-any-return]


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "trading_demo.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (td_…) created on the Settings page.",
        }
