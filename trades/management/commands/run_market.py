"""The market simulator process: every tick moves each symbol's reference price, refreshes the
market maker's quotes, triggers stops, and rolls the session (expiring DAY orders)."""

from __future__ import annotations

import fcntl
import logging
import os
import random
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from alerts.services import price_alerts_evaluate
from portfolio.services import snapshots_take_all
from trades.market import TRADING_SECONDS_PER_YEAR
from trades.services.market import (
    crowd_prints_prune,
    holders_notify,
    market_ticks,
    session_roll,
)
from trading_demo.realtime import relay_prune, use_database_relay_if_needed
from trading_demo.shutdown import StopSignal

logger = logging.getLogger(__name__)
LOCK_KEY = "trading_demo:market-simulator"
PRUNE_EVERY_TICKS = 10  # relayed events are kept two minutes: pruning each tick would only cost
# The crowd's prints feed the tape and the candles (which keep their volume); a few hours of
# them are plenty, pruned every ten minutes or so.
CROWD_PRINTS_KEPT = timedelta(hours=6)
CROWD_PRUNE_EVERY_TICKS = 600


class SingleRunner:
    """Only one simulator may run: a Redis lock with a lease when REDIS_URL is set (processes
    on several machines), else an exclusive file lock in DATA_DIR (processes on this one)."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.lease_ms = max(3000, int(settings.MARKET_TICK_SECONDS * 5000))
        self.redis: Any = None
        self.file: Any = None
        if settings.REDIS_URL:
            import redis

            self.redis = redis.Redis.from_url(settings.REDIS_URL)

    def acquire(self) -> bool:
        if self.redis is not None:
            if self.redis.set(LOCK_KEY, self.token, nx=True, px=self.lease_ms):
                return True
            return self.renew()
        if self.file is None:
            self.file = open(settings.DATA_DIR / "market.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def renew(self) -> bool:
        if self.redis is None:
            return True
        # Extend the lease only if it is still ours (atomic compare-and-extend).
        script = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
        )
        return bool(self.redis.eval(script, 1, LOCK_KEY, self.token, self.lease_ms))

    def release(self) -> None:
        if self.redis is not None:
            script = (
                "if redis.call('get', KEYS[1]) == ARGV[1] then "
                "return redis.call('del', KEYS[1]) else return 0 end"
            )
            self.redis.eval(script, 1, LOCK_KEY, self.token)
        elif self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)


class Command(BaseCommand):
    help = "Run the simulated market (one per deployment)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--ticks", type=int, default=0, help="stop after this many ticks (0: run until stopped)"
        )
        parser.add_argument("--seed", type=int, default=settings.MARKET_SEED)

    def handle(self, *args: Any, ticks: int, seed: int, **options: Any) -> None:
        stopping = StopSignal()
        relay = use_database_relay_if_needed()
        runner = SingleRunner()
        while not runner.acquire():
            if stopping:
                return
            self.stdout.write("another market simulator holds the lock; standing by")
            time.sleep(settings.MARKET_TICK_SECONDS * 2)
        self.stdout.write(
            f"market simulator running (pid {os.getpid()}, seed {seed}, "
            f"events {'through the database relay' if relay else 'on the channel layer'})"
        )
        rng = random.Random(seed)
        interval = settings.MARKET_TICK_SECONDS
        dt_years = interval * settings.MARKET_TIME_SCALE / TRADING_SECONDS_PER_YEAR
        done = 0
        next_at = time.monotonic()
        snapshot_minute = -1
        try:
            while not stopping and (ticks == 0 or done < ticks):
                if not runner.renew():
                    self.stdout.write("lost the simulator lock; stopping")
                    break
                session_roll()
                symbols = market_ticks(rng=rng, dt_years=dt_years)
                for symbol in symbols:
                    price_alerts_evaluate(symbol_id=symbol.pk, price=symbol.last_price)
                holders_notify(symbol_ids=[symbol.pk for symbol in symbols])
                minute = int(time.time() // 60)
                if minute != snapshot_minute:
                    snapshots_take_all()
                    snapshot_minute = minute
                if relay and done % PRUNE_EVERY_TICKS == 0:
                    relay_prune()
                if done % CROWD_PRUNE_EVERY_TICKS == 0:
                    crowd_prints_prune(older_than=CROWD_PRINTS_KEPT)
                done += 1
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))
        finally:
            runner.release()
