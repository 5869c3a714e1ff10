"""DRF's content negotiation, answered at once for what API clients send: no Accept header,
`*/*` or exactly the first renderer's media type, with no `?format=`. That is what DRF itself
picks for them (the first renderer); parsing the header into media types and matching them
against every renderer cost 5 % of the CPU of `GET /api/auth/me` (py-spy, `make bench-load`).
Anything else (a browser's Accept, `?format=api`, a parameter on the media type) goes through
DRF's own negotiation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        if renderers and format_suffix is None:
            meta = request._request.META
            first = renderers[0]
            accept = meta.get("HTTP_ACCEPT", "*/*")
            # No query string, no `?format=`: parsing an empty one into a QueryDict costs more.
            format_asked = bool(meta.get("QUERY_STRING")) and (
                self.settings.URL_FORMAT_OVERRIDE in request.query_params
            )
            if accept in ("*/*", first.media_type) and not format_asked:
                return first, str(first.media_type)
        selected: tuple[BaseRenderer, str] = super().select_renderer(
            request, renderers, format_suffix
        )
        return selected
