"""Our orders, positions, accounts and market data in Alpaca's field names, strings and enums.

Alpaca sends quantities and money as strings ("10", "101.25"), enums in lower case (`buy`,
`limit`, `gtc`), timestamps in RFC 3339 UTC. Our states in Alpaca's words: awaiting a manager
is `pending_review`, open `new`, cancelled `canceled`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from trades.models import Order, OrderStatus, Symbol
from trading_demo.serializers import Serializer

# Alpaca ids are UUIDs; our symbols are their own keys. One fixed namespace gives every symbol
# the same asset id on every server.
ASSET_NAMESPACE = uuid.UUID("6f1b0c4e-5a77-4d55-9d0a-7a1b2c3d4e5f")
CENT = Decimal("0.01")
EXCHANGE = ""  # a simulated market, not a listing venue: Alpaca's "no exchange" value
ASSET_CLASS = "us_equity"

ORDER_STATUS = {
    OrderStatus.PENDING_APPROVAL: "pending_review",
    OrderStatus.OPEN: "new",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELLED: "canceled",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.EXPIRED: "expired",
    OrderStatus.REPLACED: "replaced",
}


def asset_id(symbol: str) -> uuid.UUID:
    return uuid.uuid5(ASSET_NAMESPACE, symbol)


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def fraction(part: Decimal, whole: Decimal) -> str:
    """Alpaca's `*_plpc` and `change_today` are fractions (0.0125), not percentages."""
    if not whole:
        return "0"
    return str((part / whole).quantize(Decimal("0.000001")))


def rfc3339(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.isoformat().replace("+00:00", "Z")


class AssetOutput(Serializer):
    id = serializers.SerializerMethodField()
    # Alpaca's name for the asset class field is `class`, a Python keyword.
    asset_class = serializers.SerializerMethodField()
    exchange = serializers.SerializerMethodField()
    symbol = serializers.CharField()
    name = serializers.CharField()
    status = serializers.SerializerMethodField()
    tradable = serializers.SerializerMethodField()
    marginable = serializers.SerializerMethodField()
    shortable = serializers.SerializerMethodField()
    easy_to_borrow = serializers.SerializerMethodField()
    fractionable = serializers.SerializerMethodField()
    min_order_size = serializers.SerializerMethodField()
    min_trade_increment = serializers.SerializerMethodField()
    price_increment = serializers.SerializerMethodField()
    attributes = serializers.SerializerMethodField()

    def get_id(self, symbol: Symbol) -> str:
        return str(asset_id(symbol.pk))

    def get_asset_class(self, symbol: Symbol) -> str:
        return ASSET_CLASS

    def get_exchange(self, symbol: Symbol) -> str:
        return EXCHANGE

    def get_status(self, symbol: Symbol) -> str:
        return "active"

    def get_tradable(self, symbol: Symbol) -> bool:
        return not symbol.halted

    def get_marginable(self, symbol: Symbol) -> bool:
        return False

    def get_shortable(self, symbol: Symbol) -> bool:
        return False  # no shorting here

    def get_easy_to_borrow(self, symbol: Symbol) -> bool:
        return False

    def get_fractionable(self, symbol: Symbol) -> bool:
        return False  # whole shares only

    def get_min_order_size(self, symbol: Symbol) -> str:
        return "1"

    def get_min_trade_increment(self, symbol: Symbol) -> str:
        return "1"

    def get_price_increment(self, symbol: Symbol) -> str:
        return str(symbol.tick_size)

    def get_attributes(self, symbol: Symbol) -> list[str]:
        return []

    def to_representation(self, instance: Symbol) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["class"] = data.pop("asset_class")
        return data


class OrderOutput(Serializer):
    """An order as Alpaca shows it, plus our risk verdict (`risk_level`, `risk_score`,
    `risk_reasons`), which Alpaca clients ignore and bots that know may read."""

    id = serializers.UUIDField()
    client_order_id = serializers.CharField()
    created_at = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()
    submitted_at = serializers.SerializerMethodField()
    filled_at = serializers.SerializerMethodField()
    expired_at = serializers.SerializerMethodField()
    canceled_at = serializers.SerializerMethodField()
    failed_at = serializers.SerializerMethodField()
    replaced_at = serializers.SerializerMethodField()
    replaced_by = serializers.SerializerMethodField()
    replaces = serializers.UUIDField(source="replaces_id", allow_null=True)
    asset_id = serializers.SerializerMethodField()
    symbol = serializers.CharField(source="symbol_id")
    asset_class = serializers.SerializerMethodField()
    notional = serializers.SerializerMethodField()
    qty = serializers.SerializerMethodField()
    filled_qty = serializers.SerializerMethodField()
    filled_avg_price = serializers.SerializerMethodField()
    order_class = serializers.SerializerMethodField()
    order_type = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    side = serializers.SerializerMethodField()
    time_in_force = serializers.SerializerMethodField()
    limit_price = serializers.SerializerMethodField()
    stop_price = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    extended_hours = serializers.SerializerMethodField()
    legs = serializers.SerializerMethodField()
    trail_percent = serializers.SerializerMethodField()
    trail_price = serializers.SerializerMethodField()
    hwm = serializers.SerializerMethodField()
    risk_level = serializers.CharField()
    risk_score = serializers.IntegerField(allow_null=True)
    risk_reasons = serializers.ListField(child=serializers.CharField())

    def _at(self, order: Order, status: str) -> str | None:
        return rfc3339(order.updated_at) if order.status == status else None

    def get_created_at(self, order: Order) -> str | None:
        return rfc3339(order.created_at)

    def get_updated_at(self, order: Order) -> str | None:
        return rfc3339(order.updated_at)

    def get_submitted_at(self, order: Order) -> str | None:
        return rfc3339(order.created_at)

    def get_filled_at(self, order: Order) -> str | None:
        return self._at(order, OrderStatus.FILLED)

    def get_expired_at(self, order: Order) -> str | None:
        return self._at(order, OrderStatus.EXPIRED)

    def get_canceled_at(self, order: Order) -> str | None:
        return self._at(order, OrderStatus.CANCELLED)

    def get_failed_at(self, order: Order) -> str | None:
        return self._at(order, OrderStatus.REJECTED)

    def get_replaced_at(self, order: Order) -> str | None:
        return self._at(order, OrderStatus.REPLACED)

    def get_replaced_by(self, order: Order) -> str | None:
        if order.status != OrderStatus.REPLACED:
            return None  # only a replaced order has one: the others skip the lookup
        new = Order.objects.filter(replaces=order).values_list("pk", flat=True).first()
        return None if new is None else str(new)

    def get_asset_id(self, order: Order) -> str:
        return str(asset_id(order.symbol_id))

    def get_asset_class(self, order: Order) -> str:
        return ASSET_CLASS

    def get_notional(self, order: Order) -> str | None:
        return None

    def get_qty(self, order: Order) -> str:
        return str(order.quantity)

    def get_filled_qty(self, order: Order) -> str:
        return str(order.filled_quantity)

    def get_filled_avg_price(self, order: Order) -> str | None:
        return money(order.average_fill_price)

    def get_order_class(self, order: Order) -> str:
        return "simple"

    def get_order_type(self, order: Order) -> str:
        return order.order_type.lower()

    def get_type(self, order: Order) -> str:
        return order.order_type.lower()

    def get_side(self, order: Order) -> str:
        return order.side.lower()

    def get_time_in_force(self, order: Order) -> str:
        return order.time_in_force.lower()

    def get_limit_price(self, order: Order) -> str | None:
        return None if order.price is None else str(order.price.quantize(CENT))

    def get_stop_price(self, order: Order) -> str | None:
        return None if order.stop_price is None else str(order.stop_price.quantize(CENT))

    def get_status(self, order: Order) -> str:
        return ORDER_STATUS[OrderStatus(order.status)]

    def get_extended_hours(self, order: Order) -> bool:
        return False

    def get_legs(self, order: Order) -> str | None:
        return None

    def get_trail_percent(self, order: Order) -> str | None:
        return None

    def get_trail_price(self, order: Order) -> str | None:
        return None

    def get_hwm(self, order: Order) -> str | None:
        return None


class AccountOutput(Serializer):
    id = serializers.UUIDField()
    account_number = serializers.CharField()
    status = serializers.CharField()
    crypto_status = serializers.CharField()
    currency = serializers.CharField()
    buying_power = serializers.CharField()
    regt_buying_power = serializers.CharField()
    daytrading_buying_power = serializers.CharField()
    non_marginable_buying_power = serializers.CharField()
    options_buying_power = serializers.CharField()
    cash = serializers.CharField()
    accrued_fees = serializers.CharField()
    pending_transfer_in = serializers.CharField()
    pending_transfer_out = serializers.CharField()
    portfolio_value = serializers.CharField()
    pattern_day_trader = serializers.BooleanField()
    trading_blocked = serializers.BooleanField()
    transfers_blocked = serializers.BooleanField()
    account_blocked = serializers.BooleanField()
    trade_suspended_by_user = serializers.BooleanField()
    created_at = serializers.CharField()
    multiplier = serializers.CharField()
    shorting_enabled = serializers.BooleanField()
    equity = serializers.CharField()
    last_equity = serializers.CharField()
    long_market_value = serializers.CharField()
    short_market_value = serializers.CharField()
    position_market_value = serializers.CharField()
    initial_margin = serializers.CharField()
    maintenance_margin = serializers.CharField()
    last_maintenance_margin = serializers.CharField()
    sma = serializers.CharField()
    daytrade_count = serializers.IntegerField()


class PositionOutput(Serializer):
    asset_id = serializers.UUIDField()
    symbol = serializers.CharField()
    exchange = serializers.CharField()
    asset_class = serializers.CharField()
    asset_marginable = serializers.BooleanField()
    qty = serializers.CharField()
    qty_available = serializers.CharField()
    avg_entry_price = serializers.CharField()
    side = serializers.CharField()
    market_value = serializers.CharField()
    cost_basis = serializers.CharField()
    unrealized_pl = serializers.CharField()
    unrealized_plpc = serializers.CharField()
    unrealized_intraday_pl = serializers.CharField()
    unrealized_intraday_plpc = serializers.CharField()
    current_price = serializers.CharField()
    lastday_price = serializers.CharField()
    change_today = serializers.CharField()


class ClockOutput(Serializer):
    timestamp = serializers.CharField()
    is_open = serializers.BooleanField()
    next_open = serializers.CharField()
    next_close = serializers.CharField()


class CalendarOutput(Serializer):
    date = serializers.CharField()
    open = serializers.CharField()
    close = serializers.CharField()
    session_open = serializers.CharField()
    session_close = serializers.CharField()
    settlement_date = serializers.CharField()


class PortfolioHistoryOutput(Serializer):
    timestamp = serializers.ListField(child=serializers.IntegerField())
    equity = serializers.ListField(child=serializers.FloatField())
    profit_loss = serializers.ListField(child=serializers.FloatField())
    profit_loss_pct = serializers.ListField(child=serializers.FloatField())
    base_value = serializers.FloatField()
    timeframe = serializers.CharField()


class ActivityOutput(Serializer):
    id = serializers.CharField()
    account_id = serializers.UUIDField()
    activity_type = serializers.CharField()
    transaction_time = serializers.CharField()
    type = serializers.CharField()
    price = serializers.CharField()
    qty = serializers.CharField()
    side = serializers.CharField()
    symbol = serializers.CharField()
    leaves_qty = serializers.CharField()
    order_id = serializers.UUIDField()
    cum_qty = serializers.CharField()
    order_status = serializers.CharField()


class CancelOutcomeOutput(Serializer):
    id = serializers.UUIDField()
    status = serializers.IntegerField()
    body = serializers.DictField(allow_null=True)


class ClosePositionOutcomeOutput(Serializer):
    symbol = serializers.CharField()
    status = serializers.IntegerField()
    order_id = serializers.UUIDField(allow_null=True)
    body = serializers.DictField()


class ErrorOutput(Serializer):
    code = serializers.IntegerField()
    message = serializers.CharField()


# --- market data (data.alpaca.markets shapes: one-letter keys) ----------------------------


class QuoteDataOutput(Serializer):
    t = serializers.CharField()
    ax = serializers.CharField()
    ap = serializers.FloatField()
    as_ = serializers.IntegerField(source="as", label="as")
    bx = serializers.CharField()
    bp = serializers.FloatField()
    bs = serializers.IntegerField()
    c = serializers.ListField(child=serializers.CharField())
    z = serializers.CharField()


class TradeDataOutput(Serializer):
    t = serializers.CharField()
    x = serializers.CharField()
    p = serializers.FloatField()
    s = serializers.IntegerField()
    c = serializers.ListField(child=serializers.CharField())
    i = serializers.CharField()
    z = serializers.CharField()


class BarDataOutput(Serializer):
    t = serializers.CharField()
    o = serializers.FloatField()
    h = serializers.FloatField()
    l = serializers.FloatField()  # noqa: E741  (Alpaca's key)
    c = serializers.FloatField()
    v = serializers.IntegerField()
    n = serializers.IntegerField()
    vw = serializers.FloatField(allow_null=True)


class LatestQuotesOutput(Serializer):
    quotes = serializers.DictField(child=QuoteDataOutput())


class LatestTradesOutput(Serializer):
    trades = serializers.DictField(child=TradeDataOutput())


class BarsOutput(Serializer):
    bars = serializers.DictField(child=BarDataOutput(many=True))
    next_page_token = serializers.CharField(allow_null=True)


class SnapshotOutput(Serializer):
    latestTrade = TradeDataOutput(allow_null=True)
    latestQuote = QuoteDataOutput(allow_null=True)
    minuteBar = BarDataOutput(allow_null=True)
    dailyBar = BarDataOutput(allow_null=True)
    prevDailyBar = BarDataOutput(allow_null=True)
