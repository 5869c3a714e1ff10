"""Reads for trading: the book, quotes, candles, the tape and a user's orders."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from uuid import UUID

from django.conf import settings
from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from oversight import client as oversight
from oversight.server import risk as rules
from portfolio.models import Account, Position
from portfolio.selectors import positions_value_of
from trades.models import (
    Candle,
    Execution,
    Order,
    Quote,
    Side,
    Symbol,
    resting_filter,
)

# The order path's own checks and figures: the estimate must agree with what placing the order
# would do. `order_check` is private to the order path's module (owned by the order-path work);
# restating it here is how the old estimate came to offer "Confirm order" for shares not held.
from trades.services.orders import OrderRequest, limit_for_matching, order_check
from trades.services.risk import Holdings, risk_facts, risk_rules, score_here
from trading_demo.errors import DomainError
from trading_demo.models import User

MAX_BOOK_LEVELS = 50
MAX_CANDLES = 500
CENT = Decimal("0.01")
D0 = Decimal("0.0")


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


MAX_CHART_ROWS = 6_000  # one-minute candles a chart reads at most (about four days)


def candles_range(
    *, symbol: Symbol, since: datetime, until: datetime | None = None
) -> list[Candle]:
    """One-minute candles from `since` (to `until`), oldest first: the most recent
    MAX_CHART_ROWS of them when the range holds more."""
    rows = Candle.objects.filter(symbol=symbol, start__gte=since)
    if until is not None:
        rows = rows.filter(start__lte=until)
    return list(reversed(rows.order_by("-start")[:MAX_CHART_ROWS]))


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


class QuantityUnit:
    """How the ticket's quantity box is read: shares, US dollars, or a percentage of what the
    side can use (buying power for a buy, the shares available for a sell)."""

    SHARES = "shares"
    USD = "usd"
    PCT = "pct"
    CHOICES = ((SHARES, "shares"), (USD, "$"), (PCT, "%"))


@dataclass(frozen=True)
class OrderPreview:
    """What placing an order would do, on the figures the account shows now: the estimate the
    ticket shows before the trader confirms."""

    symbol: str
    side: str
    quantity: int
    price: Decimal  # what the order is estimated and scored at (limit, stop, else reference)
    notional: Decimal
    reserved_cash: Decimal  # a buy holds cash at its worst price until it fills or ends
    reserved_shares: int  # a sell holds the shares it sells
    buying_power: Decimal
    buying_power_after: Decimal  # once filled at the estimated price
    equity: Decimal
    equity_share: Decimal  # notional as a percentage of equity
    held_quantity: int
    available_quantity: int  # held and not reserved by other sells
    problem: str  # why the order would be refused now; "" when it would be accepted
    risk_level: str  # the level the risk rules give it; "" while the rules cannot be read
    risk_score: int | None
    risk_reasons: tuple[str, ...]
    approval_above: Decimal | None

    @property
    def needs_approval(self) -> bool:
        return self.risk_level == rules.Level.HIGH

    @property
    def needs_confirmation(self) -> bool:
        return not self.problem and self.equity_share > settings.CONFIRM_ORDER_EQUITY_PCT

    @property
    def can_place(self) -> bool:
        return not self.problem


def order_preview(
    *,
    user: User,
    symbol: Symbol,
    side: str,
    order_type: str,
    quantity: int,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> OrderPreview:
    """The estimate behind the order ticket. Holdings, buying power, the halt and the collar
    are the order path's own checks; whether the order needs a manager's approval is the risk
    service's rule module on the service's current configuration (read at most every couple of
    seconds per process, never per keystroke). Nothing is written and nothing is reserved."""
    account = _account_of(user)
    opened = not account._state.adding
    position = Position.objects.filter(account=account, symbol=symbol).first() if opened else None
    request = OrderRequest(
        symbol=symbol.pk,
        side=side,
        order_type=order_type,
        quantity=quantity,
        time_in_force="GTC",
        client_order_id="preview",
        price=price,
        stop_price=stop_price,
    )
    estimate_price = price or stop_price or symbol.reference_price
    notional = (estimate_price * quantity).quantize(CENT)
    buying_power = account.buying_power
    equity = account.cash + (positions_value_of(account_id=account.pk) if opened else D0)
    problem = ""
    try:
        order_check(request=request, symbol=symbol, account=account, position=position)
    except DomainError as exc:
        problem = exc.message
    is_buy = side == Side.BUY
    worst = limit_for_matching(request=request, reference=symbol.reference_price)
    level, score, reasons, approval_above = _risk_of(
        user=user, symbol=symbol, request=request, account=account, position=position
    )
    if level == rules.Level.CRITICAL and not problem:
        problem = "This order would be refused by the risk check: " + "; ".join(reasons)
    return OrderPreview(
        symbol=symbol.pk,
        side=side,
        quantity=quantity,
        price=estimate_price,
        notional=notional,
        reserved_cash=(worst * quantity).quantize(CENT) if is_buy else Decimal("0.00"),
        reserved_shares=0 if is_buy else quantity,
        buying_power=buying_power,
        buying_power_after=buying_power - notional if is_buy else buying_power + notional,
        equity=equity,
        equity_share=(notional / equity * 100).quantize(Decimal("0.1")) if equity > 0 else D0,
        held_quantity=position.quantity if position else 0,
        available_quantity=position.available_quantity if position else 0,
        problem=problem,
        risk_level=level,
        risk_score=score,
        risk_reasons=reasons,
        approval_above=approval_above,
    )


def _account_of(user: User) -> Account:
    """The user's account, or the one their first order will open (unsaved: nothing is written
    by an estimate)."""
    account = Account.objects.filter(user=user).first()
    if account is not None:
        return account
    cash = Decimal(settings.STARTING_CASH)
    return Account(user=user, cash=cash, reserved_cash=Decimal(0), starting_cash=cash)


def _risk_of(
    *,
    user: User,
    symbol: Symbol,
    request: OrderRequest,
    account: Account,
    position: Position | None,
) -> tuple[str, int | None, tuple[str, ...], Decimal | None]:
    """The risk rules on the facts the order path would send the service."""
    try:
        known = risk_rules()
    except oversight.OversightUnavailable:
        return "", None, (), None
    facts = risk_facts(
        order_id="preview",
        user_id=user.pk,
        symbol=symbol,
        side=request.side,
        order_type=request.order_type,
        quantity=request.quantity,
        price=request.price,
        stop_price=request.stop_price,
        account=account,
        holdings=Holdings.of(account, position),
    )
    result = score_here(facts, known)
    return result.level.value, result.score, result.reasons, known.config.approval_notional_above


def order_shares_for(
    *,
    user: User,
    symbol: Symbol,
    side: str,
    order_type: str,
    amount: Decimal,
    unit: str,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> int:
    """Whole shares for a quantity typed in dollars or as a percentage. Dollars buy at the
    estimated price; a percentage of buying power is taken at the buy's worst price (what the
    order path reserves), so 100 % is an order that can be placed; a percentage of a sell is of
    the shares available. Rounded down."""
    if unit == QuantityUnit.SHARES:
        return int(amount.to_integral_value(rounding=ROUND_FLOOR))
    estimate_price = price or stop_price or symbol.reference_price
    if unit == QuantityUnit.USD:
        return int((amount / estimate_price).to_integral_value(rounding=ROUND_FLOOR))
    account = _account_of(user)
    if side == Side.SELL:
        position = (
            None
            if account._state.adding
            else Position.objects.filter(account=account, symbol=symbol).first()
        )
        available = position.available_quantity if position else 0
        return int((available * amount / 100).to_integral_value(rounding=ROUND_FLOOR))
    buying_power = account.buying_power
    request = OrderRequest(
        symbol=symbol.pk,
        side=side,
        order_type=order_type,
        quantity=1,
        time_in_force="GTC",
        client_order_id="preview",
        price=price,
        stop_price=stop_price,
    )
    worst = limit_for_matching(request=request, reference=symbol.reference_price)
    return int((buying_power * amount / 100 / worst).to_integral_value(rounding=ROUND_FLOOR))


MAX_BASKET_MOMENTS = 200


def basket_closes(*, moments: list[datetime]) -> dict[str, list[tuple[datetime, Decimal]]]:
    """Every symbol's one-minute close at (the minute of) each moment, oldest first: the
    prices an equal-weight benchmark is built from. At most MAX_BASKET_MOMENTS moments (the
    latest) are read."""
    minutes = sorted({moment.replace(second=0, microsecond=0) for moment in moments})
    rows = (
        Candle.objects.filter(start__in=minutes[-MAX_BASKET_MOMENTS:])
        .order_by("start")
        .values_list("symbol_id", "start", "close")
    )
    closes: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for symbol, start, close in rows:
        closes[symbol].append((start, close))
    return dict(closes)
