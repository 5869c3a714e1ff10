"""Trade and market API (ARCHITECTURE.md "HTTP API")."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trades.models import Order, OrderStatus, OrderType, Side, Symbol, TimeInForce
from trades.selectors import (
    candles_for,
    fills_of,
    order_as_written,
    order_book,
    order_get,
    orders_for,
    quote_for,
    symbol_get,
    symbols_list,
    tape_for,
)
from trades.services.amend import order_replace, orders_cancel_open, position_close
from trades.services.orders import OrderRequest, SubmitResult, order_cancel, order_submit
from trading_demo.csvexport import csv_response
from trading_demo.errors import NotFound
from trading_demo.fields import (
    SYMBOL_PATTERN,
    StrictIntegerField,
    StrictRegexField,
    money_input,
    symbol_input,
)
from trading_demo.pagination import cursor_page
from trading_demo.permissions import ReadOnlyOrCanTrade
from trading_demo.schema import OneOfBy, errors, page_of, results_of
from trading_demo.serializers import Serializer

SYMBOL_RE = re.compile(SYMBOL_PATTERN)
EXPORT_MAX_ROWS = 10_000

# Which prices each order type takes: the input's check and the schema's oneOf.
PRICES_BY_ORDER_TYPE = OneOfBy(
    field="order_type",
    needs={
        OrderType.MARKET: (),
        OrderType.LIMIT: ("price",),
        OrderType.STOP: ("stop_price",),
        OrderType.STOP_LIMIT: ("price", "stop_price"),
    },
    default=OrderType.MARKET,
)
PRICE_LABELS = {"price": "limit price", "stop_price": "stop price"}


def price_field(**kwargs: Any) -> serializers.DecimalField:
    return money_input(required=False, allow_null=True, **kwargs)


def client_order_id_field() -> serializers.RegexField:
    return StrictRegexField(
        r"^[A-Za-z0-9_.:\-]{1,48}$",
        max_length=48,
        required=False,
        error_messages={"invalid": "Up to 48 letters, digits or _ . : - characters."},
    )


class FillOutput(Serializer):
    id = serializers.UUIDField()
    price = serializers.DecimalField(max_digits=14, decimal_places=2)
    quantity = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class OrderApprovalOutput(Serializer):
    """The approval request of an order held for a manager's decision."""

    id = serializers.UUIDField()
    state = serializers.CharField()
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(source="decision_reason")


class OrderOutput(Serializer):
    id = serializers.UUIDField()
    client_order_id = serializers.CharField()
    symbol = serializers.CharField(source="symbol_id")
    type = serializers.CharField(source="side")
    order_type = serializers.CharField()
    time_in_force = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    stop_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    filled_quantity = serializers.IntegerField()
    average_fill_price = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    status = serializers.CharField()
    status_reason = serializers.CharField()
    risk_level = serializers.CharField(allow_null=True)
    risk_score = serializers.IntegerField(allow_null=True)
    risk_reasons = serializers.ListField(child=serializers.CharField())
    approval = serializers.SerializerMethodField()
    fills = serializers.SerializerMethodField()
    replaces = serializers.UUIDField(source="replaces_id", allow_null=True)
    replaced_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_replaced_by(self, order: Order) -> UUID | None:
        # Only a replaced order has one: the others never pay for the reverse lookup.
        if order.status != OrderStatus.REPLACED:
            return None
        replacement = Order.objects.filter(replaces=order).values_list("pk", flat=True).first()
        return None if replacement is None else replacement

    @extend_schema_field(OrderApprovalOutput(allow_null=True))
    def get_approval(self, order: Order) -> dict[str, Any] | None:
        approval = getattr(order, "approval_request", None)
        return None if approval is None else OrderApprovalOutput(approval).data  # type: ignore[return-value]

    def get_fills(self, order: Order) -> list[dict[str, Any]]:
        return FillOutput(fills_of(order), many=True).data  # type: ignore[return-value]

    def to_representation(self, instance: Order) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["risk_level"] = instance.risk_level or None
        return data


# The seed's own contract (clients written from it send camelCase, and `side` for the side).
SEED_ALIASES = {
    "orderType": "order_type",
    "timeInForce": "time_in_force",
    "stopPrice": "stop_price",
    "clientOrderId": "client_order_id",
    "side": "type",
}


def seed_aliases(data: Any) -> Any:
    """The order body with the seed's field names under ours. Both spellings of one field in
    one body are refused rather than one silently winning."""
    if not isinstance(data, dict) or not any(alias in data for alias in SEED_ALIASES):
        return data
    body = dict(data)
    for alias, name in SEED_ALIASES.items():
        if alias not in body:
            continue
        if name in body:
            raise serializers.ValidationError({alias: [f"Send {name} or {alias}, not both."]})
        value = body.pop(alias)
        # `side` clients (Alpaca's habit) often write it in lower case.
        body[name] = value.upper() if alias == "side" and isinstance(value, str) else value
    return body


class OrderFilters(Serializer):
    symbol = symbol_input(required=False)
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    since = serializers.DateTimeField(required=False)


class OrderListCreateApi(APIView):
    permission_classes = [ReadOnlyOrCanTrade]
    # Placing an order is billed as trade.execute when it executes (by the order service,
    # which also checks the quota); listing is an ordinary call.
    billable = {"POST": ""}

    class InputSerializer(Serializer):
        schema_one_of = PRICES_BY_ORDER_TYPE

        symbol = symbol_input()
        type = serializers.ChoiceField(choices=Side.choices)
        quantity = StrictIntegerField(min_value=1, max_value=settings.MAX_ORDER_QUANTITY)
        order_type = serializers.ChoiceField(choices=OrderType.choices, default=OrderType.MARKET)
        price = price_field()
        stop_price = price_field()
        time_in_force = serializers.ChoiceField(
            choices=TimeInForce.choices, default=TimeInForce.GTC
        )
        # Whether the symbol is listed is the order service's check (one read, not two).
        client_order_id = client_order_id_field()

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            kind = attrs["order_type"]
            missing, extra = PRICES_BY_ORDER_TYPE.missing_and_extra(attrs)
            errors = {name: f"A {kind} order needs a {PRICE_LABELS[name]}." for name in missing}
            errors |= {name: f"A {kind} order takes no {PRICE_LABELS[name]}." for name in extra}
            if errors:
                raise serializers.ValidationError(errors)
            return attrs

    @extend_schema(parameters=[OrderFilters], responses={200: page_of(OrderOutput)})
    def get(self, request: Request) -> Response:
        filters = OrderFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return cursor_page(
            request=request,
            view=self,
            queryset=orders_for(user=request.user, **filters.validated_data),  # type: ignore[arg-type]
            output=OrderOutput,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: OrderOutput, 202: OrderOutput, 200: OrderOutput, **errors(409, 422, 503)},
        description="The seed's camelCase names are accepted too: orderType, timeInForce, "
        "stopPrice, clientOrderId, and side for type.",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=seed_aliases(request.data))
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["side"] = values.pop("type")
        values.setdefault("client_order_id", f"auto-{uuid.uuid4().hex}")
        result = order_submit(user=request.user, request=OrderRequest(**values))  # type: ignore[arg-type]
        return _placed_response(request, result)


def _placed_response(request: Request, result: SubmitResult) -> Response:
    """201 for a new order, 202 when it waits for a manager, 200 for an idempotent replay."""
    order: Order | None = result.order
    if result.created:
        order = order_as_written(result.order, fills=result.fills)
    else:
        order = order_get(user=request.user, order_id=result.order.pk)  # type: ignore[arg-type]
    assert order is not None
    code: int
    if not result.created:
        code = status.HTTP_200_OK
    elif order.status == OrderStatus.PENDING_APPROVAL:
        code = status.HTTP_202_ACCEPTED
    else:
        code = status.HTTP_201_CREATED
    return Response(OrderOutput(order).data, status=code)


class OrderDetailApi(APIView):
    permission_classes = [ReadOnlyOrCanTrade]
    billable = {"DELETE": ""}  # a cancel is billed as trade.cancel by the order service

    @extend_schema(responses={200: OrderOutput})
    def get(self, request: Request, order_id: UUID) -> Response:
        order = order_get(user=request.user, order_id=order_id)  # type: ignore[arg-type]
        if order is None:
            raise NotFound("No such order.")
        return Response(OrderOutput(order).data)

    @extend_schema(responses={200: OrderOutput, **errors(409)})
    def delete(self, request: Request, order_id: UUID) -> Response:
        order_cancel(user=request.user, order_id=order_id)  # type: ignore[arg-type]
        order = order_get(user=request.user, order_id=order_id)  # type: ignore[arg-type]
        return Response(OrderOutput(order).data)


class OrderReplaceApi(APIView):
    """Modify an order: a new order with the changes replaces it (the old one ends `replaced`,
    the new one's `replaces` is its id). Refused: the old order is untouched."""

    permission_classes = [ReadOnlyOrCanTrade]
    billable = {"POST": ""}  # billed by the service: trade.cancel, then the new order's own

    class InputSerializer(Serializer):
        # The service refuses a replace that changes nothing; the schema says so.
        schema_at_least_one_of = ("quantity", "price", "stop_price", "time_in_force")

        quantity = StrictIntegerField(
            min_value=1, max_value=settings.MAX_ORDER_QUANTITY, required=False
        )
        price = price_field()
        stop_price = price_field()
        time_in_force = serializers.ChoiceField(choices=TimeInForce.choices, required=False)
        client_order_id = client_order_id_field()

    @extend_schema(
        request=InputSerializer,
        responses={201: OrderOutput, 202: OrderOutput, **errors(409, 422, 503)},
        operation_id="trades_replace",
    )
    def post(self, request: Request, order_id: UUID) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = order_replace(
            user=request.user,  # type: ignore[arg-type]
            order_id=order_id,
            quantity=values.get("quantity"),
            limit_price=values.get("price"),
            stop_price=values.get("stop_price"),
            time_in_force=values.get("time_in_force"),
            client_order_id=values.get("client_order_id"),
        )
        return _placed_response(request, result)


class CancelOutcomeOutput(Serializer):
    id = serializers.UUIDField(source="order_id")
    status = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    def get_status(self, outcome: Any) -> str | None:
        return None if outcome.order is None else str(outcome.order.status)

    def get_error(self, outcome: Any) -> dict[str, Any] | None:
        if outcome.error is None:
            return None
        return {"error": outcome.error.code, "message": outcome.error.message}


class CancelAllOutput(Serializer):
    cancelled = serializers.IntegerField()
    remaining = serializers.IntegerField()
    results = CancelOutcomeOutput(many=True)


class OrderCancelAllApi(APIView):
    """Cancel every open, partially filled and pending order (at most 500 per call;
    `remaining` says how many are still open)."""

    permission_classes = [ReadOnlyOrCanTrade]
    billable = {"POST": ""}  # each cancel is billed as trade.cancel by the order service

    @extend_schema(request=None, responses={200: CancelAllOutput})
    def post(self, request: Request) -> Response:
        result = orders_cancel_open(user=request.user)  # type: ignore[arg-type]
        body = {
            "cancelled": sum(1 for outcome in result.outcomes if outcome.error is None),
            "remaining": result.remaining,
            "results": CancelOutcomeOutput(result.outcomes, many=True).data,
        }
        return Response(body)


class PositionCloseApi(APIView):
    """Sell the position's whole free quantity at market, through the ordinary order intake
    (scored; held for approval when it is large)."""

    permission_classes = [ReadOnlyOrCanTrade]
    billable = {"POST": ""}  # billed as trade.execute when it executes

    @extend_schema(
        request=None, responses={201: OrderOutput, 202: OrderOutput, **errors(409, 422, 503)}
    )
    def post(self, request: Request, symbol: str) -> Response:
        code = symbol.upper()
        if not SYMBOL_RE.match(code):
            raise NotFound(f"Unknown symbol {symbol}.")
        result = position_close(user=request.user, symbol=code)  # type: ignore[arg-type]
        return _placed_response(request, result)


class OrderExportApi(APIView):
    """The trade history as CSV: one row per fill, then orders without fills (newest first,
    at most 10,000 orders)."""

    permission_classes = [ReadOnlyOrCanTrade]

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request) -> StreamingHttpResponse:
        orders = orders_for(user=request.user)[:EXPORT_MAX_ROWS]  # type: ignore[arg-type]

        def rows() -> Iterator[list[Any]]:
            for order in orders.iterator(chunk_size=500):
                base = [
                    order.pk,
                    order.client_order_id,
                    order.created_at.isoformat(),
                    order.symbol_id,
                    order.side,
                    order.order_type,
                    order.time_in_force,
                    order.quantity,
                    order.price or "",
                    order.stop_price or "",
                    order.status,
                ]
                fills = fills_of(order)
                if not fills:
                    yield [*base, "", "", "", ""]
                for fill in fills:
                    yield [*base, fill.pk, fill.created_at.isoformat(), fill.quantity, fill.price]

        return csv_response(
            "trade-history.csv",
            [
                "order_id",
                "client_order_id",
                "created_at",
                "symbol",
                "type",
                "order_type",
                "time_in_force",
                "quantity",
                "limit_price",
                "stop_price",
                "status",
                "fill_id",
                "fill_time",
                "fill_quantity",
                "fill_price",
            ],
            rows(),
        )


def _bounded_parameter(name: str, *, high: int, default: int) -> OpenApiParameter:
    schema = {"type": "integer", "minimum": 1, "maximum": high, "default": default}
    return OpenApiParameter(name, schema, description=f"1 to {high}")  # type: ignore[arg-type]


# --- market ------------------------------------------------------------------------------


class SymbolOutput(Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    reference_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    last_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    session_open_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    change = serializers.DecimalField(max_digits=14, decimal_places=2)
    change_pct = serializers.DecimalField(max_digits=8, decimal_places=2)
    volatility = serializers.DecimalField(max_digits=6, decimal_places=4)
    tick_size = serializers.DecimalField(max_digits=6, decimal_places=2)
    halted = serializers.BooleanField()


def _symbol_or_404(code: str) -> Symbol:
    symbol = symbol_get(code=code) if SYMBOL_RE.match(code) else None
    if symbol is None:
        raise NotFound(f"Unknown symbol {code}.")
    return symbol


class SymbolListApi(APIView):
    @extend_schema(responses={200: results_of(SymbolOutput)})
    def get(self, request: Request) -> Response:
        return Response({"results": SymbolOutput(symbols_list()[:100], many=True).data})


class QuoteOutput(SymbolOutput):
    bid = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    ask = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class QuoteApi(APIView):
    @extend_schema(responses={200: QuoteOutput})
    def get(self, request: Request, symbol: str) -> Response:
        quote = quote_for(symbol=_symbol_or_404(symbol))
        body = SymbolOutput(quote.symbol).data | {
            "bid": None if quote.bid is None else str(quote.bid),
            "ask": None if quote.ask is None else str(quote.ask),
        }
        return Response(body)


class BookLevelOutput(Serializer):
    price = serializers.DecimalField(max_digits=14, decimal_places=2)
    quantity = serializers.IntegerField()
    orders = serializers.IntegerField()
    own_quantity = serializers.IntegerField()


class BookOutput(Serializer):
    symbol = serializers.CharField()
    bids = BookLevelOutput(many=True)
    asks = BookLevelOutput(many=True)
    spread = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class BookApi(APIView):
    @extend_schema(
        parameters=[_bounded_parameter("levels", high=50, default=10)],
        responses={200: BookOutput},
    )
    def get(self, request: Request, symbol: str) -> Response:
        levels = _bounded_int(request, "levels", default=10, high=50)
        book = order_book(symbol=_symbol_or_404(symbol), levels=levels, viewer=request.user)  # type: ignore[arg-type]
        return Response(BookOutput(book).data)


class CandleOutput(Serializer):
    start = serializers.DateTimeField()
    open = serializers.DecimalField(max_digits=14, decimal_places=2)
    high = serializers.DecimalField(max_digits=14, decimal_places=2)
    low = serializers.DecimalField(max_digits=14, decimal_places=2)
    close = serializers.DecimalField(max_digits=14, decimal_places=2)
    volume = serializers.IntegerField()


class CandlesOutput(Serializer):
    symbol = serializers.CharField()
    interval = serializers.CharField()
    results = CandleOutput(many=True)


class CandlesApi(APIView):
    @extend_schema(
        parameters=[_bounded_parameter("minutes", high=500, default=120)],
        responses={200: CandlesOutput},
    )
    def get(self, request: Request, symbol: str) -> Response:
        minutes = _bounded_int(request, "minutes", default=120, high=500)
        candles = candles_for(symbol=_symbol_or_404(symbol), minutes=minutes)
        return Response(
            {"symbol": symbol, "interval": "1m", "results": CandleOutput(candles, many=True).data}
        )


class TapeOutput(Serializer):
    id = serializers.UUIDField()
    price = serializers.DecimalField(max_digits=14, decimal_places=2)
    quantity = serializers.IntegerField()
    aggressor_side = serializers.CharField()
    created_at = serializers.DateTimeField()


class TapeApi(APIView):
    @extend_schema(responses={200: page_of(TapeOutput)})
    def get(self, request: Request, symbol: str) -> Response:
        return cursor_page(
            request=request,
            view=self,
            queryset=tape_for(symbol=_symbol_or_404(symbol)),
            output=TapeOutput,
        )


def _bounded_int(request: Request, name: str, *, default: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= high:
        from trading_demo.errors import ValidationFailed

        raise ValidationFailed(
            f"{name}: a whole number from 1 to {high}.", details={name: [f"1 to {high}"]}
        )
    return int(raw)
