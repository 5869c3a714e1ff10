"""The market process's writes: each tick moves every symbol's reference price, refreshes the
market maker's quotes around it, lets the simulated crowd trade against them (so candles, the
tape and the typical volume the risk rules read are real) and triggers the stops the move
crossed — all symbols in one short transaction with a handful of bulk statements — plus
sessions, halts and the seed.

The crowd trades with the market maker only: its prints are executions with no order on
either side, so no account, position or reservation changes, and users' resting orders are
not filled by it (they trade when a user's order or the maker's quotes cross them)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.ledger import Ledger
from portfolio.models import Account
from trades.market import Print, crowd_prints, next_reference, quote_ladder
from trades.models import (
    CANCELABLE_STATUSES,
    Candle,
    Execution,
    MarketSession,
    Order,
    OrderStatus,
    OrderType,
    Quote,
    Symbol,
)
from trades.services.events import tick_data
from trades.services.matching import order_close, trigger_stops
from trading_demo.prepared import rows_insert, rows_update
from trading_demo.realtime import publish


def current_session() -> MarketSession:
    """The open session, opening one when there is none."""
    session = MarketSession.objects.filter(closed_at__isnull=True).order_by("-opened_at").first()
    if session is None:
        now = timezone.now()
        session = MarketSession.objects.create(
            opened_at=now, closes_at=now + timedelta(minutes=settings.MARKET_SESSION_MINUTES)
        )
    return session


def session_roll(*, now: datetime | None = None) -> MarketSession:
    """Close the session when its time is up: expire its DAY orders and open the next one,
    with each symbol's session-open price reset to its reference."""
    now = now or timezone.now()
    session = current_session()
    if session.closes_at > now:
        return session
    with transaction.atomic():
        ledger = Ledger()
        for order in (
            Order.objects.select_for_update()
            .filter(session=session, status__in=CANCELABLE_STATUSES)
            .order_by("seq")
        ):
            order_close(
                order,
                OrderStatus.EXPIRED,
                "Day order expired at the session close.",
                ledger=ledger,
            )
        session.closed_at = now
        session.save(update_fields=["closed_at"])
        for symbol in Symbol.objects.select_for_update():
            symbol.session_open_price = symbol.reference_price
            symbol.save(update_fields=["session_open_price"])
        return MarketSession.objects.create(
            opened_at=now, closes_at=now + timedelta(minutes=settings.MARKET_SESSION_MINUTES)
        )


def market_ticks(
    *,
    rng: random.Random,
    dt_years: float,
    now: datetime | None = None,
    symbol_ids: Iterable[str] | None = None,
) -> list[Symbol]:
    """Move every symbol (or those named) one step in one transaction: references, candles and
    quotes written in bulk, then the stops the moves crossed; a price tick and a book event per
    symbol after commit."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = Symbol.objects.select_for_update().order_by("symbol")
        if symbol_ids is not None:
            rows = rows.filter(pk__in=list(symbol_ids))
        symbols = list(rows)
        for symbol in symbols:
            if not symbol.halted:
                symbol.reference_price = next_reference(
                    symbol.reference_price,
                    volatility=symbol.volatility,
                    dt_years=dt_years,
                    rng=rng,
                )
            symbol.last_price = symbol.reference_price
            symbol.updated_at = now
        best = quotes_refresh(symbols=symbols, rng=rng)
        prints = {
            symbol.pk: crowd_prints(bid=best[symbol.pk][0], ask=best[symbol.pk][1], rng=rng)
            for symbol in symbols
            if not symbol.halted and symbol.pk in best
        }
        for symbol in symbols:
            if prints.get(symbol.pk):
                symbol.last_trade_price = prints[symbol.pk][-1].price
        rows_update(symbols, ["reference_price", "last_price", "last_trade_price", "updated_at"])
        _candles_fold(symbols=symbols, at=now, prints=prints)
        rows_insert(
            Execution(
                symbol_id=code,
                price=trade.price,
                quantity=trade.quantity,
                aggressor_side=trade.side,
                created_at=now,
            )
            for code, trades in prints.items()
            for trade in trades
        )
        _stops_trigger(symbols=symbols)
        for symbol in symbols:
            publish("price:tick", tick_data(symbol), channel=f"prices:{symbol.pk}")
            publish("book:updated", {"symbol": symbol.pk}, channel=f"book:{symbol.pk}")
    return symbols


def market_tick(
    *, symbol_id: str, rng: random.Random, dt_years: float, now: datetime | None = None
) -> Symbol:
    """`market_ticks` for one symbol (the others keep their prices)."""
    return market_ticks(rng=rng, dt_years=dt_years, now=now, symbol_ids=[symbol_id])[0]


def _candles_fold(*, symbols: list[Symbol], at: datetime, prints: dict[str, list[Print]]) -> None:
    """Each symbol's reference price and the crowd's prints into its candle of this minute:
    one read, one bulk update, one bulk insert."""
    start = at.replace(second=0, microsecond=0)
    existing = {
        candle.symbol_id: candle
        for candle in Candle.objects.filter(symbol__in=symbols, start=start)
    }
    changed: list[Candle] = []
    new: list[Candle] = []
    for symbol in symbols:
        price = symbol.reference_price
        traded = prints.get(symbol.pk, [])
        prices = [trade.price for trade in traded]
        volume = sum(trade.quantity for trade in traded)
        candle = existing.get(symbol.pk)
        if candle is None:
            new.append(
                Candle(
                    symbol=symbol,
                    start=start,
                    open=price,
                    high=max([price, *prices]),
                    low=min([price, *prices]),
                    close=price,
                    volume=volume,
                )
            )
            continue
        candle.high = max([candle.high, price, *prices])
        candle.low = min([candle.low, price, *prices])
        candle.close = price
        candle.volume += volume
        changed.append(candle)
    rows_update(changed, ["high", "low", "close", "volume"])
    Candle.objects.bulk_create(new)


def _stops_trigger(*, symbols: list[Symbol]) -> None:
    """Trigger crossed stops, reading further only for symbols that have stops waiting."""
    waiting = set(
        Order.objects.filter(
            status=OrderStatus.OPEN,
            triggered_at__isnull=True,
            order_type__in=(OrderType.STOP, OrderType.STOP_LIMIT),
            symbol__in=[s for s in symbols if not s.halted],
        )
        .values_list("symbol_id", flat=True)
        .distinct()
    )
    ledger = Ledger()
    for symbol in symbols:
        if symbol.pk in waiting:
            trigger_stops(symbol=symbol, ledger=ledger)


def quotes_refresh(
    *, symbols: list[Symbol], rng: random.Random
) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """Rewrite the market maker's ladders around the symbols' references: one read, one bulk
    update, one bulk insert for levels that did not exist yet. A halted symbol shows none.
    Returns each quoted symbol's best bid and ask."""
    seq = time.time_ns()
    existing = {
        (quote.symbol_id, quote.side, quote.level): quote
        for quote in Quote.objects.filter(symbol__in=symbols)
    }
    changed: list[Quote] = []
    new: list[Quote] = []
    best: dict[str, tuple[Decimal | None, Decimal | None]] = {}
    for symbol in symbols:
        if symbol.halted:
            for (symbol_id, _, _), quote in existing.items():
                if symbol_id == symbol.pk and quote.quantity:
                    quote.quantity = 0
                    changed.append(quote)
            continue
        ladder = quote_ladder(symbol.reference_price, levels=settings.MARKET_MAKER_LEVELS, rng=rng)
        best[symbol.pk] = (
            max((q.price for q in ladder if q.side == "BUY"), default=None),
            min((q.price for q in ladder if q.side == "SELL"), default=None),
        )
        for level in ladder:
            found = existing.get((symbol.pk, level.side, level.level))
            if found is None:
                new.append(
                    Quote(
                        symbol=symbol,
                        side=level.side,
                        level=level.level,
                        price=level.price,
                        quantity=level.quantity,
                        seq=seq,
                    )
                )
                continue
            found.price, found.quantity, found.seq = level.price, level.quantity, seq
            changed.append(found)
    rows_update(changed, ["price", "quantity", "seq"])
    Quote.objects.bulk_create(new)
    return best


def symbols_seed(*, rows: Iterable[tuple[str, str, str, str]]) -> int:
    """Create the reference symbols that do not exist yet (idempotent)."""
    created = 0
    for code, name, price, volatility in rows:
        _, was_created = Symbol.objects.get_or_create(
            symbol=code,
            defaults={
                "name": name,
                "reference_price": Decimal(price),
                "session_open_price": Decimal(price),
                "last_price": Decimal(price),
                "volatility": Decimal(volatility),
            },
        )
        created += was_created
    return created


def symbol_set_halted(*, symbol: Symbol, halted: bool) -> Symbol:
    with transaction.atomic():
        symbol = Symbol.objects.select_for_update().get(pk=symbol.pk)
        symbol.halted = halted
        symbol.save(update_fields=["halted"])
        if halted:
            Quote.objects.filter(symbol=symbol).update(quantity=0)
        publish("price:tick", tick_data(symbol) | {"halted": halted}, channel=f"prices:{symbol.pk}")
    return symbol


def holders_notify(*, symbol_ids: Iterable[str]) -> int:
    """Tell every user holding one of these symbols that their portfolio's marks moved (the
    market process calls this once per tick, so at most once a second per user)."""
    user_ids = set(
        Account.objects.filter(positions__symbol_id__in=list(symbol_ids), positions__quantity__gt=0)
        .values_list("user_id", flat=True)
        .distinct()
    )
    for user_id in user_ids:
        publish("portfolio:updated", {"marks": True}, channel="portfolio", user_ids=[user_id])
    return len(user_ids)


def crowd_prints_prune(*, older_than: timedelta) -> int:
    """Drop the crowd's prints older than this (the candles keep their volume): a day of them
    is some 400,000 rows that nothing but the tape's last few read."""
    cutoff = timezone.now() - older_than
    deleted, _ = Execution.objects.filter(
        created_at__lt=cutoff, buy_order__isnull=True, sell_order__isnull=True
    ).delete()
    return deleted
