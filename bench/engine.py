"""Throughput of the in-memory matching engine on a seeded, realistic order flow.

    python -m bench.engine [--orders N] [--seed S]

The workload is built up front (orders, prices and cancel targets) so that only the
`OrderBook` calls are timed. It mirrors what the order service does per order: GTC limit
orders are matched and their remainder rested, IOC and market orders are matched and the rest
dropped, FOK orders are matched all-or-none, and cancels remove a recent order that may
already have filled. Deliberately free of Django: it measures the engine alone.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal

from trades.engine import BookOrder, OrderBook, Side

MID_TICKS = 10_000  # 100.00 in cents
OWNERS: list[int | None] = [None, *range(1, 41)]  # the market maker plus 40 accounts


@dataclass(slots=True)
class Submit:
    order: BookOrder
    tif: str  # GTC rests the remainder, IOC drops it, FOK is all-or-none


@dataclass(slots=True)
class Cancel:
    order_id: str


def build_workload(count: int, seed: int) -> list[Submit | Cancel]:
    rng = random.Random(seed)
    prices = {t: Decimal(t).scaleb(-2) for t in range(MID_TICKS - 500, MID_TICKS + 501)}
    workload: list[Submit | Cancel] = []
    recent: list[str] = []
    mid = MID_TICKS
    for seq in range(count):
        roll = rng.random()
        if roll < 0.25 and recent:
            # Traders mostly cancel what they placed lately; some of it has already filled.
            workload.append(Cancel(recent[rng.randrange(max(0, len(recent) - 2_000), len(recent))]))
            continue
        # A slow random walk keeps the market moving without drifting out of the band.
        if rng.random() < 0.05:
            mid = min(max(mid + rng.choice((-1, 1)), MID_TICKS - 300), MID_TICKS + 300)
        side: Side = "BUY" if rng.random() < 0.5 else "SELL"
        sign = 1 if side == "BUY" else -1
        if roll < 0.30:
            price, tif = None, rng.choice(("IOC", "FOK"))
        else:
            # Most limit orders rest a few ticks behind the mid; the aggressive tail crosses.
            offset = rng.randint(-25, 6)
            price = prices[mid + sign * offset]
            tif = rng.choices(("GTC", "IOC", "FOK"), weights=(85, 10, 5))[0]
        order_id = f"o{seq}"
        order = BookOrder(
            id=order_id,
            owner=rng.choice(OWNERS),
            side=side,
            price=price,
            quantity=rng.choice((1, 5, 10, 25, 50, 100, 100, 200, 500)),
            seq=seq,
        )
        workload.append(Submit(order, tif))
        if tif == "GTC":
            recent.append(order_id)
    return workload


def run(workload: list[Submit | Cancel]) -> tuple[float, int, int, list[float]]:
    book = OrderBook()
    latencies: list[float] = []
    fills = crossing = 0
    clock = time.perf_counter
    for op in workload:
        if isinstance(op, Cancel):
            start = clock()
            book.remove(op.order_id)
            latencies.append(clock() - start)
            continue
        order = op.order
        start = clock()
        result = book.match(order, all_or_none=op.tif == "FOK")
        if op.tif == "GTC" and order.quantity:
            book.add(order)
        latencies.append(clock() - start)
        fills += len(result.fills)
        crossing += bool(result.fills)
    return sum(latencies), fills, crossing, latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000, help="operations to run")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.orders <= 0:
        parser.error("--orders must be positive")

    workload = build_workload(args.orders, args.seed)
    elapsed, fills, crossing, latencies = run(workload)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    submits = sum(isinstance(op, Submit) for op in workload)
    print(
        f"engine: {args.orders} orders in {elapsed:.2f} s = {args.orders / elapsed:,.0f} orders/s"
        f" (fills {fills:,}, p50 {cuts[49] * 1e6:.1f} µs, p99 {cuts[98] * 1e6:.1f} µs per order;"
        f" {crossing / max(submits, 1):.0%} of submitted orders crossed,"
        f" {args.orders - submits:,} cancels)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
