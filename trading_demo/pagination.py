from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trading_demo.errors import ValidationFailed


class Cursor(CursorPagination):
    """Opaque cursor pages, newest first; `limit` up to 500.

    DRF quietly falls back to the default page size for a bad `limit`: that is a 400 here (a
    `limit` over 500 is read as 500, as DRF does). A
    cursor the API did not hand out names no page: a 404, as in DRF, that says what to send.
    """

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = "-created_at"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit() and digits):
            raise ValidationFailed(
                "limit: a whole number from 1 (pages hold at most 500).",
                details={"limit": ["a whole number, at least 1"]},
            )
        # A bigger page than the most is the most, as in DRF: the client asked for "all".
        return self.max_page_size if len(digits) > 6 else min(int(digits), self.max_page_size)

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise NotFound("No such page: follow a page's `next` or `previous` link.") from None


def cursor_page(
    *,
    request: Request,
    view: APIView,
    queryset: QuerySet[Any],
    output: type[serializers.BaseSerializer[Any]],
    ordering: str | None = None,
) -> Response:
    """One cursor page of `queryset` rendered with `output`: what every list endpoint returns
    (`results`, `next`, `previous`)."""
    paginator = Cursor()
    if ordering:
        paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(output(page, many=True).data)
