"""Metering API: usage, costs, quota (free to read), tracking and the cost estimator."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metering.selectors import (
    PERIODS,
    estimate,
    estimated_monthly_cost,
    usage_records_for_month,
    usage_summary,
)
from metering.services import quota_status, usage_track
from trading_demo.csvexport import csv_response
from trading_demo.errors import ValidationFailed
from trading_demo.fields import StrictIntegerField
from trading_demo.permissions import CanTrade
from trading_demo.schema import EMPTY_IS_ABSENT
from trading_demo.serializers import Serializer

OPERATIONS = list(settings.METERING_PRICES)
# A month from 1970-01 to 9999-12 (months after the current one are refused too: by the clock).
MONTH_PATTERN = r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$"


class LineOutput(Serializer):
    type = serializers.CharField()
    count = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=6)
    cost = serializers.DecimalField(max_digits=14, decimal_places=3)


class UsageOutput(Serializer):
    period = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    total_operations = serializers.IntegerField()
    total_cost = serializers.DecimalField(max_digits=14, decimal_places=3)
    breakdown = LineOutput(many=True)
    pending = serializers.IntegerField()
    delivered = serializers.IntegerField()


class QuotaOutput(Serializer):
    limit = serializers.IntegerField()
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    utilization_pct = serializers.DecimalField(max_digits=6, decimal_places=1)
    state = serializers.CharField()
    reset_at = serializers.DateTimeField()


def _uid(request: Request) -> UUID:
    return request.user.pk  # type: ignore[return-value]  # authenticated: never None


def _period(request: Request) -> str:
    period = request.query_params.get("period", "month")
    if period not in PERIODS:
        raise ValidationFailed(
            f"period: one of {', '.join(PERIODS)}.", details={"period": ["invalid"]}
        )
    return period


class UsageApi(APIView):
    billable = None

    @extend_schema(
        parameters=[OpenApiParameter("period", str, enum=list(PERIODS))],
        responses={200: UsageOutput},
    )
    def get(self, request: Request) -> Response:
        summary = usage_summary(user_id=_uid(request), period=_period(request))
        return Response(UsageOutput(summary).data)


class CostsOutput(Serializer):
    period = serializers.CharField()
    breakdown = LineOutput(many=True)
    total_cost = serializers.CharField()
    estimated_monthly_cost = serializers.CharField()
    prices = serializers.DictField(child=serializers.CharField())


class TrackOutput(Serializer):
    event_id = serializers.UUIDField()
    operation = serializers.CharField()
    quantity = serializers.IntegerField()
    cost = serializers.CharField()
    quota = QuotaOutput()


class EstimateOutput(Serializer):
    breakdown = LineOutput(many=True)
    total_cost = serializers.CharField()


class CostsApi(APIView):
    billable = None

    @extend_schema(responses={200: CostsOutput})
    def get(self, request: Request) -> Response:
        summary = usage_summary(user_id=_uid(request), period="month")
        return Response(
            {
                "period": "month",
                "breakdown": LineOutput(summary.breakdown, many=True).data,
                "total_cost": f"{summary.total_cost:.3f}",
                "estimated_monthly_cost": str(estimated_monthly_cost(summary)),
                "prices": settings.METERING_PRICES,
            }
        )


class QuotaApi(APIView):
    billable = None

    @extend_schema(responses={200: QuotaOutput})
    def get(self, request: Request) -> Response:
        return Response(QuotaOutput(quota_status(user_id=_uid(request))).data)


class TrackApi(APIView):
    """Record a billable operation for yourself (scripts that meter their own work)."""

    billable = {"POST": ""}  # the tracked operation is the charge
    permission_classes = [CanTrade]  # viewers never write

    class InputSerializer(Serializer):
        operation = serializers.ChoiceField(choices=OPERATIONS)
        quantity = StrictIntegerField(min_value=1, max_value=1000, default=1)

    @extend_schema(request=InputSerializer, responses={201: TrackOutput})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = usage_track(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(
            {
                "event_id": str(record.pk),
                "operation": record.operation,
                "quantity": record.quantity,
                "cost": f"{record.cost:.3f}",
                "quota": QuotaOutput(quota_status(user_id=_uid(request))).data,
            },
            status=status.HTTP_201_CREATED,
        )


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            operation: {"type": "integer", "minimum": 0, "maximum": 100_000_000}
            for operation in OPERATIONS
        },
        "additionalProperties": False,
    }
)
class CountsField(serializers.DictField):
    """How many of each operation: only the priced operations."""


class EstimateApi(APIView):
    billable = None

    class InputSerializer(Serializer):
        counts = CountsField(child=StrictIntegerField(min_value=0, max_value=100_000_000))

        def validate_counts(self, value: dict[str, int]) -> dict[str, int]:
            unknown = sorted(set(value) - set(OPERATIONS))
            if unknown:
                raise serializers.ValidationError(f"Unknown operation(s): {', '.join(unknown)}.")
            return value

    @extend_schema(request=InputSerializer, responses={200: EstimateOutput})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lines, total = estimate(data.validated_data["counts"])
        return Response(
            {"breakdown": LineOutput(lines, many=True).data, "total_cost": f"{total:.3f}"}
        )


STATEMENT_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
FIRST_STATEMENT_MONTH = (1970, 1)


def _statement_month(raw: str | None) -> datetime:
    """The first instant of the month `raw` names (YYYY-MM, ASCII digits), from 1970-01 to the
    current month: later months have no statement yet, and the month after 9999-12 cannot be
    written as a date at all. Anything else is a 400, never a 500."""
    now = datetime.now(UTC)
    if not raw:
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    match = STATEMENT_MONTH.fullmatch(raw)
    if match is None or not 1 <= int(match[2]) <= 12:
        raise ValidationFailed(
            "month: use YYYY-MM, for example 2026-01.", details={"month": ["invalid"]}
        )
    month = (int(match[1]), int(match[2]))
    if not FIRST_STATEMENT_MONTH <= month <= (now.year, now.month):
        raise ValidationFailed(
            f"month: statements cover 1970-01 to {now:%Y-%m}.", details={"month": ["out of range"]}
        )
    return datetime(*month, 1, tzinfo=UTC)


class StatementApi(APIView):
    """One month's usage records as CSV (`?month=YYYY-MM`, default this month)."""

    billable = None

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "month",
                {"type": "string", "pattern": MONTH_PATTERN},  # type: ignore[arg-type]
                description="YYYY-MM, from 1970-01 to the current month; empty or absent: "
                "the current month",
                extensions={EMPTY_IS_ABSENT: True},
            )
        ],
        responses={(200, "text/csv"): str},
    )
    def get(self, request: Request) -> Any:
        month = _statement_month(request.query_params.get("month"))
        records = usage_records_for_month(user_id=_uid(request), month_start=month)
        return csv_response(
            f"usage-{month:%Y-%m}.csv",
            ["time", "operation", "quantity", "unit_price", "cost", "status", "event_id"],
            (
                [
                    r.occurred_at.isoformat(),
                    r.operation,
                    r.quantity,
                    r.unit_price,
                    r.cost,
                    r.status,
                    r.pk,
                ]
                for r in records.iterator()
            ),
        )
