from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse

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
