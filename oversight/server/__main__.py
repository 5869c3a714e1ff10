"""Run the oversight gRPC service.

    python -m oversight.server [--host HOST] [--port PORT] [--data-dir DIR]

Defaults come from OVERSIGHT_GRPC_URL (host:port, default 127.0.0.1:50052) and DATA_DIR
(default data/); the store is DATA_DIR/oversight.sqlite3. Prints "oversight listening on
HOST:PORT" once it accepts calls; SIGTERM or SIGINT stops it gracefully.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from oversight.server.service import build_server
from oversight.server.store import FILE_NAME, Store
from trading_demo.logs import configure_process_logging

DEFAULT_URL = "127.0.0.1:50052"
STOP_GRACE_SECONDS = 5.0


def split_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {target!r}")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    default_host, default_port = split_target(os.environ.get("OVERSIGHT_GRPC_URL", DEFAULT_URL))
    parser = argparse.ArgumentParser(prog="python -m oversight.server", description=__doc__)
    parser.add_argument("--host", default=default_host)
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DATA_DIR", "data")))
    parser.add_argument("--workers", type=int, default=16, help="gRPC worker threads")
    args = parser.parse_args(argv)
    configure_process_logging(level="INFO")

    args.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(args.data_dir / FILE_NAME)
    server, health, port = build_server(
        store, host=args.host, port=args.port, max_workers=args.workers
    )
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.start()
    print(f"oversight listening on {args.host}:{port}", flush=True)
    stopping.wait()

    health.enter_graceful_shutdown()
    server.stop(STOP_GRACE_SECONDS).wait()
    store.close()
    print("oversight stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
