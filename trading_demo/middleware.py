from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from trading_demo.errors import error_body


class ApiBodyLimitMiddleware:
    """Refuse API bodies over API_MAX_BODY_BYTES before anything parses them.

    DRF reads the request stream itself and so bypasses DATA_UPLOAD_MAX_MEMORY_SIZE.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") or request.path.startswith("/slack/"):
            limit = settings.API_MAX_BODY_BYTES
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > limit:
                return JsonResponse(
                    error_body(
                        "validation_failed",
                        f"Request body too large: at most {limit // 1024} KB.",
                        {"body": [f"max {limit} bytes"]},
                    ),
                    status=400,
                )
        return self.get_response(request)
