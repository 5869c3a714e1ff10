"""The market simulator: random walk, quotes, candles, session roll with DAY expiry, stops on
ticks, and one simulator at a time."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from portfolio.models import Account
from tests.trades.conftest import order_body, set_quotes
from trades.market import collar_bounds, next_reference, quote_ladder
from trades.models import Candle, MarketSession, Order, Quote, Symbol
from trades.services.market import current_session, market_tick, session_roll

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
    assert candle.close == symbol.reference_price and candle.volume == 0


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
