"""Portfolio API: the account, positions, performance, the realised P&L statement, reset."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio.ledger import account_ensure
from portfolio.selectors import PERIODS, account_summary, performance, realized_statement
from portfolio.services import account_reset
from trading_demo.csvexport import csv_response
from trading_demo.errors import ValidationFailed
from trading_demo.fields import ConfirmField
from trading_demo.pagination import cursor_page
from trading_demo.permissions import CanTrade
from trading_demo.schema import page_of, results_of
from trading_demo.serializers import Serializer


def money(*, allow_null: bool = False) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=allow_null)


class PositionOutput(Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    reserved_quantity = serializers.IntegerField()
    average_cost = serializers.DecimalField(max_digits=16, decimal_places=4)
    cost_basis = money()
    current_price = serializers.DecimalField(source="mark", max_digits=14, decimal_places=2)
    market_value = money()
    unrealized_pnl = money()
    unrealized_pnl_pct = serializers.DecimalField(
        source="unrealized_pct", max_digits=10, decimal_places=2
    )
    realized_pnl = money()
    change_today = money()
    allocation_pct = serializers.DecimalField(max_digits=8, decimal_places=2)
    opened_at = serializers.DateTimeField()


class PortfolioOutput(Serializer):
    cash = money()
    reserved_cash = money()
    buying_power = money()
    positions_value = money()
    equity = money()
    starting_cash = money()
    realized_pnl = money()
    unrealized_pnl = money()
    day_change = money()
    return_pct = serializers.DecimalField(max_digits=10, decimal_places=2)
    positions = PositionOutput(many=True)


def _summary(request: Request) -> Any:
    account_ensure(user=request.user)  # type: ignore[arg-type]
    return account_summary(user=request.user)  # type: ignore[arg-type]


class PortfolioApi(APIView):
    billable = {"GET": "portfolio.get"}

    @extend_schema(responses={200: PortfolioOutput})
    def get(self, request: Request) -> Response:
        return Response(PortfolioOutput(_summary(request)).data)


class PositionListApi(APIView):
    billable = {"GET": "portfolio.get"}

    @extend_schema(responses={200: results_of(PositionOutput)})
    def get(self, request: Request) -> Response:
        return Response({"results": PositionOutput(_summary(request).positions, many=True).data})


class PerformanceOutput(Serializer):
    period = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    start_equity = money()
    end_equity = money()
    return_pct = serializers.DecimalField(max_digits=10, decimal_places=2)
    realized_pnl = money()
    unrealized_pnl = money()
    max_drawdown_pct = serializers.DecimalField(max_digits=8, decimal_places=2)
    volatility_pct = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    sharpe_ratio = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    sampling_seconds = serializers.IntegerField()
    trades = serializers.IntegerField()
    closed_trades = serializers.IntegerField()
    win_rate_pct = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    best_trade = money(allow_null=True)
    worst_trade = money(allow_null=True)
    equity_curve = serializers.SerializerMethodField()
    drawdown_curve = serializers.SerializerMethodField()
    daily_pnl = serializers.SerializerMethodField()

    def get_equity_curve(self, result: Any) -> list[dict[str, str]]:
        return [{"at": at.isoformat(), "equity": str(value)} for at, value in result.curve]

    def get_drawdown_curve(self, result: Any) -> list[dict[str, str]]:
        return [{"at": at.isoformat(), "drawdown_pct": str(v)} for at, v in result.drawdown]

    def get_daily_pnl(self, result: Any) -> list[dict[str, str]]:
        return [{"date": day.isoformat(), "pnl": str(v)} for day, v in result.daily_pnl]


class PerformanceApi(APIView):
    billable = {"GET": "portfolio.get"}
    """Performance over a period.

    Equity is sampled from the account's snapshots (taken on every fill and every minute),
    resampled to the last value per interval: 1 minute for `day`, 15 minutes for `week`,
    1 hour for `month` and `all`. With r_i = v_i / v_(i-1) - 1 between samples and N samples
    per year (365-day year / interval; the simulated market never closes):
    volatility = stdev(r) x sqrt(N) (sample stdev, in %), Sharpe = mean(r) / stdev(r) x sqrt(N)
    (zero risk-free rate), max drawdown = largest (peak - value) / peak in %. Win rate and
    best/worst trade are over closed trades: each sell fill and the P&L it realised.
    """

    @extend_schema(
        parameters=[OpenApiParameter("period", str, enum=list(PERIODS), default="day")],
        responses={200: PerformanceOutput},
    )
    def get(self, request: Request) -> Response:
        period = request.query_params.get("period", "day")
        if period not in PERIODS:
            raise ValidationFailed(
                f"period: one of {', '.join(PERIODS)}.", details={"period": ["invalid"]}
            )
        account_ensure(user=request.user)  # type: ignore[arg-type]
        result = performance(user=request.user, period=period)  # type: ignore[arg-type]
        return Response(PerformanceOutput(result).data)


class StatementOutput(Serializer):
    id = serializers.IntegerField()
    symbol = serializers.CharField(source="symbol_id")
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=14, decimal_places=2)
    cost_basis = money()
    realized_pnl = money()
    created_at = serializers.DateTimeField()


class StatementApi(APIView):
    """The realised P&L statement: one line per sell fill (closed positions keep theirs)."""

    @extend_schema(responses={200: page_of(StatementOutput)})
    def get(self, request: Request) -> Response:
        return cursor_page(
            request=request,
            view=self,
            queryset=realized_statement(user=request.user),  # type: ignore[arg-type]
            output=StatementOutput,
        )


class PositionExportApi(APIView):
    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request) -> StreamingHttpResponse:
        positions = _summary(request).positions
        return csv_response(
            "positions.csv",
            [
                "symbol",
                "quantity",
                "average_cost",
                "cost_basis",
                "current_price",
                "market_value",
                "unrealized_pnl",
                "unrealized_pnl_pct",
                "realized_pnl",
                "allocation_pct",
                "opened_at",
            ],
            (
                [
                    p.symbol,
                    p.quantity,
                    p.average_cost,
                    p.cost_basis,
                    p.mark,
                    p.market_value,
                    p.unrealized_pnl,
                    p.unrealized_pct,
                    p.realized_pnl,
                    p.allocation_pct,
                    p.opened_at.isoformat(),
                ]
                for p in positions
            ),
        )


class StatementExportApi(APIView):
    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request) -> StreamingHttpResponse:
        lines = realized_statement(user=request.user)[:10_000]  # type: ignore[arg-type]
        return csv_response(
            "realized-pnl.csv",
            ["time", "symbol", "quantity", "price", "cost_basis", "realized_pnl"],
            (
                [
                    line.created_at.isoformat(),
                    line.symbol_id,
                    line.quantity,
                    line.price,
                    line.cost_basis,
                    line.realized_pnl,
                ]
                for line in lines.iterator()
            ),
        )


class ResetApi(APIView):
    """Start the account over (the owner only; viewers cannot). Send {"confirm": true}."""

    permission_classes = [CanTrade]

    class InputSerializer(Serializer):
        confirm = ConfirmField()

    @extend_schema(request=InputSerializer, responses={200: PortfolioOutput})
    def post(self, request: Request) -> Response:
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        account_ensure(user=request.user)  # type: ignore[arg-type]
        account_reset(user=request.user)  # type: ignore[arg-type]
        return Response(PortfolioOutput(_summary(request)).data)
