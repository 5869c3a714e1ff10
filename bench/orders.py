"""The order path through the database: `order_submit` (validation aside) on a fresh SQLite
database — symbol lock, the risk check on a real oversight server (started here on a free
port), reservation, matching against the market maker's quotes, fills, positions, candles and
events queued for commit.

    python -m bench.orders [--orders N]

Runs in a temporary DATA_DIR so it never touches your data.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start_oversight(data_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = Path(data_dir) / "oversight.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "oversight.server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                data_dir,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 15
    while b"oversight listening on" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the oversight server did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return process, f"127.0.0.1:{port}"


def percentile_ms(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * share) - 1, 0)] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="bench-orders-")
    oversight_process, oversight_url = start_oversight(data_dir)
    try:
        return run(args.orders, data_dir, oversight_url)
    finally:
        oversight_process.terminate()
        oversight_process.wait(timeout=10)


def run(orders: int, data_dir: str, oversight_url: str) -> int:
    os.environ.update(
        {
            "DATA_DIR": data_dir,
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-key",
            "DJANGO_SETTINGS_MODULE": "trading_demo.settings",
            "STARTING_CASH": "1000000000.00",
            "OVERSIGHT_GRPC_URL": oversight_url,
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
    from trades.services.market import quotes_refresh, symbols_seed
    from trades.services.orders import OrderRequest, order_submit
    from trading_demo.models import Role
    from trading_demo.services import user_create

    call_command("migrate", verbosity=0)
    symbols_seed(rows=[(code, *values) for code, values in SYMBOLS.items()])
    user = user_create(email="bench@example.com", password=None, role=Role.TRADER)
    rng = random.Random(1)
    symbols = list(Symbol.objects.all())
    latencies: list[float] = []
    fills = 0
    for n in range(orders):
        symbol = symbols[n % len(symbols)]
        if n % 50 == 0:
            quotes_refresh(symbols=symbols, rng=rng)
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
    p99 = percentile_ms(latencies, 0.99)
    print(
        f"orders (service, SQLite): {orders} orders in {total:.2f} s = "
        f"{orders / total:,.0f} orders/s (orders with fills {fills}, "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms)"
    )
    # The metering step on the order path is the quota sum and one outbox insert; no gRPC call
    # is made while an order is placed. Its cost, measured alone:
    from django.db import transaction

    from metering.services import quota_ensure_available, usage_record

    started = time.perf_counter()
    for _ in range(orders):
        quota_ensure_available(user_id=user.pk)
        with transaction.atomic():
            usage_record(user_id=user.pk, operation="trade.execute")
    metering = (time.perf_counter() - started) / orders * 1000
    print(
        f"metering step (quota check + outbox insert, no gRPC): {metering:.2f} ms per order, "
        f"{metering / (total / orders * 1000) * 100:.1f} % of the mean order latency"
    )
    # The risk step: one EvaluateRisk round trip to the oversight server, measured alone.
    from oversight import client as oversight

    symbol = symbols[0]
    calls: list[float] = []
    for n in range(orders):
        started = time.perf_counter()
        oversight.evaluate_risk(
            request_id=f"bench-{n}",
            user_id=user.pk,
            symbol=symbol.symbol,
            side="BUY",
            order_type="MARKET",
            quantity=10,
            price=symbol.reference_price,
            reference_price=symbol.reference_price,
            equity=Decimal("100000"),
            cash=Decimal("100000"),
            position_quantity=0,
            symbol_volatility=symbol.volatility,
            visible_depth=1000,
            recent_order_count=1,
        )
        calls.append(time.perf_counter() - started)
    mean = sum(calls) / len(calls) * 1000
    print(
        f"risk step (EvaluateRisk over gRPC): mean {mean:.2f} ms, "
        f"p50 {statistics.median(calls) * 1000:.2f} ms, p99 {percentile_ms(calls, 0.99):.2f} ms, "
        f"{mean / (total / orders * 1000) * 100:.1f} % of the mean order latency"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
