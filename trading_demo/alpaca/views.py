"""Alpaca's Trading API (`/v2/…`) and market-data API (`/v2/stocks/…`) over our services.

Thin, like every edge: parse Alpaca's request, call the same service or selector `/api/` calls,
render in Alpaca's shape. Rate limit, quota and metering come from the project's default
throttles (`api.call` per request; orders and cancels billed by their services); every read is
scoped to the signed-in user, so another user's order is 404.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trades.api import OrderListCreateApi
from trades.models import Order, Symbol
from trades.selectors import order_get, symbol_get, symbols_list
from trades.services.amend import order_replace, orders_cancel_open, position_close
from trades.services.orders import OrderRequest, order_cancel, order_submit
from trading_demo.alpaca import schema as _schema  # noqa: F401  (registers the key scheme)
from trading_demo.alpaca import selectors
from trading_demo.alpaca.authentication import AlpacaKeyAuthentication
from trading_demo.alpaca.errors import ALPACA_ERRORS, alpaca_exception_handler
from trading_demo.alpaca.serializers import (
    AccountOutput,
    ActivityOutput,
    AssetOutput,
    BarsOutput,
    CalendarOutput,
    CancelOutcomeOutput,
    ClockOutput,
    ClosePositionOutcomeOutput,
    ErrorOutput,
    LatestQuotesOutput,
    LatestTradesOutput,
    OrderOutput,
    PortfolioHistoryOutput,
    PositionOutput,
    SnapshotOutput,
    asset_id,
)
from trading_demo.authentication import ApiTokenAuthentication, UserJWTAuthentication
from trading_demo.errors import DomainError, NotFound, ValidationFailed
from trading_demo.fields import PLAIN_DECIMAL
from trading_demo.models import User
from trading_demo.permissions import ReadOnlyOrCanTrade
from trading_demo.serializers import Serializer

ERRORS = {
    401: OpenApiResponse(ErrorOutput, description="wrong or missing key pair"),
    403: OpenApiResponse(ErrorOutput, description="refused: buying power, shares, risk, role"),
    404: OpenApiResponse(ErrorOutput, description="not found (also another user's order)"),
    422: OpenApiResponse(ErrorOutput, description="invalid input"),
    429: OpenApiResponse(ErrorOutput, description="rate limit or quota"),
}
# Our order fields -> Alpaca's, for the messages of refused input.
FIELD_NAMES = {
    "price": "limit_price",
    "quantity": "qty",
    "order_type": "type",
    "type": "side",
}


class AlpacaApi(APIView):
    """Alpaca's key pair (or our own tokens); Alpaca's error body; viewers read only."""

    authentication_classes = [
        AlpacaKeyAuthentication,
        ApiTokenAuthentication,
        UserJWTAuthentication,
    ]
    permission_classes = [ReadOnlyOrCanTrade]

    def get_exception_handler(self) -> Any:
        return alpaca_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # The same body limit as /api/ (whose middleware answers in the shared shape).
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > settings.API_MAX_BODY_BYTES:
            raise exceptions.ParseError(f"at most {settings.API_MAX_BODY_BYTES} bytes")
        super().initial(request, *args, **kwargs)

    @property
    def trader(self) -> User:
        return self.request.user  # type: ignore[return-value]


def _query(request: Request, serializer: type[serializers.Serializer]) -> dict[str, Any]:
    data = serializer(data=request.query_params)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _plain_digits(value: Any) -> str:
    """The number as text if it is plain ASCII digits with an optional point (as the money
    fields of /api/ take them, trading_demo/fields.py); Decimal() would also read exponents and
    other scripts' digits ("6e1", Arabic-Indic sixty). JSON numbers count by their text."""
    text = (
        str(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else ""
    )
    if not PLAIN_DECIMAL.fullmatch(text):
        raise InvalidOperation(text)
    return text


def _quantity(value: Any, name: str = "qty") -> int:
    """Alpaca clients send quantities as strings or numbers (alpaca-py: 10.0); whole shares."""
    try:
        number = Decimal(_plain_digits(value))
    except InvalidOperation as exc:
        raise ValidationFailed(f"{name}: a number of shares.", details={name: ["invalid"]}) from exc
    if number != number.to_integral_value():
        raise ValidationFailed(
            f"{name}: fractional orders are not supported; whole shares only.",
            details={name: ["fractional"]},
        )
    return int(number)


def _price(value: Any, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        price = Decimal(_plain_digits(value))
    except InvalidOperation as exc:
        raise ValidationFailed(f"{name}: a price.", details={name: ["invalid"]}) from exc
    if not price.is_finite() or price != price.quantize(Decimal("0.01")):
        raise ValidationFailed(
            f"{name}: at most two decimal places (sub-penny prices are not accepted).",
            details={name: ["sub-penny"]},
        )
    return price.quantize(Decimal("0.01"))


def _order_response(order: Order, code: int = status.HTTP_200_OK) -> Response:
    return Response(OrderOutput(order).data, status=code)


def _alpaca_names(exc: ValidationFailed) -> ValidationFailed:
    message = exc.message
    for ours, theirs in FIELD_NAMES.items():
        if message.startswith(f"{ours}:"):
            message = theirs + message[len(ours) :]
            break
    details = {FIELD_NAMES.get(key, key): value for key, value in exc.details.items()}
    return ValidationFailed(message, details=details)


# --- account, clock, calendar, assets ------------------------------------------------------


class AccountApi(AlpacaApi):
    billable = {"GET": "portfolio.get"}

    @extend_schema(responses={200: AccountOutput, **ERRORS}, operation_id="v2_account")
    def get(self, request: Request) -> Response:
        return Response(selectors.account_view(user=self.trader))


class ClockApi(AlpacaApi):
    @extend_schema(responses={200: ClockOutput, **ERRORS}, operation_id="v2_clock")
    def get(self, request: Request) -> Response:
        return Response(selectors.clock_view())


class CalendarQuery(Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)


class CalendarApi(AlpacaApi):
    @extend_schema(
        parameters=[CalendarQuery],
        responses={200: CalendarOutput(many=True), **ERRORS},
        operation_id="v2_calendar",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, CalendarQuery)
        return Response(selectors.calendar_view(start=query.get("start"), end=query.get("end")))


class AssetsQuery(Serializer):
    status = serializers.ChoiceField(choices=["active", "inactive"], required=False)
    asset_class = serializers.ChoiceField(
        choices=["us_equity", "crypto", "us_option"], required=False
    )
    exchange = serializers.CharField(required=False, max_length=16)


class AssetListApi(AlpacaApi):
    @extend_schema(
        parameters=[AssetsQuery],
        responses={200: AssetOutput(many=True), **ERRORS},
        operation_id="v2_assets_list",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, AssetsQuery)
        # Every symbol here is an active US equity listed on no exchange.
        if (
            query.get("status") == "inactive"
            or query.get("asset_class", "us_equity") != "us_equity"
        ):
            return Response([])
        if query.get("exchange"):
            return Response([])
        return Response(AssetOutput(symbols_list()[:500], many=True).data)


def _asset(code: str) -> Symbol:
    symbol = None
    try:
        wanted = UUID(code)
    except ValueError:
        if selectors.SYMBOL_RE.match(code.upper()):
            symbol = symbol_get(code=code.upper())
    else:
        symbol = next((s for s in symbols_list()[:500] if asset_id(s.pk) == wanted), None)
    if symbol is None:
        raise NotFound(f"asset not found for {code}")
    return symbol


class AssetDetailApi(AlpacaApi):
    @extend_schema(responses={200: AssetOutput, **ERRORS}, operation_id="v2_assets_get")
    def get(self, request: Request, symbol: str) -> Response:
        return Response(AssetOutput(_asset(symbol)).data)


# --- orders --------------------------------------------------------------------------------


class OrderInput(Serializer):
    """Alpaca's order body (documentation; the view reads the JSON itself to take Alpaca's
    strings-or-numbers)."""

    symbol = serializers.CharField()
    qty = serializers.CharField(help_text="whole shares, as a string or a number")
    notional = serializers.CharField(required=False, help_text="not supported")
    side = serializers.ChoiceField(choices=["buy", "sell"])
    type = serializers.ChoiceField(choices=["market", "limit", "stop", "stop_limit"])
    time_in_force = serializers.ChoiceField(choices=["day", "gtc", "ioc", "fok"])
    limit_price = serializers.CharField(required=False)
    stop_price = serializers.CharField(required=False)
    client_order_id = serializers.CharField(required=False, max_length=48)
    extended_hours = serializers.BooleanField(required=False)
    order_class = serializers.ChoiceField(choices=["simple", ""], required=False)


UNSUPPORTED_ORDER_FIELDS = {
    "notional": "notional orders are not supported; send qty in whole shares",
    "trail_price": "trailing_stop orders are not supported",
    "trail_percent": "trailing_stop orders are not supported",
    "take_profit": "bracket, oco and oto orders are not supported",
    "stop_loss": "bracket, oco and oto orders are not supported",
    "legs": "multi-leg orders are not supported",
}


def _order_request(body: Any) -> OrderRequest:
    """Alpaca's order body -> our validated order request, through the same input rules as
    POST /api/trades (one rule, one place)."""
    if not isinstance(body, dict):
        raise exceptions.ParseError("the body must be a JSON object")
    for name, reason in UNSUPPORTED_ORDER_FIELDS.items():
        if body.get(name) not in (None, "", []):
            raise ValidationFailed(f"{name}: {reason}.", details={name: [reason]})
    if body.get("order_class") not in (None, "", "simple"):
        raise ValidationFailed(
            "order_class: only simple orders are supported.", details={"order_class": ["simple"]}
        )
    if body.get("extended_hours"):
        raise ValidationFailed(
            "extended_hours: the simulated market has no extended hours.",
            details={"extended_hours": ["not supported"]},
        )
    if "qty" not in body:
        raise ValidationFailed("qty: required.", details={"qty": ["required"]})
    ours: dict[str, Any] = {
        "symbol": str(body.get("symbol") or "").upper(),
        "type": str(body.get("side") or "").upper(),
        "quantity": _quantity(body["qty"]),
        "order_type": str(body.get("type") or body.get("order_type") or "").upper(),
        "time_in_force": str(body.get("time_in_force") or "").upper(),
    }
    for name, key in (("limit_price", "price"), ("stop_price", "stop_price")):
        price = _price(body.get(name), name)
        if price is not None:
            ours[key] = str(price)
    client_order_id = body.get("client_order_id")
    if client_order_id not in (None, ""):
        ours["client_order_id"] = client_order_id
    data = OrderListCreateApi.InputSerializer(data=ours)
    if not data.is_valid():
        raise serializers.ValidationError(
            {FIELD_NAMES.get(k, k): v for k, v in data.errors.items()}
        )
    values = dict(data.validated_data)
    values["side"] = values.pop("type")
    values.setdefault("client_order_id", str(uuid.uuid4()))
    return OrderRequest(**values)


class OrdersQuery(Serializer):
    status = serializers.ChoiceField(choices=["open", "closed", "all"], default="open")
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    after = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    direction = serializers.ChoiceField(choices=["asc", "desc"], default="desc")
    symbols = serializers.CharField(required=False, max_length=1100)
    side = serializers.ChoiceField(choices=["buy", "sell"], required=False)
    nested = serializers.BooleanField(required=False)


class OrderListApi(AlpacaApi):
    # Placing is billed as trade.execute by the order service (which checks the quota under
    # its lock); cancel-all bills each cancel as trade.cancel.
    billable = {"POST": "", "DELETE": ""}

    @extend_schema(
        parameters=[OrdersQuery],
        responses={200: OrderOutput(many=True), **ERRORS},
        operation_id="v2_orders_list",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, OrdersQuery)
        symbols = [s.strip().upper() for s in query.get("symbols", "").split(",") if s.strip()]
        orders = selectors.orders_view(
            user=self.trader,
            status=query["status"],
            limit=query["limit"],
            after=query.get("after"),
            until=query.get("until"),
            ascending=query["direction"] == "asc",
            symbols=symbols[:100],
            side=query.get("side"),
        )
        return Response(OrderOutput(orders, many=True).data)

    @extend_schema(
        request=OrderInput,
        responses={200: OrderOutput, **ERRORS, 503: ErrorOutput},
        operation_id="v2_orders_create",
        description="Placed through the same intake as POST /api/trades: scored by the risk "
        "service; over the approval line it is `pending_review` until a manager decides; a "
        "CRITICAL score is refused with 403 and the reasons.",
    )
    def post(self, request: Request) -> Response:
        try:
            order_request = _order_request(request.data)
        except ValidationFailed as exc:
            raise _alpaca_names(exc) from exc
        try:
            result = order_submit(user=self.trader, request=order_request)
        except ValidationFailed as exc:
            raise _alpaca_names(exc) from exc
        return _order_response(result.order)

    @extend_schema(
        request=None,
        responses={207: CancelOutcomeOutput(many=True), **ERRORS},
        operation_id="v2_orders_cancel_all",
    )
    def delete(self, request: Request) -> Response:
        result = orders_cancel_open(user=self.trader)
        rows = []
        for outcome in result.outcomes:
            if outcome.error is None:
                rows.append({"id": str(outcome.order_id), "status": 200, "body": None})
            else:
                rows.append(_failed_row(outcome.order_id, outcome.error))
        return Response(rows, status=207)


def _failed_row(order_id: UUID, error: DomainError) -> dict[str, Any]:
    http, code = ALPACA_ERRORS.get(error.code, (500, 50010000))
    return {"id": str(order_id), "status": http, "body": {"code": code, "message": error.message}}


class ByClientIdQuery(Serializer):
    client_order_id = serializers.CharField(max_length=48)


class OrderByClientIdApi(AlpacaApi):
    @extend_schema(
        parameters=[ByClientIdQuery],
        responses={200: OrderOutput, **ERRORS},
        operation_id="v2_orders_by_client_order_id",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, ByClientIdQuery)
        order = selectors.order_by_client_id(
            user=self.trader, client_order_id=query["client_order_id"]
        )
        if order is None:
            raise NotFound("order not found")
        return _order_response(order)


class ReplaceInput(Serializer):
    qty = serializers.CharField(required=False)
    time_in_force = serializers.ChoiceField(choices=["day", "gtc", "ioc", "fok"], required=False)
    limit_price = serializers.CharField(required=False)
    stop_price = serializers.CharField(required=False)
    client_order_id = serializers.CharField(required=False, max_length=48)


class OrderDetailApi(AlpacaApi):
    billable = {"DELETE": "", "PATCH": ""}  # billed by the cancel and replace services

    def _order(self, order_id: str) -> Order:
        try:
            wanted = UUID(order_id)
        except ValueError:
            raise NotFound("order not found") from None
        order = order_get(user=self.trader, order_id=wanted)
        if order is None:
            raise NotFound("order not found")
        return order

    @extend_schema(responses={200: OrderOutput, **ERRORS}, operation_id="v2_orders_get")
    def get(self, request: Request, order_id: str) -> Response:
        return _order_response(self._order(order_id))

    @extend_schema(
        request=ReplaceInput,
        responses={200: OrderOutput, **ERRORS},
        operation_id="v2_orders_replace",
        description="A new order with the changes replaces this one (this one ends `replaced`, "
        "the new one's `replaces` is its id); refused, this order is untouched.",
    )
    def patch(self, request: Request, order_id: str) -> Response:
        old = self._order(order_id)
        body = request.data if isinstance(request.data, dict) else {}
        if body.get("trail") not in (None, ""):
            raise ValidationFailed("trail: trailing_stop orders are not supported.")
        tif = body.get("time_in_force")
        if tif not in (None, "") and str(tif).upper() not in ("DAY", "GTC", "IOC", "FOK"):
            raise ValidationFailed("time_in_force: one of day, gtc, ioc, fok.")
        client_order_id = body.get("client_order_id") or None
        if client_order_id is not None and not isinstance(client_order_id, str):
            raise ValidationFailed("client_order_id: a string.")
        try:
            result = order_replace(
                user=self.trader,
                order_id=old.pk,
                quantity=None if body.get("qty") in (None, "") else _quantity(body["qty"]),
                limit_price=_price(body.get("limit_price"), "limit_price"),
                stop_price=_price(body.get("stop_price"), "stop_price"),
                time_in_force=None if tif in (None, "") else str(tif).upper(),
                client_order_id=client_order_id,
            )
        except ValidationFailed as exc:
            raise _alpaca_names(exc) from exc
        return _order_response(result.order)

    @extend_schema(
        request=None,
        responses={204: None, **ERRORS},
        operation_id="v2_orders_cancel",
    )
    def delete(self, request: Request, order_id: str) -> Response:
        order_cancel(user=self.trader, order_id=self._order(order_id).pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- positions -----------------------------------------------------------------------------


def _position_symbol(code: str) -> str:
    return _asset(code).pk


class PositionListApi(AlpacaApi):
    billable = {"GET": "portfolio.get", "DELETE": ""}  # closing orders bill themselves

    @extend_schema(
        responses={200: PositionOutput(many=True), **ERRORS}, operation_id="v2_positions_list"
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.positions_view(user=self.trader))

    @extend_schema(
        parameters=[OpenApiParameter("cancel_orders", bool)],
        request=None,
        responses={207: ClosePositionOutcomeOutput(many=True), **ERRORS},
        operation_id="v2_positions_close_all",
    )
    def delete(self, request: Request) -> Response:
        if request.query_params.get("cancel_orders", "").lower() == "true":
            orders_cancel_open(user=self.trader)
        rows = []
        for position in selectors.positions_view(user=self.trader):
            if position["qty_available"] == "0":
                continue
            try:
                result = position_close(user=self.trader, symbol=position["symbol"])
            except DomainError as exc:
                http, code = ALPACA_ERRORS.get(exc.code, (500, 50010000))
                body = {"code": code, "message": exc.message, "symbol": position["symbol"]}
                rows.append(
                    {"symbol": position["symbol"], "status": http, "order_id": None, "body": body}
                )
                continue
            rows.append(
                {
                    "symbol": position["symbol"],
                    "status": 200,
                    "order_id": str(result.order.pk),
                    "body": OrderOutput(result.order).data,
                }
            )
        return Response(rows, status=207)


class CloseQuery(Serializer):
    qty = serializers.CharField(required=False, max_length=20)
    percentage = serializers.DecimalField(
        required=False, max_digits=12, decimal_places=9, min_value=Decimal("0")
    )


class PositionDetailApi(AlpacaApi):
    billable = {"GET": "portfolio.get", "DELETE": ""}

    @extend_schema(responses={200: PositionOutput, **ERRORS}, operation_id="v2_positions_get")
    def get(self, request: Request, symbol: str) -> Response:
        rows = selectors.positions_view(user=self.trader, symbol=_position_symbol(symbol))
        if not rows:
            raise NotFound("position does not exist")
        return Response(rows[0])

    @extend_schema(
        parameters=[CloseQuery],
        request=None,
        responses={200: OrderOutput, **ERRORS},
        operation_id="v2_positions_close",
        description="A market order for the position (or `qty` shares, or `percentage` of "
        "it), through the ordinary intake: scored, held for approval when large.",
    )
    def delete(self, request: Request, symbol: str) -> Response:
        query = _query(request, CloseQuery)
        code = _position_symbol(symbol)
        try:
            result = position_close(
                user=self.trader,
                symbol=code,
                quantity=_quantity(query["qty"]) if query.get("qty") else None,
                percentage=query.get("percentage"),
            )
        except NotFound as exc:
            raise NotFound("position does not exist") from exc
        return _order_response(result.order)


# --- portfolio history, activities ---------------------------------------------------------


class HistoryQuery(Serializer):
    period = serializers.CharField(required=False, max_length=8)
    timeframe = serializers.CharField(required=False, max_length=8)
    extended_hours = serializers.BooleanField(required=False)


class PortfolioHistoryApi(AlpacaApi):
    billable = {"GET": "portfolio.get"}

    @extend_schema(
        parameters=[HistoryQuery],
        responses={200: PortfolioHistoryOutput, **ERRORS},
        operation_id="v2_portfolio_history",
        description="Periods 1D, 1W, 1M, 1A/all; the timeframe is our sampling of the period "
        "(1Min for a day, 15Min for a week, 1H beyond).",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, HistoryQuery)
        return Response(
            selectors.portfolio_history_view(user=self.trader, period=query.get("period"))
        )


class ActivitiesQuery(Serializer):
    activity_types = serializers.CharField(required=False, max_length=200)
    direction = serializers.ChoiceField(choices=["asc", "desc"], default="desc")
    after = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=100)
    page_token = serializers.CharField(required=False, max_length=100)


class ActivitiesApi(AlpacaApi):
    @extend_schema(
        parameters=[ActivitiesQuery],
        responses={200: ActivityOutput(many=True), **ERRORS},
        operation_id="v2_account_activities",
        description="Fills (`FILL`); no other activity happens in a paper account here.",
    )
    def get(self, request: Request, activity_type: str | None = None) -> Response:
        query = _query(request, ActivitiesQuery)
        wanted = {
            t.strip().upper()
            for t in (activity_type or query.get("activity_types") or "FILL").split(",")
        }
        if "FILL" not in wanted:
            return Response([])
        return Response(
            selectors.activities_view(
                user=self.trader,
                page_size=query["page_size"],
                page_token=query.get("page_token"),
                ascending=query["direction"] == "asc",
                after=query.get("after"),
                until=query.get("until"),
            )
        )


class ActivitiesOfTypeApi(ActivitiesApi):
    @extend_schema(
        parameters=[ActivitiesQuery],
        responses={200: ActivityOutput(many=True), **ERRORS},
        operation_id="v2_account_activities_of_type",
    )
    def get(self, request: Request, activity_type: str | None = None) -> Response:
        return super().get(request, activity_type)


# --- market data ---------------------------------------------------------------------------


class SymbolsQuery(Serializer):
    symbols = serializers.CharField(max_length=1100)
    feed = serializers.CharField(required=False, max_length=16)
    currency = serializers.CharField(required=False, max_length=3)


class LatestQuotesApi(AlpacaApi):
    @extend_schema(
        parameters=[SymbolsQuery],
        responses={200: LatestQuotesOutput, **ERRORS},
        operation_id="v2_stocks_quotes_latest",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, SymbolsQuery)
        symbols = selectors.symbols_parse(query["symbols"])
        return Response({"quotes": selectors.latest_quotes(symbols=symbols)})


class LatestTradesApi(AlpacaApi):
    @extend_schema(
        parameters=[SymbolsQuery],
        responses={200: LatestTradesOutput, **ERRORS},
        operation_id="v2_stocks_trades_latest",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, SymbolsQuery)
        symbols = selectors.symbols_parse(query["symbols"])
        return Response({"trades": selectors.latest_trades(symbols=symbols)})


class BarsQuery(SymbolsQuery):
    timeframe = serializers.CharField(max_length=8)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=selectors.MAX_BARS_PAGE, default=1000)
    page_token = serializers.CharField(required=False, max_length=64)
    sort = serializers.ChoiceField(choices=["asc", "desc"], default="asc")
    adjustment = serializers.CharField(required=False, max_length=16)
    asof = serializers.CharField(required=False, max_length=16)


class BarsApi(AlpacaApi):
    @extend_schema(
        parameters=[BarsQuery],
        responses={200: BarsOutput, **ERRORS},
        operation_id="v2_stocks_bars",
        description="From our one-minute candles: 1-59Min, 1-23Hour, 1Day, 1Week.",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, BarsQuery)
        symbols = selectors.symbols_parse(query["symbols"])
        return Response(
            selectors.bars_view(
                symbols=symbols,
                timeframe=selectors.timeframe_parse(query["timeframe"]),
                start=query.get("start"),
                end=query.get("end"),
                limit=query["limit"],
                page_token=query.get("page_token"),
                descending=query["sort"] == "desc",
            )
        )


class SnapshotsApi(AlpacaApi):
    @extend_schema(
        parameters=[SymbolsQuery],
        responses={200: SnapshotOutput, **ERRORS},
        operation_id="v2_stocks_snapshots",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, SymbolsQuery)
        symbols = selectors.symbols_parse(query["symbols"])
        return Response(selectors.snapshots_view(symbols=symbols))


class NotSupportedApi(AlpacaApi):
    """Alpaca routes we do not serve (watchlists, options, crypto, corporate actions, account
    configurations…): Alpaca's 404 body saying so, not an HTML page."""

    @extend_schema(exclude=True)
    def get(self, request: Request, rest: str = "") -> Response:
        raise NotFound(f"{request.path} is not supported by this server (see README).")

    post = put = patch = delete = get
