"""Reads for trading: the book, quotes, candles, the tape and a user's orders."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from trades.models import (
    Candle,
    Execution,
    Order,
    Quote,
    Side,
    Symbol,
    resting_filter,
)
from trading_demo.models import User

MAX_BOOK_LEVELS = 50
MAX_CANDLES = 500


def symbols_list() -> QuerySet[Symbol]:
    return Symbol.objects.order_by("symbol")


def symbol_get(*, code: str) -> Symbol | None:
    return Symbol.objects.filter(pk=code).first()


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    quantity: int
    orders: int
    own_quantity: int


@dataclass(frozen=True)
class Book:
    symbol: str
    bids: list[BookLevel]
    asks: list[BookLevel]

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def spread(self) -> Decimal | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return self.best_ask - self.best_bid

    @property
    def max_quantity(self) -> int:
        return max((level.quantity for level in [*self.bids, *self.asks]), default=0)


def order_book(*, symbol: Symbol, levels: int = 10, viewer: User | None = None) -> Book:
    """Aggregated depth: resting orders plus the market maker's quotes, best price first.
    `own_quantity` marks how much of a level is the viewer's."""
    levels = max(1, min(levels, MAX_BOOK_LEVELS))
    sides: dict[str, dict[Decimal, list[int]]] = {
        Side.BUY: defaultdict(lambda: [0, 0, 0]),
        Side.SELL: defaultdict(lambda: [0, 0, 0]),
    }
    for side in (Side.BUY, Side.SELL):
        ordering = "-limit_for_matching" if side == Side.BUY else "limit_for_matching"
        rows = (
            Order.objects.filter(resting_filter(), symbol=symbol, side=side)
            .values("limit_for_matching", "user_id", "quantity", "filled_quantity")
            .order_by(ordering)[: levels * 50]
        )
        for row in rows:
            price = row["limit_for_matching"]
            assert price is not None  # resting orders always have a limit
            level = sides[side][price]
            remaining = row["quantity"] - row["filled_quantity"]
            level[0] += remaining
            level[1] += 1
            if viewer is not None and row["user_id"] == viewer.pk:
                level[2] += remaining
    for quote in Quote.objects.filter(symbol=symbol, quantity__gt=0):
        level = sides[quote.side][quote.price]
        level[0] += quote.quantity
        level[1] += 1

    def top(side: str) -> list[BookLevel]:
        prices = sorted(sides[side], reverse=side == Side.BUY)[:levels]
        return [BookLevel(p, *sides[side][p]) for p in prices]

    return Book(symbol=symbol.pk, bids=top(Side.BUY), asks=top(Side.SELL))


@dataclass(frozen=True)
class QuoteView:
    symbol: Symbol
    bid: Decimal | None
    ask: Decimal | None


def quote_for(*, symbol: Symbol) -> QuoteView:
    book = order_book(symbol=symbol, levels=1)
    return QuoteView(symbol=symbol, bid=book.best_bid, ask=book.best_ask)


def candles_for(*, symbol: Symbol, minutes: int = 120) -> list[Candle]:
    minutes = max(1, min(minutes, MAX_CANDLES))
    since = timezone.now() - timedelta(minutes=minutes)
    return list(
        reversed(
            Candle.objects.filter(symbol=symbol, start__gte=since).order_by("-start")[:minutes]
        )
    )


def tape_for(*, symbol: Symbol) -> QuerySet[Execution]:
    return Execution.objects.filter(symbol=symbol).order_by("-created_at")


def orders_for(
    *,
    user: User,
    symbol: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
) -> QuerySet[Order]:
    orders = Order.objects.filter(user=user)
    if symbol:
        orders = orders.filter(symbol_id=symbol)
    if status:
        orders = orders.filter(status=status)
    if since:
        orders = orders.filter(created_at__gte=since)
    # The approval request (if the order was held for one) comes along: the API shows it.
    return (
        orders.select_related("approval_request")
        .prefetch_related(
            Prefetch("buy_executions", queryset=Execution.objects.order_by("created_at")),
            Prefetch("sell_executions", queryset=Execution.objects.order_by("created_at")),
        )
        .order_by("-created_at")
    )


def order_get(*, user: User, order_id: UUID | str) -> Order | None:
    return orders_for(user=user).filter(pk=order_id).first()


def order_as_written(order: Order, *, fills: list[Execution]) -> Order:
    """The order the service has just written, with its fills, ready to render without reading
    it back: the same caches `orders_for`'s prefetch fills. An order placed in this request has
    no approval request unless the service opened one (then it is already cached on the
    order)."""
    side = "buy_executions" if order.side == Side.BUY else "sell_executions"
    order._prefetched_objects_cache = {side: fills}  # type: ignore[attr-defined]
    if not order._state.fields_cache.get("approval_request"):
        order._state.fields_cache["approval_request"] = None
    return order


def fills_of(order: Order) -> list[Execution]:
    """The executions an order took part in (it is on one side of each)."""
    executions = (
        order.buy_executions.all() if order.side == Side.BUY else (order.sell_executions.all())
    )
    return list(executions)


def traded_volume(*, symbol: Symbol, since: datetime) -> int:
    total = Execution.objects.filter(symbol=symbol, created_at__gte=since).aggregate(
        total=Sum("quantity")
    )["total"]
    return int(total or 0)
