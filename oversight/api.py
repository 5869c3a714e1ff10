"""Approvals API: managers list the requests and decide them; traders see their own."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oversight.models import ApprovalRequest, ApprovalState, DecisionChannel
from oversight.selectors import approval_get, approvals_for
from oversight.services.decisions import approval_decide
from oversight.services.requests import REASON_MAX_LENGTH
from trading_demo.errors import NotFound
from trading_demo.fields import StrictCharField, symbol_input
from trading_demo.pagination import cursor_page
from trading_demo.permissions import IsManager
from trading_demo.schema import errors, page_of
from trading_demo.serializers import Serializer


class ApprovalOutput(Serializer):
    id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    trader = serializers.EmailField(source="trader.email")
    symbol = serializers.CharField(source="symbol_id")
    type = serializers.CharField(source="side")
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=14, decimal_places=2)
    notional = serializers.DecimalField(max_digits=16, decimal_places=2)
    risk_level = serializers.CharField()
    risk_score = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())
    portfolio_snapshot = serializers.DictField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_by = serializers.EmailField(source="decided_by.email", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    decided_via = serializers.CharField()
    order_status = serializers.CharField(source="order.status")

    def to_representation(self, instance: ApprovalRequest) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.decided_by_id is None:
            data["decided_by"] = None
        return data


class ApprovalFilters(Serializer):
    state = serializers.ChoiceField(choices=ApprovalState.choices, required=False)
    symbol = symbol_input(required=False)
    trader_id = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)


class ApprovalListApi(APIView):
    """Managers and admins see every request; anyone else only those for their own orders."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[ApprovalFilters], responses={200: page_of(ApprovalOutput)})
    def get(self, request: Request) -> Response:
        filters = ApprovalFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return cursor_page(
            request=request,
            view=self,
            queryset=approvals_for(user=request.user, **filters.validated_data),  # type: ignore[arg-type]
            output=ApprovalOutput,
        )


class ApprovalDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ApprovalOutput})
    def get(self, request: Request, approval_id: UUID) -> Response:
        approval = approval_get(user=request.user, approval_id=approval_id)  # type: ignore[arg-type]
        if approval is None:
            raise NotFound("No such approval request.")
        return Response(ApprovalOutput(approval).data)


class ApprovalDecideApi(APIView):
    """POST …/approve: the reason is optional."""

    permission_classes = [IsManager]
    approve = True

    class InputSerializer(Serializer):
        reason = StrictCharField(
            max_length=REASON_MAX_LENGTH, required=False, allow_blank=True, default=""
        )

    @extend_schema(request=InputSerializer, responses={200: ApprovalOutput, **errors(409, 503)})
    def post(self, request: Request, approval_id: UUID) -> Response:
        return self._decide(request, approval_id)

    def _decide(self, request: Request, approval_id: UUID) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = approval_decide(
            approval_id=approval_id,
            manager=request.user,  # type: ignore[arg-type]
            approve=self.approve,
            reason=data.validated_data["reason"],
            via=DecisionChannel.API,
        )
        # Read back with the order's new status (filled, rejected, ...).
        approval = approval_get(user=request.user, approval_id=decided.pk)  # type: ignore[arg-type]
        return Response(ApprovalOutput(approval or decided).data)


class ApprovalRejectApi(ApprovalDecideApi):
    """POST …/reject: the reason is required (the trader reads it)."""

    approve = False

    class InputSerializer(Serializer):
        reason = StrictCharField(max_length=REASON_MAX_LENGTH)

    @extend_schema(request=InputSerializer, responses={200: ApprovalOutput, **errors(409, 503)})
    def post(self, request: Request, approval_id: UUID) -> Response:
        return self._decide(request, approval_id)
