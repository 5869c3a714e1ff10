"""Alerts API (ARCHITECTURE.md "HTTP API"): list and acknowledge alerts; create, list, delete and
re-arm price alerts (the only alerts a client creates; the others are made by the system)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import AlertType, PriceCondition
from alerts.selectors import alert_get, alerts_for, price_alert_get, price_alerts_for
from alerts.services import (
    alert_acknowledge,
    alerts_acknowledge_all,
    price_alert_create,
    price_alert_delete,
    price_alert_rearm,
)
from trades.models import Symbol
from trading_demo.errors import NotFound
from trading_demo.fields import StrictCharField, money_input, symbol_input
from trading_demo.models import Severity
from trading_demo.pagination import cursor_page
from trading_demo.permissions import ReadOnlyOrCanTrade
from trading_demo.schema import errors, page_of
from trading_demo.serializers import Serializer


class AlertOutput(Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    severity = serializers.CharField()
    message = serializers.CharField()
    symbol = serializers.CharField()
    # DRF's metaclass takes declared fields off the class, so this does not hide `.data`.
    data = serializers.JSONField()  # type: ignore[assignment]
    audience = serializers.CharField()
    created_at = serializers.DateTimeField()
    acknowledged = serializers.BooleanField(source="is_acknowledged")
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.UUIDField(source="acknowledged_by_id", allow_null=True)


class PriceAlertOutput(Serializer):
    id = serializers.UUIDField()
    symbol = serializers.CharField(source="symbol_id")
    condition = serializers.CharField()
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2)
    note = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    triggered_at = serializers.DateTimeField(allow_null=True)
    triggered_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class PriceAlertInput(Serializer):
    """A price alert as a client sends it; the page's form goes through the same checks."""

    symbol = symbol_input()
    condition = serializers.ChoiceField(choices=PriceCondition.values)
    threshold = money_input()
    note = StrictCharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_symbol(self, value: str) -> str:
        if not Symbol.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"Unknown symbol {value}.")
        return value


class AlertFilters(Serializer):
    acknowledged = serializers.ChoiceField(choices=["true", "false"], required=False)
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    type = serializers.ChoiceField(choices=AlertType.values, required=False)

    def to_filters(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        if "acknowledged" in data:
            data["acknowledged"] = data["acknowledged"] == "true"
        return data


class AlertListCreateApi(APIView):
    permission_classes = [ReadOnlyOrCanTrade]

    @extend_schema(
        parameters=[AlertFilters],
        responses={200: page_of(AlertOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = AlertFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return cursor_page(
            request=request,
            view=self,
            queryset=alerts_for(user=request.user, **filters.to_filters()),  # type: ignore[arg-type]
            output=AlertOutput,
        )

    @extend_schema(
        request=PriceAlertInput,
        responses={201: PriceAlertOutput},
        description="Create a price alert (the only kind of alert a client creates).",
    )
    def post(self, request: Request) -> Response:
        data = PriceAlertInput(data=request.data)
        data.is_valid(raise_exception=True)
        price_alert = price_alert_create(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(PriceAlertOutput(price_alert).data, status=status.HTTP_201_CREATED)


class AlertAcknowledgeApi(APIView):
    # Acknowledging one's own alerts is not trading: viewers may do it too.
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: AlertOutput})
    def put(self, request: Request, alert_id: UUID) -> Response:
        alert_acknowledge(user=request.user, alert_id=alert_id)  # type: ignore[arg-type]
        alert = alert_get(user=request.user, alert_id=alert_id)  # type: ignore[arg-type]
        return Response(AlertOutput(alert).data)


class AlertAcknowledgeAllApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: {"type": "object", "properties": {"acknowledged": {"type": "integer"}}}},
    )
    def post(self, request: Request) -> Response:
        count = alerts_acknowledge_all(user=request.user)  # type: ignore[arg-type]
        return Response({"acknowledged": count})


class AlertDeleteApi(APIView):
    """`DELETE /api/alerts/{id}`: the id of a price alert (what `POST /api/alerts` returned)."""

    permission_classes = [ReadOnlyOrCanTrade]

    @extend_schema(responses={204: None, **errors(409)})
    def delete(self, request: Request, alert_id: UUID) -> Response:
        price_alert_delete(user=request.user, alert_id=alert_id)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class PriceAlertListApi(APIView):
    permission_classes = [ReadOnlyOrCanTrade]

    @extend_schema(responses={200: page_of(PriceAlertOutput)})
    def get(self, request: Request) -> Response:
        return cursor_page(
            request=request,
            view=self,
            queryset=price_alerts_for(user=request.user),  # type: ignore[arg-type]
            output=PriceAlertOutput,
        )


class PriceAlertDetailApi(APIView):
    permission_classes = [ReadOnlyOrCanTrade]

    @extend_schema(responses={200: PriceAlertOutput})
    def get(self, request: Request, alert_id: UUID) -> Response:
        price_alert = price_alert_get(user=request.user, alert_id=alert_id)  # type: ignore[arg-type]
        if price_alert is None:
            raise NotFound("No such price alert.")
        return Response(PriceAlertOutput(price_alert).data)

    @extend_schema(responses={204: None, **errors(409)})
    def delete(self, request: Request, alert_id: UUID) -> Response:
        price_alert_delete(user=request.user, alert_id=alert_id)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class PriceAlertRearmApi(APIView):
    permission_classes = [ReadOnlyOrCanTrade]

    # 400: re-arming would pass the most armed alerts a user may have.
    @extend_schema(request=None, responses={200: PriceAlertOutput, **errors(400)})
    def post(self, request: Request, alert_id: UUID) -> Response:
        price_alert = price_alert_rearm(user=request.user, alert_id=alert_id)  # type: ignore[arg-type]
        return Response(PriceAlertOutput(price_alert).data)
