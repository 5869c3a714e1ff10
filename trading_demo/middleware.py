from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware import csp
from django.utils.csp import CSP, build_policy

from trading_demo.errors import error_body


class ApiBodyLimitMiddleware:
    """Refuse API bodies over API_MAX_BODY_BYTES (413) before anything parses them.

    DRF reads the request stream itself and so bypasses DATA_UPLOAD_MAX_MEMORY_SIZE. A chunked
    body has no Content-Length: Django would hand DRF an empty stream (and DRF treat the request
    as bodiless), so it is read here, at most one byte past the limit, and passed on with its
    real length.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") or request.path.startswith("/slack/"):
            limit = settings.API_MAX_BODY_BYTES
            declared = request.META.get("CONTENT_LENGTH") or ""
            if declared:
                try:
                    length = int(declared)
                except ValueError:
                    return _refused(400, "Content-Length is not a number.")
                if length < 0:
                    return _refused(400, "Content-Length is not a number.")
                if length > limit:
                    return _too_large(limit)
            elif _is_chunked(request):
                body = _raw_stream(request).read(limit + 1)
                if len(body) > limit:
                    return _too_large(limit)
                request._stream = io.BytesIO(body)  # type: ignore[attr-defined]
                request.META["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)


def _is_chunked(request: HttpRequest) -> bool:
    # WSGI servers pass the header on; Daphne drops it but gives the body without a length.
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding or not isinstance(request, WSGIRequest)


def _raw_stream(request: HttpRequest) -> Any:
    """The body as the server received it: under WSGI Django wraps the input in a stream limited
    to Content-Length (0 here); under ASGI the stream is the whole spooled body."""
    if isinstance(request, WSGIRequest):
        return request.environ["wsgi.input"]
    return request._stream  # type: ignore[attr-defined]


def _too_large(limit: int) -> JsonResponse:
    return _refused(
        413,
        f"Request body too large: at most {limit // 1024} KB.",
        {"body": [f"max {limit} bytes"]},
        code="payload_too_large",
    )


def _refused(
    status: int,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    code: str = "validation_failed",
) -> JsonResponse:
    return JsonResponse(error_body(code, message, details or {"body": [message]}), status=status)


class ContentSecurityPolicyMiddleware(csp.ContentSecurityPolicyMiddleware):
    """Django's CSP middleware with the settings' policies built once. Ours names no nonce (no
    inline scripts at all), so the header is the same for every response; building it from the
    settings again cost 3 % of a small API call. A policy that names the nonce, and a view's
    own `_csp_config`, are built per response, as Django does."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        for header, name, attribute in (
            (CSP.HEADER_ENFORCE, "SECURE_CSP", "_csp_config"),
            (CSP.HEADER_REPORT_ONLY, "SECURE_CSP_REPORT_ONLY", "_csp_ro_config"),
        ):
            config: Any = getattr(response, attribute, _UNSET)
            policy = None
            if config is _UNSET:
                config = getattr(settings, name)
                policy = _settings_policy(name, config)
            # Django's rules: a header the view set stays; an empty config sends none.
            if not config or header in response:
                continue
            if policy is None:
                policy = build_policy(config, csp.get_nonce(request))
            response.headers[str(header)] = policy
        return response


_UNSET = object()

# Per setting: the config it was built from (its identity: a test's override_settings passes a
# new dict) and its policy, or None when the policy names the nonce.
_built: dict[str, tuple[Any, str | None]] = {}


def _settings_policy(name: str, config: Any) -> str | None:
    known = _built.get(name)
    if known is not None and known[0] is config:
        return known[1]
    uses_nonce = bool(config) and any(
        isinstance(values, list | tuple | set) and CSP.NONCE in values for values in config.values()
    )
    policy = None if uses_nonce or not config else build_policy(config)
    _built[name] = (config, policy)
    return policy
