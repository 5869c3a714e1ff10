from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from trading_demo.ids import uuid7


class Side(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class OrderType(models.TextChoices):
    MARKET = "MARKET", "Market"
    LIMIT = "LIMIT", "Limit"
    STOP = "STOP", "Stop"
    STOP_LIMIT = "STOP_LIMIT", "Stop limit"


class TimeInForce(models.TextChoices):
    GTC = "GTC", "Good till cancelled"
    DAY = "DAY", "Day"
    IOC = "IOC", "Immediate or cancel"
    FOK = "FOK", "Fill or kill"


class OrderStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Awaiting approval"
    OPEN = "open", "Open"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    # Closed by `order_replace`: a new order (its `replaces` points here) took its place.
    REPLACED = "replaced", "Replaced"


ACTIVE_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
CANCELABLE_STATUSES = (*ACTIVE_STATUSES, OrderStatus.PENDING_APPROVAL)
# Orders in these states hold no reservation and never trade again.
FINISHED_STATUSES = (
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.REJECTED,
    OrderStatus.EXPIRED,
    OrderStatus.REPLACED,
)


def resting_filter() -> models.Q:
    """What rests on the book: active limit orders and triggered stop limits. Matching, the book
    view and the risk check's visible depth all use this one definition (`Order.is_limit_kind`
    is the same rule for one order in memory)."""
    return models.Q(status__in=ACTIVE_STATUSES) & (
        models.Q(order_type=OrderType.LIMIT)
        | models.Q(order_type=OrderType.STOP_LIMIT, triggered_at__isnull=False)
    )


class Symbol(models.Model):
    symbol = models.CharField(max_length=10, primary_key=True)
    name = models.CharField(max_length=80)
    reference_price = models.DecimalField(max_digits=14, decimal_places=2)
    session_open_price = models.DecimalField(max_digits=14, decimal_places=2)
    last_price = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="Last trade, or the reference when the market moved since.",
    )
    last_trade_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    volatility = models.DecimalField(
        max_digits=6, decimal_places=4, help_text="Annualised, e.g. 0.2500 for 25 %."
    )
    tick_size = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0.01"))
    halted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol

    @property
    def change(self) -> Decimal:
        return self.last_price - self.session_open_price

    @property
    def change_pct(self) -> Decimal:
        if not self.session_open_price:
            return Decimal("0")
        return (self.change / self.session_open_price * 100).quantize(Decimal("0.01"))


class MarketSession(models.Model):
    """The simulated trading session; DAY orders expire at its close."""

    opened_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"session {self.opened_at:%Y-%m-%d %H:%M} UTC"


class Quote(models.Model):
    """One price level the simulated market maker shows on one side of a symbol's book."""

    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE, related_name="quotes")
    side = models.CharField(max_length=4, choices=Side.choices)
    level = models.PositiveSmallIntegerField()
    price = models.DecimalField(max_digits=14, decimal_places=2)
    quantity = models.PositiveIntegerField()
    seq = models.BigIntegerField(help_text="Time priority (nanoseconds of the refresh).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["symbol", "side", "level"], name="quote_level_unique")
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.side} {self.quantity} @ {self.price}"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders"
    )
    symbol = models.ForeignKey(Symbol, on_delete=models.PROTECT, related_name="orders")
    client_order_id = models.CharField(max_length=48)
    request_fingerprint = models.CharField(max_length=64)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=10, choices=OrderType.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    stop_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    status_reason = models.CharField(max_length=200, blank=True)
    filled_quantity = models.PositiveIntegerField(default=0)
    average_fill_price = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    # Limit the order may trade at: the limit price, or the collar for market and stop orders.
    # Buys reserve quantity x this price; fills release it share by share.
    limit_for_matching = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reserved_cash = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    reserved_quantity = models.PositiveIntegerField(default=0)
    triggered_at = models.DateTimeField(null=True, blank=True)
    risk_level = models.CharField(max_length=8, blank=True)
    risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_reasons = models.JSONField(default=list, blank=True)
    session = models.ForeignKey(
        MarketSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="day_orders"
    )
    seq = models.BigIntegerField(default=0, help_text="Time priority in the book.")
    replaces = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text="The order this one replaced (modify = a new order, the old one replaced).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"], name="order_client_id_unique_per_user"
            ),
        ]
        indexes = [
            models.Index(
                fields=["symbol", "side", "status", "limit_for_matching"], name="order_book_idx"
            ),
            models.Index(fields=["user", "-created_at"], name="order_user_recent_idx"),
            models.Index(fields=["symbol", "status", "stop_price"], name="order_stop_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol_id} ({self.status})"

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_cancelable(self) -> bool:
        return self.status in CANCELABLE_STATUSES

    @property
    def is_limit_kind(self) -> bool:
        """Trades at its limit and may rest on the book (see `resting_filter`)."""
        return self.order_type == OrderType.LIMIT or (
            self.order_type == OrderType.STOP_LIMIT and self.triggered_at is not None
        )

    @property
    def is_stop_waiting(self) -> bool:
        return self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and (
            self.triggered_at is None
        )

    @property
    def notional_estimate(self) -> Decimal:
        price = self.price or self.stop_price or self.symbol.reference_price
        return price * self.quantity


class Execution(models.Model):
    """One trade between a buyer and a seller; either side may be the market maker (null)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    symbol = models.ForeignKey(Symbol, on_delete=models.PROTECT, related_name="executions")
    price = models.DecimalField(max_digits=14, decimal_places=2)
    quantity = models.PositiveIntegerField()
    # SET_NULL: an account reset deletes that trader's orders, not the other side's history.
    buy_order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="buy_executions"
    )
    sell_order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="sell_executions"
    )
    aggressor_side = models.CharField(max_length=4, choices=Side.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["symbol", "-created_at"], name="execution_tape_idx")]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.quantity} @ {self.price}"


class Candle(models.Model):
    """One minute of a symbol: prices from reference ticks and fills, volume from fills."""

    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE, related_name="candles")
    start = models.DateTimeField()
    open = models.DecimalField(max_digits=14, decimal_places=2)
    high = models.DecimalField(max_digits=14, decimal_places=2)
    low = models.DecimalField(max_digits=14, decimal_places=2)
    close = models.DecimalField(max_digits=14, decimal_places=2)
    volume = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "start"], name="candle_minute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.start:%H:%M}"
