"""Runs every process of the project in one terminal (`make run`).

Each child's output is prefixed with its name; Ctrl-C or SIGTERM stops them all; a child that
dies is reported and restarted with a growing delay (reset after it has stayed up a while).
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import multiprocess

from trading_demo.addresses import WILDCARDS, local_url

RESTART_DELAYS = (1, 2, 5, 10, 30)
STABLE_AFTER_SECONDS = 60
STOP_GRACE_SECONDS = 10
ROOT = Path(__file__).resolve().parent.parent
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    buffer: bytes = field(default=b"")

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - argv comes from our own table
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        say(self.name, f"started (pid {self.process.pid}): {' '.join(self.argv)}")


def granian_argv(app: str, *, host: str, port: str, workers: str, threads: str) -> list[str]:
    """Granian serving the WSGI `app` (also how the tests and the benchmark's reference serve)."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        port,
        "--workers",
        workers,
        "--blocking-threads",
        threads,
        "--respawn-failed-workers",
        "--log-level",
        "warning",
        app,
    ]


def processes() -> list[Child]:
    """HTTP and WebSockets are served apart, as measured on this 2-core machine (README,
    "Serving"): Granian runs the WSGI app in several worker processes on PORT (sync Django
    views under an ASGI server cost twice the CPU per request), and Daphne serves the sockets
    on WS_PORT, which the pages connect to by themselves. Without Redis the HTTP workers hand
    their events to the socket server through the database relay."""
    python = sys.executable
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    ws_port = os.environ.setdefault("WS_PORT", str(int(port) + 1))
    return [
        Child(
            "web",
            granian_argv(
                "trading_demo.wsgi:application",
                host=host,
                port=port,
                # 4 x 4, measured (README, "Benchmarks"): as many request slots as 2 x 8, and
                # a writer waits less for its process's lock on the interpreter.
                workers=os.environ.get("WEB_CONCURRENCY", "4"),
                # Threads per worker: an order waiting on the oversight service holds one,
                # so reads go on in the others.
                threads=os.environ.get("WEB_THREADS", "4"),
            ),
        ),
        Child(
            "sockets",
            [python, "-m", "daphne", "-b", host, "-p", ws_port, "trading_demo.asgi:application"],
        ),
        Child("market", [python, "manage.py", "run_market"]),
        Child("metering", [python, "-m", "metering.server"]),
        Child("oversight", [python, "-m", "oversight.server"]),
        Child("usage", [python, "manage.py", "deliver_usage"]),
        Child("slack", [python, "manage.py", "deliver_slack"]),
        Child("approvals", [python, "manage.py", "expire_approvals"]),
    ]


WIDTH = 10
READY_POLL_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 3.0


class Readiness:
    """Says once, on one line, where to go and how to sign in, when every part is healthy: the
    web's /healthz answers 200 (database, channel layer, both gRPC services) and the socket
    server accepts connections. Probed from a thread, so slow answers never hold up the
    children's output."""

    def __init__(self) -> None:
        self.url = os.environ.get("PUBLIC_URL", "").rstrip("/") or local_url()
        self.health_url = local_url() + "/healthz"
        host = os.environ.get("HOST", "127.0.0.1")
        host = WILDCARDS.get(host, host).strip("[]")
        self.ws_address = (host, int(os.environ.get("WS_PORT", "8001")))
        self.ready = threading.Event()
        self.stopped = threading.Event()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=PROBE_TIMEOUT_SECONDS) as answer:  # noqa: S310 - our own URL  # nosec
                if answer.status != 200:
                    return False
            with socket.create_connection(self.ws_address, timeout=PROBE_TIMEOUT_SECONDS):
                return True
        except (OSError, ValueError):
            return False

    def line(self) -> str:
        password = os.environ.get("DEMO_PASSWORD", "trading-demo")
        return f"ready: open {self.url}/ and sign in as trader@example.com / {password}"

    def watch(self) -> None:
        while not self.stopped.wait(READY_POLL_SECONDS):
            if self.healthy():
                self.ready.set()
                say("supervisor", self.line())
                return

    def start(self) -> None:
        threading.Thread(target=self.watch, name="readiness", daemon=True).start()


def say(name: str, line: str) -> None:
    sys.stdout.write(f"{name:<{WIDTH}}| {line}\n")
    sys.stdout.flush()


def run(children: list[Child], readiness: Readiness | None = None) -> int:
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    selector = selectors.DefaultSelector()
    for child in children:
        child.start()
        assert child.process is not None and child.process.stdout is not None
        selector.register(child.process.stdout, selectors.EVENT_READ, child)
    if readiness is not None:
        readiness.start()

    while not stopping:
        for key, _ in selector.select(timeout=0.5):
            child = key.data
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            child.buffer += chunk
            *lines, child.buffer = child.buffer.split(b"\n")
            for line in lines:
                say(child.name, line.decode(errors="replace"))
        now = time.monotonic()
        for child in children:
            _watch(child, now, selector)

    if readiness is not None:
        readiness.stopped.set()
    say("supervisor", "stopping all processes")
    for child in children:
        if child.process and child.process.poll() is None:
            os.killpg(child.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
    say("supervisor", "all stopped")
    return 0


def _watch(child: Child, now: float, selector: selectors.BaseSelector) -> None:
    process = child.process
    if process is None:
        return
    code = process.poll()
    if code is None:
        if child.failures and now - child.started_at > STABLE_AFTER_SECONDS:
            child.failures = 0
        return
    if child.restart_at is None:
        delay = RESTART_DELAYS[min(child.failures, len(RESTART_DELAYS) - 1)]
        child.failures += 1
        child.restart_at = now + delay
        say(child.name, f"exited with code {code}; restarting in {delay} s")
        if os.environ.get(METRICS_ENV):  # its gauges (open sockets) died with it
            multiprocess.mark_process_dead(process.pid)
        return
    if now >= child.restart_at:
        child.start()
        assert child.process is not None and child.process.stdout is not None
        selector.register(child.process.stdout, selectors.EVENT_READ, child)


def metrics_dir_prepare() -> Path:
    """Every child counts its metrics into files here (prometheus-client's multiprocess mode),
    so a scrape answered by any web worker sums all of them (trading_demo/metrics.py). The
    files of an earlier run go: their processes are gone."""
    data_dir = Path(os.environ.get("DATA_DIR") or ROOT / "data")
    path = Path(os.environ.get(METRICS_ENV) or data_dir / "prometheus")
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[METRICS_ENV] = str(path)
    return path


def main() -> int:
    metrics_dir_prepare()
    children = processes()
    return run(children, Readiness())


if __name__ == "__main__":
    raise SystemExit(main())
