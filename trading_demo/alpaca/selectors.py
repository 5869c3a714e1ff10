"""Reads for the Alpaca edge, in Alpaca's shapes: the account, positions, clock, calendar,
portfolio history, fills as activities, and market data from our book, tape and candles."""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone

from portfolio.ledger import account_ensure
from portfolio.selectors import PERIODS, account_summary, performance
from trades.models import CANCELABLE_STATUSES, Candle, Execution, Order, Symbol
from trades.selectors import order_book
from trades.services.market import current_session
from trading_demo.alpaca.serializers import (
    ASSET_CLASS,
    EXCHANGE,
    ORDER_STATUS,
    asset_id,
    fraction,
    money,
    rfc3339,
)
from trading_demo.errors import ValidationFailed
from trading_demo.models import User

ZERO = Decimal("0")
MAX_SYMBOLS = 100
MAX_CALENDAR_DAYS = 366
MAX_CANDLES_READ = 50_000
MAX_BARS_PAGE = 10_000
MAX_ACTIVITIES_PAGE = 100
SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")


class InvalidSymbol(ValidationFailed):
    """A symbol the market-data API does not list (Alpaca: 400 "invalid symbol")."""

    code = "invalid_symbol"
    status_code = 400


def symbols_parse(raw: str | None) -> list[Symbol]:
    """`symbols=AAPL,MSFT` -> the listed symbols, in that order; any other is refused."""
    codes = [code.strip().upper() for code in (raw or "").split(",") if code.strip()]
    if not codes:
        raise ValidationFailed(
            "symbols: give at least one symbol.", details={"symbols": ["required"]}
        )
    if len(codes) > MAX_SYMBOLS:
        raise ValidationFailed(
            f"symbols: at most {MAX_SYMBOLS}.", details={"symbols": ["too many"]}
        )
    found = {s.pk: s for s in Symbol.objects.filter(pk__in=codes)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise InvalidSymbol(f"invalid symbol: {unknown[0]}", details={"symbols": unknown})
    return [found[code] for code in dict.fromkeys(codes)]


# --- account -------------------------------------------------------------------------------


def account_view(*, user: User) -> dict[str, Any]:
    account = account_ensure(user=user)
    summary = account_summary(user=user)
    assert summary is not None
    long_value = money(summary.positions_value)
    return {
        "id": str(account.pk),
        "account_number": "PA" + account.pk.hex[:10].upper(),
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "buying_power": money(summary.buying_power),
        "regt_buying_power": money(summary.buying_power),
        "daytrading_buying_power": money(summary.buying_power),
        "non_marginable_buying_power": money(summary.buying_power),
        "options_buying_power": "0",
        "cash": money(summary.cash),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "portfolio_value": money(summary.equity),
        "pattern_day_trader": False,
        "trading_blocked": not user.can_trade,
        "transfers_blocked": True,
        "account_blocked": not user.is_active,
        "trade_suspended_by_user": False,
        "created_at": rfc3339(account.created_at),
        "multiplier": "1",
        "shorting_enabled": False,
        "equity": money(summary.equity),
        # Equity at this session's open: today's change taken off.
        "last_equity": money(summary.equity - summary.day_change),
        "long_market_value": long_value,
        "short_market_value": "0",
        "position_market_value": long_value,
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "daytrade_count": 0,
    }


def positions_view(*, user: User, symbol: str | None = None) -> list[dict[str, Any]]:
    summary = account_summary(user=user)
    if summary is None:
        return []
    views = [p for p in summary.positions if symbol is None or p.symbol == symbol]
    opens = dict(
        Symbol.objects.filter(pk__in=[p.symbol for p in views]).values_list(
            "pk", "session_open_price"
        )
    )
    rows = []
    for p in views:
        lastday = opens.get(p.symbol, p.mark)
        rows.append(
            {
                "asset_id": str(asset_id(p.symbol)),
                "symbol": p.symbol,
                "exchange": EXCHANGE,
                "asset_class": ASSET_CLASS,
                "asset_marginable": False,
                "qty": str(p.quantity),
                "qty_available": str(p.quantity - p.reserved_quantity),
                "avg_entry_price": str(p.average_cost),
                "side": "long",
                "market_value": money(p.market_value),
                "cost_basis": money(p.cost_basis),
                "unrealized_pl": money(p.unrealized_pnl),
                "unrealized_plpc": fraction(p.unrealized_pnl, p.cost_basis),
                "unrealized_intraday_pl": money(p.change_today),
                "unrealized_intraday_plpc": fraction(
                    p.change_today, p.market_value - p.change_today
                ),
                "current_price": money(p.mark),
                "lastday_price": money(lastday),
                "change_today": fraction(p.mark - lastday, lastday),
            }
        )
    return rows


# --- clock and calendar --------------------------------------------------------------------


def clock_view() -> dict[str, Any]:
    """The simulated market trades around the clock in sessions of MARKET_SESSION_MINUTES;
    DAY orders expire when one closes, and the next opens at once."""
    session = current_session()
    return {
        "timestamp": rfc3339(timezone.now()),
        "is_open": True,
        "next_open": rfc3339(session.closes_at),
        "next_close": rfc3339(session.closes_at),
    }


def calendar_view(*, start: date | None, end: date | None) -> list[dict[str, Any]]:
    today = timezone.now().date()
    start = start or today
    end = end or start + timedelta(days=30)
    if end < start:
        raise ValidationFailed("end: must not be before start.", details={"end": ["before start"]})
    if (end - start).days >= MAX_CALENDAR_DAYS:
        raise ValidationFailed(
            f"end: at most {MAX_CALENDAR_DAYS} days from start.", details={"end": ["too far"]}
        )
    days = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        days.append(
            {
                "date": day.isoformat(),
                "open": "00:00",
                "close": "23:59",
                "session_open": "0000",
                "session_close": "2359",
                # Fills settle at once here: cash and shares move with the fill.
                "settlement_date": day.isoformat(),
            }
        )
    return days


# --- portfolio history ---------------------------------------------------------------------

# Alpaca's `period` -> our performance periods.
HISTORY_PERIODS = {"1D": "day", "1W": "week", "1M": "month", "all": "all", "1A": "all"}
TIMEFRAME_NAMES = {60: "1Min", 900: "15Min", 3600: "1H", 86400: "1D"}


def portfolio_history_view(*, user: User, period: str | None) -> dict[str, Any]:
    key = HISTORY_PERIODS.get(period or "1M")
    if key is None or key not in PERIODS:
        raise ValidationFailed(
            f"period: one of {', '.join(HISTORY_PERIODS)}.", details={"period": ["invalid"]}
        )
    account_ensure(user=user)
    result = performance(user=user, period=key)
    if result is None or not result.curve:
        return {
            "timestamp": [],
            "equity": [],
            "profit_loss": [],
            "profit_loss_pct": [],
            "base_value": 0.0,
            "timeframe": TIMEFRAME_NAMES.get(PERIODS[key][1].seconds or 86400, "1H"),
        }
    base = result.start_equity
    return {
        "timestamp": [int(at.timestamp()) for at, _ in result.curve],
        "equity": [float(value) for _, value in result.curve],
        "profit_loss": [float(value - base) for _, value in result.curve],
        "profit_loss_pct": [
            float((value - base) / base) if base else 0.0 for _, value in result.curve
        ],
        "base_value": float(base),
        "timeframe": TIMEFRAME_NAMES.get(result.sampling_seconds, f"{result.sampling_seconds}S"),
    }


# --- activities (fills) --------------------------------------------------------------------


def _fills_of(user: User) -> QuerySet[Execution]:
    return Execution.objects.filter(Q(buy_order__user=user) | Q(sell_order__user=user))


def activities_view(
    *,
    user: User,
    page_size: int,
    page_token: str | None,
    ascending: bool,
    after: datetime | None,
    until: datetime | None,
) -> list[dict[str, Any]]:
    """The user's fills, newest first unless `ascending`; `page_token` is the id of the last
    activity of the previous page. Execution ids are time-ordered (UUIDv7)."""
    fills = _fills_of(user).select_related("buy_order", "sell_order")
    if after:
        fills = fills.filter(created_at__gt=after)
    if until:
        fills = fills.filter(created_at__lt=until)
    if page_token:
        last = _activity_execution_id(page_token)
        fills = fills.filter(pk__gt=last) if ascending else fills.filter(pk__lt=last)
    page = list(fills.order_by("pk" if ascending else "-pk")[: min(page_size, MAX_ACTIVITIES_PAGE)])
    mine = {
        e.pk: (e.buy_order if e.buy_order and e.buy_order.user_id == user.pk else e.sell_order)
        for e in page
    }
    order_ids = {order.pk for order in mine.values() if order is not None}
    # Cumulative quantity per order up to each fill, from all of that order's fills.
    cumulative: dict[UUID, int] = {}
    running: dict[UUID, int] = defaultdict(int)
    for execution_id, buy_id, sell_id, quantity in (
        Execution.objects.filter(Q(buy_order_id__in=order_ids) | Q(sell_order_id__in=order_ids))
        .order_by("pk")
        .values_list("pk", "buy_order_id", "sell_order_id", "quantity")
    ):
        for order_id in (buy_id, sell_id):
            if order_id in order_ids:
                running[order_id] += quantity
                order = mine.get(execution_id)
                if order is not None and order.pk == order_id:
                    cumulative[execution_id] = running[order_id]
    account = account_ensure(user=user)
    rows = []
    for execution in page:
        order = mine[execution.pk]
        if order is None:
            continue
        cum = cumulative.get(execution.pk, execution.quantity)
        rows.append(
            {
                "id": activity_id(execution),
                "account_id": str(account.pk),
                "activity_type": "FILL",
                "transaction_time": rfc3339(execution.created_at),
                "type": "fill" if cum >= order.quantity else "partial_fill",
                "price": str(execution.price),
                "qty": str(execution.quantity),
                "side": order.side.lower(),
                "symbol": execution.symbol_id,
                "leaves_qty": str(max(order.quantity - cum, 0)),
                "order_id": str(order.pk),
                "cum_qty": str(cum),
                "order_status": ORDER_STATUS[order.status],  # type: ignore[index]
            }
        )
    return rows


def activity_id(execution: Execution) -> str:
    return f"{execution.created_at:%Y%m%d%H%M%S%f}::{execution.pk}"


def _activity_execution_id(token: str) -> UUID:
    try:
        return UUID(token.rpartition("::")[2])
    except ValueError as exc:
        raise ValidationFailed(
            "page_token: the id of an activity.", details={"page_token": ["invalid"]}
        ) from exc


# --- market data ---------------------------------------------------------------------------


def latest_quotes(*, symbols: list[Symbol]) -> dict[str, dict[str, Any]]:
    quotes: dict[str, dict[str, Any]] = {}
    for symbol in symbols:
        book = order_book(symbol=symbol, levels=1)
        bid = book.bids[0] if book.bids else None
        ask = book.asks[0] if book.asks else None
        quotes[symbol.pk] = {
            "t": rfc3339(symbol.updated_at),
            "ax": EXCHANGE,
            "ap": float(ask.price) if ask else 0.0,
            "as": ask.quantity if ask else 0,
            "bx": EXCHANGE,
            "bp": float(bid.price) if bid else 0.0,
            "bs": bid.quantity if bid else 0,
            "c": [],
            "z": "",
        }
    return quotes


def _trade_data(execution: Execution) -> dict[str, Any]:
    return {
        "t": rfc3339(execution.created_at),
        "x": EXCHANGE,
        "p": float(execution.price),
        "s": execution.quantity,
        "c": [],
        "i": execution.pk.int,
        "z": "",
    }


def latest_trades(*, symbols: list[Symbol]) -> dict[str, dict[str, Any]]:
    """The last fill of each symbol; a symbol nothing traded in yet is left out, as Alpaca
    leaves out symbols without data."""
    trades: dict[str, dict[str, Any]] = {}
    for symbol in symbols:
        last = Execution.objects.filter(symbol=symbol).order_by("-created_at").first()
        if last is not None:
            trades[symbol.pk] = _trade_data(last)
    return trades


@dataclass(frozen=True)
class TimeFrame:
    amount: int
    unit: str  # Min, Hour, Day, Week

    @property
    def minutes(self) -> int:
        return self.amount * {"Min": 1, "Hour": 60, "Day": 1440, "Week": 10080}[self.unit]

    def bucket(self, at: datetime) -> datetime:
        if self.unit == "Week":
            day = at.date() - timedelta(days=at.weekday())
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        if self.unit == "Day":
            return datetime(at.year, at.month, at.day, tzinfo=UTC)
        step = self.minutes * 60
        return datetime.fromtimestamp(int(at.timestamp()) // step * step, tz=UTC)


TIMEFRAME_RE = re.compile(r"^(\d{1,2})(Min|T|Hour|H|Day|D|Week|W)$")
UNIT_ALIASES = {"T": "Min", "H": "Hour", "D": "Day", "W": "Week"}
UNIT_LIMITS = {"Min": 59, "Hour": 23, "Day": 1, "Week": 1}


def timeframe_parse(raw: str | None) -> TimeFrame:
    match = TIMEFRAME_RE.match(raw or "")
    unit = UNIT_ALIASES.get(match.group(2), match.group(2)) if match else ""
    amount = int(match.group(1)) if match else 0
    if not match or not 1 <= amount <= UNIT_LIMITS[unit]:
        raise ValidationFailed(
            "timeframe: 1-59Min, 1-23Hour, 1Day or 1Week (our candles are one minute; months "
            "are not served).",
            details={"timeframe": ["invalid"]},
        )
    return TimeFrame(amount, unit)


def _bars(
    *, symbols: list[Symbol], timeframe: TimeFrame, start: datetime, end: datetime
) -> dict[str, list[dict[str, Any]]]:
    candles = list(
        Candle.objects.filter(symbol__in=symbols, start__gte=start, start__lt=end)
        .order_by("symbol_id", "start")
        .values_list("symbol_id", "start", "open", "high", "low", "close", "volume")[
            : MAX_CANDLES_READ + 1
        ]
    )
    if len(candles) > MAX_CANDLES_READ:
        raise ValidationFailed(
            f"start: the range holds more than {MAX_CANDLES_READ} one-minute candles; narrow it.",
            details={"start": ["range too long"]},
        )
    notional = ExpressionWrapper(
        F("price") * F("quantity"), output_field=DecimalField(max_digits=24, decimal_places=4)
    )
    trade_minutes = (
        Execution.objects.filter(symbol__in=symbols, created_at__gte=start, created_at__lt=end)
        .annotate(minute=TruncMinute("created_at"))
        .values("symbol_id", "minute")
        .annotate(trades=Count("id"), shares=Sum("quantity"), value=Sum(notional))
    )
    flow: dict[tuple[str, datetime], list[Any]] = defaultdict(lambda: [0, 0, ZERO])
    for row in trade_minutes:
        key = (row["symbol_id"], timeframe.bucket(row["minute"]))
        flow[key][0] += row["trades"]
        flow[key][1] += row["shares"] or 0
        flow[key][2] += row["value"] or ZERO
    bars: dict[str, list[dict[str, Any]]] = defaultdict(list)
    current: dict[str, Any] | None = None
    current_key: tuple[str, datetime] | None = None
    for code, at, o, h, low, c, v in candles:
        key = (code, timeframe.bucket(at))
        if key != current_key:
            current_key = key
            current = {"t": rfc3339(key[1]), "o": o, "h": h, "l": low, "c": c, "v": 0}
            bars[code].append(current)
        assert current is not None
        current["h"] = max(current["h"], h)
        current["l"] = min(current["l"], low)
        current["c"] = c
        current["v"] += v
    for code, rows in bars.items():
        for bar in rows:
            trades, shares, value = flow.get((code, _parse_t(bar["t"])), (0, 0, ZERO))
            bar.update(
                o=float(bar["o"]),
                h=float(bar["h"]),
                l=float(bar["l"]),
                c=float(bar["c"]),
                n=trades,
                vw=float((value / shares).quantize(Decimal("0.0001"))) if shares else None,
            )
    return bars


def _parse_t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "page_token: use the next_page_token of the previous page.",
            details={"page_token": ["invalid"]},
        ) from exc
    return max(offset, 0)


def bars_view(
    *,
    symbols: list[Symbol],
    timeframe: TimeFrame,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    page_token: str | None,
    descending: bool,
) -> dict[str, Any]:
    """Bars from our one-minute candles (prices from the reference walk and fills, volume from
    fills), `n` and `vw` from the fills themselves. Paged over all symbols together, as Alpaca
    pages: `limit` bars per page, symbol by symbol."""
    now = timezone.now()
    end = min(end or now, now)
    start = start or datetime(now.year, now.month, now.day, tzinfo=UTC)
    if start >= end:
        raise ValidationFailed("start: must be before end.", details={"start": ["after end"]})
    by_symbol = _bars(symbols=symbols, timeframe=timeframe, start=start, end=end)
    flat = [
        (symbol.pk, bar)
        for symbol in symbols
        for bar in (
            reversed(by_symbol.get(symbol.pk, [])) if descending else by_symbol.get(symbol.pk, [])
        )
    ]
    offset = _page_offset(page_token)
    page = flat[offset : offset + limit]
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for code, bar in page:
        out[code].append(bar)
    more = offset + limit < len(flat)
    token = base64.urlsafe_b64encode(f"offset:{offset + limit}".encode()).decode() if more else None
    return {"bars": dict(out), "next_page_token": token}


def snapshots_view(*, symbols: list[Symbol]) -> dict[str, dict[str, Any]]:
    now = timezone.now()
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    quotes = latest_quotes(symbols=symbols)
    trades = latest_trades(symbols=symbols)
    minute = TimeFrame(1, "Min")
    day = TimeFrame(1, "Day")
    snapshots: dict[str, dict[str, Any]] = {}
    for symbol in symbols:
        last_candle = Candle.objects.filter(symbol=symbol).order_by("-start").first()
        minute_bar = None
        if last_candle is not None:
            minute_bar = _bars(
                symbols=[symbol],
                timeframe=minute,
                start=last_candle.start,
                end=last_candle.start + timedelta(minutes=1),
            ).get(symbol.pk, [None])[0]
        daily = _bars(symbols=[symbol], timeframe=day, start=today, end=now).get(symbol.pk, [])
        previous_day = (
            Candle.objects.filter(symbol=symbol, start__lt=today).order_by("-start").first()
        )
        prev_bar = None
        if previous_day is not None:
            prev_start = day.bucket(previous_day.start)
            prev_bar = _bars(
                symbols=[symbol],
                timeframe=day,
                start=prev_start,
                end=prev_start + timedelta(days=1),
            ).get(symbol.pk, [None])[0]
        snapshots[symbol.pk] = {
            "latestTrade": trades.get(symbol.pk),
            "latestQuote": quotes[symbol.pk],
            "minuteBar": minute_bar,
            "dailyBar": daily[0] if daily else None,
            "prevDailyBar": prev_bar,
        }
    return snapshots


def order_by_client_id(*, user: User, client_order_id: str) -> Order | None:
    return Order.objects.filter(user=user, client_order_id=client_order_id).first()


def orders_view(
    *,
    user: User,
    status: str,
    limit: int,
    after: datetime | None,
    until: datetime | None,
    ascending: bool,
    symbols: list[str],
    side: str | None,
) -> QuerySet[Order]:
    orders = Order.objects.filter(user=user)
    if status == "open":
        orders = orders.filter(status__in=CANCELABLE_STATUSES)
    elif status == "closed":
        orders = orders.exclude(status__in=CANCELABLE_STATUSES)
    if after:
        orders = orders.filter(created_at__gt=after)
    if until:
        orders = orders.filter(created_at__lt=until)
    if symbols:
        orders = orders.filter(symbol_id__in=symbols)
    if side:
        orders = orders.filter(side=side.upper())
    return orders.order_by("created_at" if ascending else "-created_at")[:limit]
