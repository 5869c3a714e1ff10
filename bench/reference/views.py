from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.reference.models import Ticket


class TicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = [
            "id",
            "client_order_id",
            "symbol",
            "type",
            "quantity",
            "order_type",
            "time_in_force",
            "created_at",
        ]


class TicketCreateApi(APIView):
    def post(self, request: Request) -> Response:
        serializer = TicketSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class PingApi(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})
