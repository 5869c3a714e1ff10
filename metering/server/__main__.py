"""Run the metering service until SIGTERM or SIGINT, then stop gracefully.

Configuration: `METERING_GRPC_URL` (host:port, default 127.0.0.1:50051), `DATA_DIR` (default
`data/`), `METERING_DEFAULT_QUOTA` (operations per user per month, default 10,000),
`METERING_QUOTA_WARNING_PCT` / `METERING_QUOTA_CRITICAL_PCT` (the same quota thresholds the app
reads, defaults 80 and 95) and `METERING_LOG_LEVEL` (default INFO; DEBUG logs every call).
`--host`, `--port` and `--data-dir` override the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from metering.quota_rules import QuotaThresholds
from metering.server.service import serve
from metering.server.store import DEFAULT_QUOTA, Store
from trading_demo.logs import configure_process_logging

DEFAULT_TARGET = "127.0.0.1:50051"
GRACE_SECONDS = 5.0


def _split_target(target: str) -> tuple[str, int]:
    host, _, port = target.removeprefix("dns:///").rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"METERING_GRPC_URL must be host:port, not {target!r}")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    host, port = _split_target(os.environ.get("METERING_GRPC_URL") or DEFAULT_TARGET)
    parser = argparse.ArgumentParser(prog="python -m metering.server", description=__doc__)
    parser.add_argument("--host", default=host)
    parser.add_argument("--port", type=int, default=port, help="0 picks a free port")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DATA_DIR") or "data"))
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)

    configure_process_logging(level=os.environ.get("METERING_LOG_LEVEL", "INFO"))
    default_quota = int(os.environ.get("METERING_DEFAULT_QUOTA") or DEFAULT_QUOTA)
    try:
        thresholds = QuotaThresholds.from_env()
    except ValueError as exc:
        raise SystemExit(f"metering: {exc}") from None
    store = Store(
        args.data_dir / "metering.sqlite3", default_quota=default_quota, thresholds=thresholds
    )

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    try:
        running = serve(store, host=args.host, port=args.port, workers=args.workers)
    except RuntimeError as exc:  # grpc's way of saying the port could not be bound
        store.close()
        print(f"metering: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"metering listening on {running.host}:{running.port}", flush=True)
    stopping.wait()
    running.stop(GRACE_SECONDS)
    store.close()
    logging.getLogger("metering.server").info("metering stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
