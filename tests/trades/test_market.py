"""The market simulator: random walk, quotes, the crowd's trades, candles with real volume,
session roll with DAY expiry, stops on ticks, and one simulator at a time."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portfolio.models import Account
from tests.trades.conftest import make_symbol, order_body, set_quotes
from trades.market import collar_bounds, next_reference, quote_ladder
from trades.models import Candle, Execution, MarketSession, Order, Quote, Side, Symbol
from trades.services import risk
from trades.services.market import (
    crowd_prints_prune,
    current_session,
    market_tick,
    market_ticks,
    session_roll,
)

pytestmark = pytest.mark.django_db
D = Decimal
ROOT = Path(__file__).resolve().parents[2]


def test_random_walk_is_seeded_and_on_the_cent_grid():
    def walk(seed: int) -> list[Decimal]:
        rng, price, out = random.Random(seed), D("100.00"), []
        for _ in range(50):
            price = next_reference(price, volatility=D("0.30"), dt_years=1e-4, rng=rng)
            out.append(price)
        return out

    assert walk(7) == walk(7)
    assert walk(7) != walk(8)
    assert all(p == p.quantize(D("0.01")) and p > 0 for p in walk(7))


def test_quote_ladder_brackets_the_reference():
    ladder = quote_ladder(D("200.00"), levels=5, rng=random.Random(1))
    bids = [q for q in ladder if q.side == "BUY"]
    asks = [q for q in ladder if q.side == "SELL"]
    assert len(bids) == len(asks) == 5
    assert max(q.price for q in bids) < D("200.00") < min(q.price for q in asks)
    assert all(q.quantity % 100 == 0 and 100 <= q.quantity <= 1000 for q in ladder)


def test_collar_bounds():
    assert collar_bounds(D("100.00"), 10) == (D("90.00"), D("110.00"))


def test_tick_moves_price_refreshes_quotes_and_builds_candle(acme):
    rng = random.Random(3)
    before = acme.reference_price
    symbol = market_tick(symbol_id="ACME", rng=rng, dt_years=1e-3)
    assert symbol.reference_price != before
    assert symbol.last_price == symbol.reference_price
    assert Quote.objects.filter(symbol=acme, quantity__gt=0).count() == 10
    candle = Candle.objects.get(symbol=acme)
    assert candle.close == symbol.reference_price
    traded = Execution.objects.filter(symbol=acme).aggregate(total=Sum("quantity"))["total"]
    assert candle.volume == (traded or 0)


def test_halted_symbol_does_not_move_and_shows_no_quotes(acme):
    acme.halted = True
    acme.save()
    symbol = market_tick(symbol_id="ACME", rng=random.Random(3), dt_years=1e-3)
    assert symbol.reference_price == D("100.00")
    assert not Quote.objects.filter(symbol=acme, quantity__gt=0).exists()


def test_stop_triggers_when_a_tick_crosses_it(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 10)])
    client_for(trader).post("/api/trades", order_body(), format="json")
    stop = (
        client_for(trader)
        .post(
            "/api/trades",
            order_body(type="SELL", order_type="STOP", stop_price="99.00", time_in_force="GTC"),
            format="json",
        )
        .json()
    )
    assert stop["status"] == "open"
    # Walk the price down with a large volatility until it crosses the stop.
    rng = random.Random(11)
    for _ in range(200):
        symbol = market_tick(symbol_id="ACME", rng=rng, dt_years=1e-2)
        if symbol.last_price <= D("99.00"):
            break
    order = Order.objects.get(pk=stop["id"])
    assert order.triggered_at is not None
    assert order.status == "filled"
    assert Account.objects.get(user=trader).positions.get().quantity == 0


def test_session_roll_expires_day_orders_only(client_for, trader, acme):
    api = client_for(trader)
    day = api.post(
        "/api/trades",
        order_body(order_type="LIMIT", price="99.00", time_in_force="DAY"),
        format="json",
    ).json()
    gtc = api.post(
        "/api/trades",
        order_body(order_type="LIMIT", price="98.00", time_in_force="GTC"),
        format="json",
    ).json()
    session = current_session()
    assert session_roll(now=session.closes_at - timedelta(seconds=1)).pk == session.pk
    new = session_roll(now=session.closes_at + timedelta(seconds=1))
    assert new.pk != session.pk
    assert MarketSession.objects.get(pk=session.pk).closed_at is not None
    expired = Order.objects.get(pk=day["id"])
    assert (expired.status, expired.reserved_cash) == ("expired", 0)
    assert Order.objects.get(pk=gtc["id"]).status == "open"
    assert Account.objects.get(user=trader).reserved_cash == D("980.00")


def test_only_one_simulator_runs_at_a_time(tmp_path, transactional_db):
    Symbol.objects.create(
        symbol="ACME",
        name="Acme",
        reference_price=D("100"),
        session_open_price=D("100"),
        last_price=D("100"),
        volatility=D("0.2"),
    )
    from tests.servers import child_env

    env = child_env(data_dir=tmp_path, MARKET_TICK_SECONDS="0.2")
    first = subprocess.Popen(
        [sys.executable, "manage.py", "run_market", "--ticks", "25"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)
    second = subprocess.run(
        [sys.executable, "manage.py", "run_market", "--ticks", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    first_out, _ = first.communicate(timeout=60)
    assert "running" in first_out
    assert "standing by" in second.stdout
    assert first.returncode == 0 and second.returncode == 0
    assert Symbol.objects.get().reference_price != D("100")


def _ticks(count: int, *, seed: int = 7, start=None, step=timedelta(seconds=10), **kw):
    rng, at = random.Random(seed), start or timezone.now() - timedelta(hours=1)
    for _ in range(count):
        market_ticks(rng=rng, dt_years=1e-4, now=at, **kw)
        at += step


def test_the_crowd_crosses_the_spread_and_the_candles_carry_its_volume(acme, trader):
    _ticks(30)
    prints = list(Execution.objects.filter(symbol=acme))
    assert len(prints) > 10
    assert all(t.buy_order_id is None and t.sell_order_id is None for t in prints)
    assert {t.aggressor_side for t in prints} == {Side.BUY, Side.SELL}
    volume = Candle.objects.filter(symbol=acme).aggregate(total=Sum("volume"))["total"]
    assert volume == sum(trade.quantity for trade in prints)
    acme.refresh_from_db()
    assert acme.last_trade_price is not None
    # Nobody's account moved: the crowd trades with the market maker only.
    assert not Account.objects.exists()


def test_the_crowd_buys_at_the_ask_and_sells_at_the_bid(acme):
    rng = random.Random(2)
    for _ in range(20):
        before = Execution.objects.count()
        market_ticks(rng=rng, dt_years=1e-4)
        bid = Quote.objects.filter(symbol=acme, side=Side.BUY).order_by("-price").first()
        ask = Quote.objects.filter(symbol=acme, side=Side.SELL).order_by("price").first()
        new = Execution.objects.order_by("-created_at")[: Execution.objects.count() - before]
        for trade in new:
            expected = ask.price if trade.aggressor_side == Side.BUY else bid.price
            assert trade.price == expected


def test_typical_volume_becomes_known_so_the_fat_finger_rule_can_act(acme):
    risk._volume_cache.clear()
    assert risk.typical_volume(symbol=acme) == 0
    # Twelve minutes of ticks, one every 10 s: enough one-minute candles that traded.
    _ticks(72)
    risk._volume_cache.clear()
    typical = risk.typical_volume(symbol=acme)
    assert typical > 0
    assert Candle.objects.filter(symbol=acme, volume__gt=0).count() >= 10


def test_a_halted_symbol_does_not_trade(acme):
    acme.halted = True
    acme.save()
    _ticks(10)
    assert not Execution.objects.filter(symbol=acme).exists()


def test_a_tick_writes_its_trades_in_bulk_whatever_their_number(db):
    """The idle market process's cost: a tick's statements do not grow with the number of
    symbols or trades (no per-trade round trips)."""
    for code in ("AAA", "BBB"):
        make_symbol(code)
    _ticks(1)  # first tick inserts the ladders and candles

    def statements(**kw) -> tuple[int, int]:
        before = Execution.objects.count()
        with CaptureQueriesContext(connection) as queries:
            _ticks(1, seed=kw.pop("seed"), start=timezone.now(), **kw)
        return len(queries), Execution.objects.count() - before

    few = statements(seed=1)
    for code in ("CCC", "DDD", "EEE", "FFF", "GGG", "HHH"):
        make_symbol(code)
    _ticks(1, start=timezone.now())
    many = statements(seed=5)
    assert many[1] > few[1]  # more trades written ...
    assert many[0] == few[0]  # ... by the same statements


def test_old_crowd_prints_are_pruned_and_user_fills_kept(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 10)])
    client_for(trader).post("/api/trades", order_body(), format="json")
    _ticks(20, start=timezone.now() - timedelta(hours=8))
    crowd = Execution.objects.filter(buy_order__isnull=True, sell_order__isnull=True)
    assert crowd.exists()
    removed = crowd_prints_prune(older_than=timedelta(hours=6))
    assert removed > 0 and not crowd.exists()
    assert Execution.objects.filter(buy_order__user=trader).count() == 1
