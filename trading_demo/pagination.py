from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Cursor(CursorPagination):
    """Opaque cursor pages, newest first; `limit` up to 500."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = "-created_at"


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
