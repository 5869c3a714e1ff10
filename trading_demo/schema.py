"""The OpenAPI schema, made to say what the API really answers (ARCHITECTURE.md "HTTP API").

What every operation shares is derived here, once, from the view: the error responses (the
shared error shape, for each status the operation can return), the cursor pages and their
query parameters. What only the operation knows (a 409, a 422, a 503) it declares with
`errors(...)` in its `@extend_schema`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from trading_demo.fields import StrictCharField
from trading_demo.pagination import Cursor
from trading_demo.permissions import ReadOnlyOrCanTrade
from trading_demo.serializers import Serializer

# Marks an `OpenApiParameter` (in its `extensions`) that the view reads as absent when empty.
EMPTY_IS_ABSENT = "x-empty-is-absent"


class ErrorSerializer(Serializer):
    """The one error shape (trading_demo/errors.py)."""

    error = serializers.CharField(help_text="A stable code, e.g. `validation_failed`.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.DictField(help_text="Per-field messages or other specifics.")


# The codes each status carries (ARCHITECTURE.md), for the response descriptions.
ERROR_CODES: dict[int, str] = {
    400: "`validation_failed`: the request is malformed or a field is invalid (see `details`).",
    401: "`not_authenticated`: no credentials, or they are wrong, expired or revoked.",
    403: "`permission_denied`: the role does not allow it (or the CSRF check failed).",
    404: "`not_found`: no such object, or it is another user's.",
    409: "`conflict`, `not_cancelable`, `already_decided` or `idempotency_conflict`.",
    413: "`payload_too_large`: the body is over 64 KB.",
    422: "`insufficient_funds`, `insufficient_position`, `symbol_halted` or `risk_rejected`.",
    429: "`rate_limited` (with `Retry-After`) or `quota_exceeded` (billable calls).",
    503: "`service_unavailable`: a service it needs is down; retry later.",
}


def error_response(status: int) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=ERROR_CODES[status])


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses only this operation can give, for its `@extend_schema(responses=)`."""
    return {status: error_response(status) for status in statuses}


class _Results(Serializer):
    """Marks a short list (`{"results": [...]}`)."""


class _Page(Serializer):
    """Marks a cursor page so its operation gets the `cursor` and `limit` parameters."""


def page_of(output: type[serializers.Serializer]) -> serializers.Serializer:
    """A cursor page of `output`: what `trading_demo.pagination.cursor_page` returns."""
    name = _component_name(output) + "Page"
    fields = {
        "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
        "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null."),
        "results": output(many=True),
    }
    return type(name, (_Page,), fields)()  # type: ignore[no-any-return]


def results_of(output: type[serializers.Serializer]) -> serializers.Serializer:
    """A short bounded list, not paged: `{"results": [...]}`."""
    name = _component_name(output) + "List"
    return type(name, (_Results,), {"results": output(many=True)})()  # type: ignore[no-any-return]


def _component_name(output: type[serializers.Serializer]) -> str:
    outer, _, inner = output.__qualname__.rpartition(".")
    if outer:
        return outer.removesuffix("Api") + inner.removesuffix("Serializer")
    return output.__name__.removesuffix("Serializer")


@dataclass(frozen=True)
class OneOfBy:
    """A request where one field's value decides which of some other fields it takes: an order's
    `order_type` decides whether it has a `price` and a `stop_price`. The serializer checks it
    and names it as `schema_one_of`; the schema then says it as a `oneOf`, one object per value,
    in which the fields the value needs are required and the others absent or null."""

    field: str
    needs: Mapping[str, tuple[str, ...]]
    default: str

    @property
    def conditional(self) -> set[str]:
        return {name for names in self.needs.values() for name in names}

    def missing_and_extra(self, attrs: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """Of the conditional fields: those the value needs but are not given, and those given
        that it does not take."""
        needed = self.needs[attrs.get(self.field, self.default)]
        missing = [name for name in needed if attrs.get(name) is None]
        extra = [n for n in sorted(self.conditional - set(needed)) if attrs.get(n) is not None]
        return missing, extra


def one_of_by_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS, after the enum hook (which would merge the variants' one-value
    enums into one component): each request marked by `OneOfBy` becomes its `oneOf`."""
    for schema in result.get("components", {}).get("schemas", {}).values():
        rule = schema.pop(ONE_OF_KEY, None)
        if rule is None:
            continue
        variants = []
        for value, needed in rule["needs"].items():
            properties = copy.deepcopy(schema["properties"])
            properties[rule["field"]] = {"type": "string", "enum": [value]}
            for name in set(rule["conditional"]) - set(needed):
                properties[name] = {"nullable": True, "enum": [None]}
            for name in needed:
                properties[name].pop("nullable", None)
            required = set(schema.get("required", ())) | set(needed)
            if value != rule["default"]:
                required.add(rule["field"])
            variants.append(
                {
                    "type": "object",
                    "title": f"{rule['field']} {value}",
                    "properties": properties,
                    "required": sorted(required),
                }
            )
        for key in ("type", "properties", "required"):
            schema.pop(key, None)
        schema["oneOf"] = variants
    return result


ONE_OF_KEY = "x-one-of-by"


class AutoSchema(BaseAutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        # Every API class nests its own InputSerializer/OutputSerializer (STYLE.md): name the
        # component after the API class, `OrderCreateApi.InputSerializer` -> `OrderCreateInput`.
        if "." in type(serializer).__qualname__:
            return _component_name(type(serializer))
        return super().get_serializer_name(serializer, direction)  # type: ignore[no-any-return]

    def _map_serializer(
        self, serializer: Any, direction: Any, bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        rule = getattr(serializer, "schema_one_of", None)
        if direction == "request" and isinstance(rule, OneOfBy):
            schema[ONE_OF_KEY] = {
                "field": rule.field,
                "needs": {str(value): list(names) for value, names in rule.needs.items()},
                "default": str(rule.default),
                "conditional": sorted(rule.conditional),
            }
        at_least_one = getattr(serializer, "schema_at_least_one_of", None)
        if direction == "request" and at_least_one:
            # "Change at least one of these": each branch names one, given and not null.
            branches = []
            for name in at_least_one:
                field_schema = dict(schema["properties"][name])
                field_schema.pop("nullable", None)
                branches.append({"required": [name], "properties": {name: field_schema}})
            schema["anyOf"] = branches
        return schema

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and type(field) in (serializers.CharField, StrictCharField)
            and field.trim_whitespace
            and not field.allow_blank
            and "pattern" not in schema
        ):
            # DRF trims the value before its blank check: all whitespace is blank.
            schema["pattern"] = r"\S"
        return schema

    def get_operation_id(self) -> str:
        # A page or a short list is an object around the list, but still a list operation.
        operation_id: str = super().get_operation_id()
        if self.method == "GET" and isinstance(self._success_serializer(), _Page | _Results):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        # DRF reads an empty optional field of a query serializer (and an empty cursor) as not
        # given: `?symbol=` lists every symbol's orders.
        empty_is_absent = {"cursor"}
        for override in self.get_override_parameters():
            if isinstance(override, type) and issubclass(override, serializers.Serializer):
                empty_is_absent |= set(override().fields)
        for parameter in parameters:
            marked = parameter.pop(EMPTY_IS_ABSENT, False)
            if parameter["in"] == "query" and (marked or parameter["name"] in empty_is_absent):
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_pagination_parameters(self) -> list[dict[str, Any]]:
        if not isinstance(self._success_serializer(), _Page):
            return super()._get_pagination_parameters()  # type: ignore[no-any-return]
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The opaque cursor from a page's `next` or `previous` link.",
                "schema": {"type": "string", "minLength": 1},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": (
                    f"Page size, {Cursor.page_size} by default; a bigger one than "
                    f"{Cursor.max_page_size} is read as {Cursor.max_page_size}."
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
        ]

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in sorted(self._error_statuses()):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_response(status), str(status), direction=direction
                )
        return responses

    def _success_serializer(self) -> Any:
        declared = self.get_response_serializers()
        if isinstance(declared, dict):
            declared = declared.get(200)
        if isinstance(declared, OpenApiResponse):
            declared = declared.response
        return declared

    def _error_statuses(self) -> set[int]:
        """What any operation of this kind can answer besides its own outcomes: every call can
        be unauthenticated or over the rate limit; input can be invalid; a path can name
        nothing (or another user's object); a role can be refused."""
        statuses = {401, 429}
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer()
        if has_body:
            statuses |= {400, 413}
        parameters = self._get_parameters()
        if any(p["in"] == "query" for p in parameters):
            statuses.add(400)
        if any(p["in"] == "path" for p in parameters):
            statuses.add(404)
        if any(p["in"] == "query" and p["name"] == "cursor" for p in parameters):
            statuses.add(404)  # a cursor the API did not hand out
        if self._role_restricted() or self._csrf_checked():
            statuses.add(403)
        return statuses

    def _role_restricted(self) -> bool:
        for permission in self.view.get_permissions():
            if type(permission) in (AllowAny, IsAuthenticated):
                continue
            if isinstance(permission, ReadOnlyOrCanTrade) and self.method in SAFE_METHODS:
                continue
            return True
        return False

    def _csrf_checked(self) -> bool:
        # A browser session's writes must carry the CSRF token: DRF answers 403 without it.
        return self.method not in SAFE_METHODS and any(
            isinstance(auth, SessionAuthentication) for auth in self.view.get_authenticators()
        )


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "trading_demo.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (td_…) created on the Settings page.",
        }


class UserJWTScheme(SimpleJWTScheme):
    """Our JWT authentication is simplejwt's with a cheaper user read: the same scheme."""

    target_class = "trading_demo.authentication.UserJWTAuthentication"
