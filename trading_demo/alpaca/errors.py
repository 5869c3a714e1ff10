"""Alpaca's error body, `{"code": 40010001, "message": "..."}`, for every error under `/v2/`.

The shared handler (trading_demo/errors.py) decides what an error is; this one only says it in
Alpaca's words: Alpaca's status for that kind of refusal and its numeric code.
"""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from trading_demo.errors import api_exception_handler

# Our error code -> (HTTP status, Alpaca code). Alpaca refuses orders the account cannot
# afford, shares it does not hold and (here) risk it will not take with 403; input it cannot
# use with 422; a request it cannot parse with 400.
ALPACA_ERRORS: dict[str, tuple[int, int]] = {
    "validation_failed": (422, 40010001),
    "not_authenticated": (401, 40110000),
    "permission_denied": (403, 40310000),
    "insufficient_funds": (403, 40310000),
    "insufficient_position": (403, 40310000),
    "risk_rejected": (403, 40310000),
    "symbol_halted": (403, 40310000),
    "not_found": (404, 40410000),
    "method_not_allowed": (405, 40510000),
    "not_acceptable": (406, 40610000),
    "not_cancelable": (422, 42210000),
    "conflict": (422, 42210000),
    "already_decided": (422, 42210000),
    "idempotency_conflict": (422, 40010001),
    "quota_exceeded": (429, 42910000),
    "rate_limited": (429, 42910000),
    "service_unavailable": (503, 50310000),
    "invalid_symbol": (400, 40010001),
    "unprocessable": (422, 42210000),
}
PARSE_ERROR = (400, 40010000)
SERVER_ERROR = (500, 50010000)


def alpaca_error(status: int, code: int, message: str, **extra: Any) -> Response:
    return Response({"code": code, "message": message, **extra}, status=status)


def alpaca_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    shared = api_exception_handler(exc, context)
    body = shared.data or {}
    kind = body.get("error", "")
    if kind == "validation_failed" and str(body.get("message", "")).startswith("Malformed"):
        status, code = PARSE_ERROR
    else:
        status, code = ALPACA_ERRORS.get(kind, SERVER_ERROR)
    response = alpaca_error(status, code, body.get("message", ""))
    # Retry-After of a throttle, WWW-Authenticate of a 401.
    for header in ("Retry-After", "WWW-Authenticate"):
        if header in shared:
            response[header] = shared[header]
    return response
