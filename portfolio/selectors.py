"""Reads for accounts, positions and performance, valued at each symbol's mark.

The mark is the symbol's last price: its last trade, or the reference (the market maker's mid)
when the market has moved since.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Count, F, QuerySet, Sum
from django.utils import timezone

from portfolio.models import Account, EquitySnapshot, Position, RealizedTrade
from trading_demo.models import User
from trading_demo.prepared import PreparedQuery

CENT = Decimal("0.01")
ZERO = Decimal("0")
MAX_POSITIONS = 500
MAX_SNAPSHOTS = 100_000
MAX_CURVE_POINTS = 2_000
SECONDS_PER_YEAR = 365 * 24 * 3600

# Period -> (length, sampling interval of the equity series).
PERIODS: dict[str, tuple[timedelta | None, timedelta]] = {
    "day": (timedelta(days=1), timedelta(minutes=1)),
    "week": (timedelta(days=7), timedelta(minutes=15)),
    "month": (timedelta(days=30), timedelta(hours=1)),
    "all": (None, timedelta(hours=1)),
}


def pct(part: Decimal, whole: Decimal) -> Decimal:
    if not whole:
        return ZERO
    return (part / whole * 100).quantize(CENT)


@dataclass(frozen=True)
class PositionView:
    symbol: str
    name: str
    quantity: int
    reserved_quantity: int
    average_cost: Decimal
    cost_basis: Decimal
    mark: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    unrealized_pct: Decimal
    realized_pnl: Decimal
    change_today: Decimal
    allocation_pct: Decimal
    opened_at: datetime


@dataclass(frozen=True)
class AccountSummary:
    cash: Decimal
    reserved_cash: Decimal
    buying_power: Decimal
    positions_value: Decimal
    equity: Decimal
    starting_cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    day_change: Decimal
    return_pct: Decimal
    positions: list[PositionView] = field(default_factory=list)


def positions_value_query(account_id: UUID | str) -> QuerySet[Any, Any]:
    """One row, one column: what the account's open positions are worth at the last prices
    (no row when it holds nothing; `positions_value` turns either into money)."""
    return (
        Position.objects.filter(account_id=account_id, quantity__gt=0)
        .values("account_id")
        .annotate(total=Sum(F("quantity") * F("symbol__last_price")))
        .values_list("total")
        .order_by()
    )


# Read on every order and after every fill (trading_demo/prepared.py says why it is compiled once).
_POSITIONS_VALUE = PreparedQuery(positions_value_query, account_id=UUID)


def positions_value(total: Decimal | None) -> Decimal:
    return Decimal(total or 0).quantize(CENT)


def positions_value_of(*, account_id: UUID | str) -> Decimal:
    return positions_value(_POSITIONS_VALUE.scalar(account_id=account_id))


def positions_values_by_account() -> dict[object, Decimal]:
    rows = (
        Position.objects.filter(quantity__gt=0)
        .values("account_id")
        .annotate(total=Sum(F("quantity") * F("symbol__last_price")))
    )
    return {row["account_id"]: Decimal(row["total"]).quantize(CENT) for row in rows}


def _position_rows(account: Account, *, include_closed: bool) -> QuerySet[Position]:
    rows = Position.objects.filter(account=account).select_related("symbol").order_by("symbol")
    return rows if include_closed else rows.filter(quantity__gt=0)


def account_summary(*, user: User) -> AccountSummary | None:
    account = Account.objects.filter(user=user).first()
    if account is None:
        return None
    rows = list(_position_rows(account, include_closed=True)[:MAX_POSITIONS])
    open_rows = [row for row in rows if row.quantity > 0]
    positions_value = sum(
        ((row.symbol.last_price * row.quantity).quantize(CENT) for row in open_rows), ZERO
    )
    equity = account.cash + positions_value
    session_start = _session_start()
    views = []
    for row in open_rows:
        mark = row.symbol.last_price
        value = (mark * row.quantity).quantize(CENT)
        unrealized = value - row.cost_basis
        # Today's change: against the session's opening price, or against what was paid for a
        # position opened during this session.
        if session_start is not None and row.opened_at >= session_start:
            change_today = unrealized
        else:
            change_today = ((mark - row.symbol.session_open_price) * row.quantity).quantize(CENT)
        views.append(
            PositionView(
                symbol=row.symbol_id,
                name=row.symbol.name,
                quantity=row.quantity,
                reserved_quantity=row.reserved_quantity,
                average_cost=row.average_cost,
                cost_basis=row.cost_basis,
                mark=mark,
                market_value=value,
                unrealized_pnl=unrealized,
                unrealized_pct=pct(unrealized, row.cost_basis),
                realized_pnl=row.realized_pnl,
                change_today=change_today,
                allocation_pct=pct(value, equity),
                opened_at=row.opened_at,
            )
        )
    unrealized_total = sum((v.unrealized_pnl for v in views), ZERO)
    return AccountSummary(
        cash=account.cash,
        reserved_cash=account.reserved_cash,
        buying_power=account.buying_power,
        positions_value=positions_value,
        equity=equity,
        starting_cash=account.starting_cash,
        realized_pnl=sum((row.realized_pnl for row in rows), ZERO),
        unrealized_pnl=unrealized_total,
        day_change=sum((v.change_today for v in views), ZERO),
        return_pct=pct(equity - account.starting_cash, account.starting_cash),
        positions=views,
    )


def _session_start() -> datetime | None:
    from trades.models import MarketSession

    session = MarketSession.objects.filter(closed_at__isnull=True).order_by("-opened_at").first()
    return session.opened_at if session else None


SORT_KEYS = {
    "symbol": lambda p: p.symbol,
    "quantity": lambda p: p.quantity,
    "value": lambda p: p.market_value,
    "unrealized": lambda p: p.unrealized_pnl,
    "unrealized_pct": lambda p: p.unrealized_pct,
    "realized": lambda p: p.realized_pnl,
    "allocation": lambda p: p.allocation_pct,
    "change": lambda p: p.change_today,
}


def sort_positions(positions: list[PositionView], key: str) -> list[PositionView]:
    descending = key.startswith("-")
    func = SORT_KEYS.get(key.lstrip("-"), SORT_KEYS["symbol"])
    return sorted(positions, key=func, reverse=descending)  # type: ignore[arg-type]


def realized_statement(*, user: User) -> QuerySet[RealizedTrade]:
    return RealizedTrade.objects.filter(account__user=user).order_by("-created_at")


def allocation_slices(summary: AccountSummary) -> list[tuple[str, Decimal]]:
    slices = [(p.symbol, p.market_value) for p in summary.positions]
    return [*slices, ("Cash", summary.cash)]


# --- performance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Performance:
    period: str
    start: datetime
    end: datetime
    start_equity: Decimal
    end_equity: Decimal
    return_pct: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    max_drawdown_pct: Decimal
    volatility_pct: Decimal | None
    sharpe_ratio: Decimal | None
    sampling_seconds: int
    trades: int
    closed_trades: int
    win_rate_pct: Decimal | None
    best_trade: Decimal | None
    worst_trade: Decimal | None
    curve: list[tuple[datetime, Decimal]]
    drawdown: list[tuple[datetime, Decimal]]
    daily_pnl: list[tuple[date, Decimal]]


def resample(
    points: list[tuple[datetime, Decimal]],
    interval: timedelta,
) -> list[tuple[datetime, Decimal]]:
    """The last value in each interval bucket (a close), stamped with the bucket's start, for
    every bucket from the first point to the last: a bucket without a snapshot carries the
    previous close forward, so returns are measured over equal steps."""
    if not points:
        return []
    seconds = int(interval.total_seconds())
    closes: dict[int, Decimal] = {}
    for at, value in points:
        closes[int(at.timestamp()) // seconds] = value
    first, last = min(closes), max(closes)
    first = max(first, last - MAX_CURVE_POINTS + 1)
    tz = points[0][0].tzinfo
    series = []
    value = closes.get(first, points[0][1])
    for key in range(first, last + 1):
        value = closes.get(key, value)
        series.append((datetime.fromtimestamp(key * seconds, tz=tz), value))
    return series


def max_drawdown(values: list[Decimal]) -> tuple[Decimal, list[Decimal]]:
    """Largest fall from a running peak, in % of that peak, and the drawdown at each point."""
    peak = ZERO
    worst = ZERO
    series = []
    for value in values:
        peak = max(peak, value)
        down = ((peak - value) / peak * 100) if peak else ZERO
        series.append(-down.quantize(CENT))
        worst = max(worst, down)
    return worst.quantize(CENT), series


def volatility_and_sharpe(
    values: list[Decimal],
    interval: timedelta,
) -> tuple[Decimal | None, Decimal | None]:
    """Annualised volatility (%) and Sharpe ratio of simple returns between samples.

    r_i = v_i / v_(i-1) - 1; volatility = stdev(r) * sqrt(N); Sharpe = mean(r) / stdev(r) *
    sqrt(N), with the sample standard deviation, a zero risk-free rate, and N = samples per
    year = seconds in a 365-day year / sampling interval (the simulated market never closes).
    """
    returns = [float(b / a - 1) for a, b in itertools.pairwise(values) if a]
    if len(returns) < 2:
        return None, None
    deviation = statistics.stdev(returns)
    per_year = SECONDS_PER_YEAR / interval.total_seconds()
    volatility = Decimal(str(deviation * math.sqrt(per_year) * 100)).quantize(CENT)
    if deviation == 0:
        return volatility, None
    sharpe = statistics.fmean(returns) / deviation * math.sqrt(per_year)
    return volatility, Decimal(str(sharpe)).quantize(CENT)


def performance(*, user: User, period: str, now: datetime | None = None) -> Performance | None:
    account = Account.objects.filter(user=user).first()
    summary = account_summary(user=user)
    if account is None or summary is None:
        return None
    now = now or timezone.now()
    length, interval = PERIODS[period]
    # Never before the account existed: there is nothing to measure there.
    start = max(now - length, account.created_at) if length else account.created_at
    before = EquitySnapshot.objects.filter(account=account, at__lte=start).order_by("-at").first()
    # The latest snapshots when there are more than the bound: the end of the period is what
    # the trader is looking at.
    snapshots = list(
        EquitySnapshot.objects.filter(account=account, at__gt=start, at__lte=now)
        .order_by("-at")
        .values_list("at", "equity")[:MAX_SNAPSHOTS]
    )[::-1]
    start_equity = (
        before.equity if before else (snapshots[0][1] if snapshots else account.starting_cash)
    )
    points = [(start, start_equity), *snapshots, (now, summary.equity)]
    curve = resample(points, interval)[-MAX_CURVE_POINTS:]
    values = [value for _, value in curve]
    _, drawdown_series = max_drawdown(values)
    # The largest fall is measured on every snapshot, not on the sampled closes: a dip inside
    # one sampling interval is real, and a longer period (sampled more coarsely) must never
    # report less drawdown than a shorter one inside it.
    worst, _ = max_drawdown([value for _, value in points])
    volatility, sharpe = volatility_and_sharpe(values, interval)

    realized = RealizedTrade.objects.filter(
        account=account, created_at__gt=start, created_at__lte=now
    )
    stats = realized.aggregate(total=Sum("realized_pnl"), count=Count("id"))
    closed = int(stats["count"] or 0)
    wins = realized.filter(realized_pnl__gt=0).count()
    best = realized.order_by("-realized_pnl").values_list("realized_pnl", flat=True).first()
    worst_trade = realized.order_by("realized_pnl").values_list("realized_pnl", flat=True).first()
    from trades.models import Execution

    trades = (
        Execution.objects.filter(created_at__gt=start, created_at__lte=now)
        .filter(buy_order__user=user)
        .count()
        + Execution.objects.filter(created_at__gt=start, created_at__lte=now)
        .filter(sell_order__user=user)
        .count()
    )

    return Performance(
        period=period,
        start=start,
        end=now,
        start_equity=start_equity,
        end_equity=summary.equity,
        return_pct=pct(summary.equity - start_equity, start_equity),
        realized_pnl=Decimal(stats["total"] or 0).quantize(CENT),
        unrealized_pnl=summary.unrealized_pnl,
        max_drawdown_pct=worst,
        volatility_pct=volatility,
        sharpe_ratio=sharpe,
        sampling_seconds=int(interval.total_seconds()),
        trades=trades,
        closed_trades=closed,
        win_rate_pct=pct(Decimal(wins), Decimal(closed)) if closed else None,
        best_trade=best,
        worst_trade=worst_trade,
        curve=curve,
        drawdown=[(at, value) for (at, _), value in zip(curve, drawdown_series, strict=True)],
        daily_pnl=daily_pnl(points),
    )


def daily_pnl(points: list[tuple[datetime, Decimal]]) -> list[tuple[date, Decimal]]:
    """Equity change per UTC day: each day's last value minus the previous day's last."""
    closes: dict[date, Decimal] = {}
    for at, value in points:
        closes[at.date()] = value
    days = sorted(closes)
    changes = defaultdict(lambda: ZERO)
    previous = points[0][1] if points else ZERO
    for day in days:
        changes[day] = closes[day] - previous
        previous = closes[day]
    return [(day, changes[day]) for day in days]


@dataclass(frozen=True)
class LedgerCheck:
    accounts: int
    differences: list[str]


def ledger_check() -> LedgerCheck:
    """Recompute every account from its fills and compare with what is stored: cash = starting
    cash - what its buys paid + what its sells received; reserved cash = its open orders'
    reservations; each position = its net filled quantity, its reserved shares = its open
    sells' reservations. Reads everything: for operators, tests and benchmarks, not pages."""
    from trades.models import FINISHED_STATUSES, Execution, Order

    cash_moves: dict[object, Decimal] = defaultdict(Decimal)
    net_shares: dict[tuple[object, str], int] = defaultdict(int)
    fills = Execution.objects.values_list(
        "price", "quantity", "symbol_id", "buy_order__user_id", "sell_order__user_id"
    )
    for price, quantity, symbol, buyer, seller in fills.iterator(chunk_size=5000):
        if buyer is not None:
            cash_moves[buyer] -= price * quantity
            net_shares[(buyer, symbol)] += quantity
        if seller is not None:
            cash_moves[seller] += price * quantity
            net_shares[(seller, symbol)] -= quantity
    reserved_cash: dict[object, Decimal] = defaultdict(Decimal)
    reserved_shares: dict[tuple[object, str], int] = defaultdict(int)
    holding = Order.objects.exclude(status__in=FINISHED_STATUSES).values_list(
        "user_id", "symbol_id", "reserved_cash", "reserved_quantity"
    )
    for user_id, symbol, cash, shares in holding.iterator(chunk_size=5000):
        reserved_cash[user_id] += cash
        reserved_shares[(user_id, symbol)] += shares

    differences: list[str] = []
    accounts = list(Account.objects.select_related("user"))
    owner: dict[object, object] = {account.pk: account.user_id for account in accounts}
    email: dict[object, str] = {account.user_id: account.user.email for account in accounts}
    for account in accounts:
        who = account.user.email
        expected = account.starting_cash + cash_moves[account.user_id]
        if account.cash != expected:
            differences.append(f"{who}: cash {account.cash}, fills say {expected}")
        if account.reserved_cash != reserved_cash[account.user_id]:
            differences.append(
                f"{who}: reserved cash {account.reserved_cash}, "
                f"open orders hold {reserved_cash[account.user_id]}"
            )
    stored: set[tuple[object, str]] = set()
    for position in Position.objects.all().iterator(chunk_size=5000):
        key = (owner[position.account_id], position.symbol_id)
        stored.add(key)
        who = f"{email[key[0]]} {position.symbol_id}"
        if position.quantity != net_shares[key]:
            differences.append(f"{who}: {position.quantity} shares, fills say {net_shares[key]}")
        if position.reserved_quantity != reserved_shares[key]:
            differences.append(
                f"{who}: {position.reserved_quantity} shares reserved, "
                f"open sells hold {reserved_shares[key]}"
            )
    for (holder, symbol), shares in net_shares.items():
        if (holder, symbol) not in stored and shares:
            differences.append(
                f"{email.get(holder, str(holder))} {symbol}: no position, fills say {shares}"
            )
    return LedgerCheck(accounts=len(accounts), differences=differences)
