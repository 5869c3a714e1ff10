"""The order path through the database: `order_submit` (validation aside) on a fresh SQLite
database — symbol lock, reservation, matching against the market maker's quotes, fills,
positions, candles and events queued for commit.

    python -m bench.orders [--orders N]

Runs in a temporary DATA_DIR so it never touches your data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="bench-orders-")
    os.environ.update(
        {
            "DATA_DIR": data_dir,
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-key",
            "DJANGO_SETTINGS_MODULE": "trading_demo.settings",
            "STARTING_CASH": "1000000000.00",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    import random
    from decimal import Decimal

    from django.core.management import call_command

    from trades.market import SYMBOLS
    from trades.models import Symbol
    from trades.services import OrderRequest, order_submit, quotes_refresh, symbols_seed
    from trading_demo.models import Role
    from trading_demo.services import user_create

    call_command("migrate", verbosity=0)
    symbols_seed(rows=[(code, *values) for code, values in SYMBOLS.items()])
    user = user_create(email="bench@example.com", password=None, role=Role.TRADER)
    rng = random.Random(1)
    symbols = list(Symbol.objects.all())
    latencies: list[float] = []
    fills = 0
    for n in range(args.orders):
        symbol = symbols[n % len(symbols)]
        if n % 50 == 0:
            for s in symbols:
                quotes_refresh(symbol=s, rng=rng)
        market = n % 3 != 2
        side = "BUY" if n % 4 != 3 else "SELL"
        request = OrderRequest(
            symbol=symbol.symbol,
            side=side,
            quantity=rng.randint(1, 20),
            order_type="MARKET" if market else "LIMIT",
            price=None
            if market
            else (symbol.reference_price * Decimal("0.99")).quantize(Decimal("0.01")),
            time_in_force="IOC" if market else "GTC",
            client_order_id=f"b-{n}",
        )
        started = time.perf_counter()
        try:
            result = order_submit(user=user, request=request)
            fills += result.order.filled_quantity > 0
        except Exception as exc:  # selling what is not held is refused: part of the mix
            if "insufficient" not in type(exc).__name__.lower():
                raise
        latencies.append(time.perf_counter() - started)
    total = sum(latencies)
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(
        f"orders (service, SQLite): {args.orders} orders in {total:.2f} s = "
        f"{args.orders / total:,.0f} orders/s (orders with fills {fills}, "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms)"
    )
    # The metering step on the order path is the quota sum and one outbox insert; no gRPC call
    # is made while an order is placed. Its cost, measured alone:
    from django.db import transaction

    from metering.services import quota_ensure_available, usage_record

    started = time.perf_counter()
    for _ in range(args.orders):
        quota_ensure_available(user_id=user.pk)
        with transaction.atomic():
            usage_record(user_id=user.pk, operation="trade.execute")
    metering = (time.perf_counter() - started) / args.orders * 1000
    print(
        f"metering step (quota check + outbox insert, no gRPC): {metering:.2f} ms per order, "
        f"{metering / (total / args.orders * 1000) * 100:.1f} % of the mean order latency"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
