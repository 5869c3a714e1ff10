"""Brute-force protection for every sign-in path, on django-axes.

Every path that checks a password goes through `django.contrib.auth.authenticate` (the API's
`/api/auth/login`, the `/login/` page, DRF's `/api-auth/login/`, the admin's `/admin/login/`),
and axes' backend, first in AUTHENTICATION_BACKENDS, refuses a locked-out account or address
before any password is checked. Failures are counted per account and, separately, per client
address (trading_demo/clientip.py); LOGIN_FAILURE_LIMIT failures in either bucket lock it for
LOGIN_COOLOFF_MINUTES, and every refused attempt during a lockout counts again and so restarts
it. Every failure is written to the audit log. Nothing here runs on an ordinary authenticated
request: JWT, API-token and session authentication never call `authenticate`.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.request import Request

from trading_demo.audit import audit_login_failure
from trading_demo.errors import error_body

logger = logging.getLogger(__name__)

ACCOUNT_MAX_LENGTH = 254


def login_account(request: HttpRequest | Request | None, credentials: dict[str, Any] | None) -> str:
    """The account an attempt names, as the lockout counts it: trimmed and lower-cased, so
    `Trader@Example.com` and `trader@example.com` are one account (axes' AXES_USERNAME_CALLABLE).

    Django's auth forms and our API both call `authenticate(username=…)`; the form field is
    `username` on the pages and `email` in the API's body.
    """
    value: Any = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("username") or data.get("email")
    if not isinstance(value, str):
        return ""
    return value.strip().lower()[:ACCOUNT_MAX_LENGTH]


def lockout_seconds(request: HttpRequest | Request | None = None) -> int:
    cool_off = get_cool_off(request)  # type: ignore[arg-type]
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_message(request: HttpRequest | Request | None = None) -> str:
    minutes = max(1, round(lockout_seconds(request) / 60))
    return (
        "Too many failed sign-ins for this account or from this address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def is_locked_out(request: HttpRequest | Request) -> bool:
    """Did axes refuse (or just lock) the attempt this request made?"""
    return bool(getattr(request, "axes_locked_out", False))


LOCKOUT_STATUS = 429


def lockout_error(request: HttpRequest | Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's answer to a locked-out sign-in (body, headers), sent with LOCKOUT_STATUS: 429
    `rate_limited` in the shared shape with `Retry-After`, as for any limit. Not 403: the client
    may try again once the cool-off has passed, and 429 tells a client library exactly that."""
    seconds = lockout_seconds(request)
    body = error_body(
        "rate_limited",
        lockout_message(request),
        {"retry_after": seconds, "reason": "too_many_failed_logins"},
    )
    return body, {"Retry-After": str(seconds)}


def lockout_response(
    request: HttpRequest, original_response: object = None, credentials: object = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: what a locked-out sign-in page (ours, DRF's, the admin's) shows.
    The arguments after `request` are ignored: axes' async middleware passes them shifted."""
    if request.path.startswith("/api/"):
        body, headers = lockout_error(request)
        return JsonResponse(body, status=LOCKOUT_STATUS, headers=headers)
    seconds = lockout_seconds(request)
    response = render(
        request,
        "registration/locked_out.html",
        {"message": lockout_message(request)},
        status=LOCKOUT_STATUS,
    )
    response["Retry-After"] = str(seconds)
    return response


class AuditedAxesHandler(AxesDatabaseHandler):
    """axes' database handler (attempts shared by every web process through the database), plus
    an audit record and a log line for every failed sign-in."""

    def user_login_failed(
        self,
        sender: Any,
        credentials: dict[str, Any],
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        locked_out = is_locked_out(request)
        event = audit_login_failure(
            account=login_account(request, credentials),
            address=getattr(request, "axes_ip_address", None),
            path=request.path[:200],
            locked_out=locked_out,
        )
        # The account stays out of the log line; the audit record (admin: Audit events) has it.
        logger.warning(
            "Failed sign-in on %s from %s%s (audit event %s)",
            event.data["path"],
            event.data["address"] or "an unknown address",
            ", locked out" if locked_out else "",
            event.pk,
        )
