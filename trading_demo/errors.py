"""Domain errors and the one handler that turns every API error into the shared shape:
`{"error": "<code>", "message": "<text>", "details": {...}}`."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the product said no. Services raise these; the API maps them to HTTP."""

    code: str = "conflict"
    status_code: int = status.HTTP_409_CONFLICT

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationFailed(DomainError):
    code = "validation_failed"
    status_code = status.HTTP_400_BAD_REQUEST


class NotFound(DomainError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND


class Forbidden(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN


class Conflict(DomainError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def _field_details(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def _flatten(value: Any) -> Any:
    if isinstance(value, list):
        return [_flatten(item) for item in value]
    if isinstance(value, dict):
        return {key: _flatten(item) for key, item in value.items()}
    return str(value)


def _first_message(details: dict[str, Any]) -> str:
    for field, messages in details.items():
        first = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(first, dict):
            return f"{field}: invalid."
        label = "" if field == "non_field_errors" else f"{field}: "
        return f"{label}{first}"
    return "Invalid input."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER. Unexpected errors become a 500 in the same shape (and roll the
    transaction back) rather than an HTML page."""
    # Imported here: rest_framework.views loads the throttle classes from settings, and the
    # billing throttle imports this module.
    from rest_framework.views import set_rollback

    set_rollback()
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        details = _field_details(exc.detail)
        body = error_body("validation_failed", _first_message(details), details)
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError):
        body = error_body("validation_failed", f"Malformed request body: {exc.detail}")
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        body = error_body(
            "validation_failed",
            f"{exc.detail} Send JSON with Content-Type: application/json.",
            {"content_type": [str(exc.detail)]},
        )
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        body = error_body("not_authenticated", _auth_message(exc.detail))
        return Response(body, status=status.HTTP_401_UNAUTHORIZED, headers=_auth_header(context))
    if isinstance(exc, exceptions.PermissionDenied):
        return Response(error_body("permission_denied", str(exc.detail)), status=403)
    if isinstance(exc, exceptions.NotFound):
        return Response(error_body("not_found", str(exc.detail)), status=404)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return Response(error_body("method_not_allowed", str(exc.detail)), status=405)
    if isinstance(exc, exceptions.NotAcceptable):
        return Response(error_body("not_acceptable", str(exc.detail)), status=406)
    if isinstance(exc, exceptions.Throttled):
        wait = int(getattr(exc, "wait", None) or 1)
        headers["Retry-After"] = str(wait)
        body = error_body(
            "rate_limited",
            f"Too many requests. Retry in {wait} s.",
            {"retry_after": wait},
        )
        return Response(body, status=status.HTTP_429_TOO_MANY_REQUESTS, headers=headers)
    if isinstance(exc, exceptions.APIException):
        return Response(error_body(exc.default_code, str(exc.detail)), status=exc.status_code)

    logger.exception("Unhandled API error", exc_info=exc)
    return Response(
        error_body("server_error", "An unexpected error occurred; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _auth_message(detail: Any) -> str:
    # simplejwt's InvalidToken carries a dict (detail, code, messages); str() of it is a repr.
    if isinstance(detail, dict):
        return str(detail.get("detail") or "Invalid credentials.")
    return str(detail)


def _auth_header(context: dict[str, Any]) -> dict[str, str]:
    view = context.get("view")
    request = context.get("request")
    if view is not None and request is not None:
        value = view.get_authenticate_header(request)
        if value:
            return {"WWW-Authenticate": value}
    return {}


class Unprocessable(DomainError):
    code = "unprocessable"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


class InsufficientFunds(Unprocessable):
    code = "insufficient_funds"


class InsufficientPosition(Unprocessable):
    code = "insufficient_position"


class SymbolHalted(Unprocessable):
    code = "symbol_halted"


class NotCancelable(Conflict):
    code = "not_cancelable"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS


class RiskRejected(Unprocessable):
    """The oversight service scored the order CRITICAL: it is refused, with the reasons."""

    code = "risk_rejected"
