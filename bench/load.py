"""`make bench-load`: the whole stack under wrk, next to a bare Django + DRF reference.

    python -m bench.load [--seconds 10] [--quick] [--production]
                         [--database-url postgres://...bench] [--redis-url redis://.../14]
                         [--soak N]

Starts the stack the way `make run` does (fresh DATA_DIR, migrate, seed_demo, the supervisor)
on private ports, and the reference app (bench/reference) under gunicorn with 2 sync workers
and, for the GETs, under Granian as the stack's web is served. Then, at 1, 4 and 32
connections: small MARKET IOC buys from both demo traders (`POST /api/trades`, a unique
client_order_id each), the cheapest authenticated GET (`GET /api/auth/me`), one page (`GET /`,
session cookie), and the reference's one-row-insert POST and bare GET. Every stack figure is
also given as a ratio to the reference at the same connections: orders to the POST under
gunicorn, the GETs to the bare GET under Granian (the same server type). Then CPU seconds
per process group, the largest RSS, the idle market process's CPU, the WebSocket fan-out
spread and, once the stack has stopped, the ledger check.

Nothing is asserted about speed: a slow figure is a finding, only a crash is a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import requests

from bench.fanout import FanoutResult, raise_open_files, run_fanout
from bench.stack import (
    ROOT,
    ReferenceServer,
    Snapshot,
    Stack,
    StackConfig,
    all_procs,
    busiest,
    cpu_delta,
    load_average,
    machine_busy_seconds,
    merge,
    require_local,
)

WRK_DIR = Path(__file__).resolve().parent / "wrk"
TRADERS = ("trader@example.com", "trader2@example.com")
CONNECTIONS = (1, 4, 32)
# Besides the stack's and the reference's groups, a row's CPU goes to wrk (with this harness,
# which only waits for it) and to processes that are none of ours: those make a row's figures
# suspect on a 2-core machine, so they are measured and flagged.
WRK = "wrk"
OTHER = "other"
SUSPECT_SHARE = 0.1  # of the machine's capacity during a row
GROUP_ORDER = (
    "web",
    "sockets",
    "market",
    "metering",
    "oversight",
    "usage",
    "slack",
    "approvals",
    "postgres",
    "redis",
    "supervisor",
    "reference",
    WRK,
    OTHER,
)
SETTLE_SECONDS = 2.0
# Before each target's first row: a second of load at 4 connections, so lazy imports, the
# first database connections and gunicorn's worker start-up are not measured as latency.
WARMUP_SECONDS = 1.0
WARMUP_CONNECTIONS = 4


@dataclass(frozen=True)
class Target:
    """One kind of request driven by wrk; `versus` names the reference target it is compared
    with (None for the reference itself)."""

    name: str
    url: str
    script: str
    args: tuple[str, ...]
    versus: str | None
    # POST scripts: the first script argument, a prefix of every client_order_id; each run of
    # the target adds its own tag, since every run's counters start again at 1.
    nonce: str = ""

    def script_args(self, tag: str) -> tuple[str, ...]:
        return (self.nonce + tag, *self.args) if self.nonce else self.args


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int
    errors: dict[str, int]
    statuses: dict[str, int]
    samples: list[str]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Row:
    target: Target
    connections: int
    result: WrkResult
    cpu: dict[str, float]
    busiest_others: list[tuple[str, float]]


def wrk(target: Target, connections: int, seconds: float, timeout: float, tag: str) -> WrkResult:
    require_local(target.url)
    command = [
        "wrk",
        "--threads",
        str(min(connections, 2)),
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",  # wrk takes whole seconds only
        # wrk's default (2 s) would count the stack's slowest answers as timeouts instead of
        # measuring them.
        "--timeout",
        f"{max(1, round(timeout))}s",
        "--script",
        str(WRK_DIR / target.script),
        target.url,
        "--",
        *target.script_args(tag),
    ]
    done = subprocess.run(  # noqa: S603 - wrk from PATH, arguments built here
        command, capture_output=True, text=True, timeout=seconds + timeout + 60, check=False
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(
            f"wrk gave no result (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )
    data = json.loads(line.removeprefix("BENCH "))
    errors = {name: data[name] for name in ("connect", "read", "write", "timeout")}
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non2xx=data["non2xx"],
        socket_errors=sum(errors.values()),
        errors=errors,
        statuses=data["statuses"],
        samples=data["samples"],
    )


# --- signing in ----------------------------------------------------------------------------


def api_token(base_url: str, email: str, password: str) -> str:
    response = requests.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": password}, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["token"])


def session_cookie(base_url: str, email: str, password: str) -> str:
    """Signs in through the login form (CSRF token first) and returns a Cookie header value."""
    session = requests.Session()
    session.get(f"{base_url}/login/", timeout=30).raise_for_status()
    response = session.post(
        f"{base_url}/login/",
        data={
            "username": email,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base_url}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302 or "sessionid" not in session.cookies:
        raise RuntimeError(f"form login failed: {response.status_code} {response.text[:300]}")
    if session.get(f"{base_url}/", timeout=30, allow_redirects=False).status_code != 200:
        raise RuntimeError("the dashboard did not answer 200 to the signed-in session")
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


# --- the run -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per row (default 10)")
    parser.add_argument(
        "--quick", action="store_true", help="CI: 2 s rows, 3 s idle, 100/200 sockets"
    )
    parser.add_argument(
        "--production", action="store_true", help="DEBUG=0 with a SECRET_KEY (default: DEBUG=1)"
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument(
        "--web-concurrency",
        type=int,
        default=None,
        help="WEB_CONCURRENCY for the supervisor (default 4 with --database-url, else unset)",
    )
    parser.add_argument("--ws-url", default="", help="default: the stack's socket server, /ws/")
    parser.add_argument("--timeout", type=float, default=30.0, help="wrk's per-request timeout")
    parser.add_argument("--idle-seconds", type=float, default=None)
    parser.add_argument("--sockets", default=None, help="fan-out sizes, default 500,1000")
    parser.add_argument("--ticks", type=int, default=None, help="ticks measured per size")
    parser.add_argument(
        "--soak", type=int, default=0, metavar="N", help="then send N orders and follow web RSS"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 2.0
    args.idle_seconds = args.idle_seconds or (3.0 if args.quick else 10.0)
    args.sockets = [
        int(n) for n in (args.sockets or ("100,200" if args.quick else "500,1000")).split(",")
    ]
    args.ticks = args.ticks or (3 if args.quick else 5)
    if args.web_concurrency is None and args.database_url:
        args.web_concurrency = 4
    for url in (args.database_url, args.redis_url, args.ws_url):
        if url:
            require_local(url)
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM (a CI timeout, say) must stop the stack too: the supervisor runs in its own
    # session, so nothing else would.
    signal.signal(signal.SIGTERM, _interrupt)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    # Before the stack starts, so its web process inherits the limit as well.
    raise_open_files(max(args.sockets) * 2 + 1024)
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    config = StackConfig(
        data_dir=workdir / "data",
        production=args.production,
        database_url=args.database_url,
        redis_url=args.redis_url,
        web_concurrency=args.web_concurrency,
    )
    config.data_dir.mkdir()
    stack = Stack(config)
    references = References(
        ReferenceServer(workdir / "reference"),
        ReferenceServer(workdir / "reference-granian", server="granian"),
    )
    try:
        print_header(args, stack)
        stack.start()
        for reference in references:
            reference.start()
        run(args, stack, references)
    except BaseException:
        print(f"kept {workdir} for a look (supervisor log: {stack.log.path})", file=sys.stderr)
        raise
    finally:
        stack.stop()
        for reference in references:
            reference.stop()
    print_supervisor(stack)
    ledger(stack)
    if args.keep:
        print(f"kept {workdir} (supervisor log: {stack.log.path})")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def print_header(args: argparse.Namespace, stack: Stack) -> None:
    config = stack.config
    if config.production:
        mode = "production-like: DEBUG=0, SECRET_KEY set, collectstatic"
    else:
        mode = "default `make run` configuration: DEBUG=1"
    if config.database_url:
        database = f"PostgreSQL {config.database_url} + Redis {config.redis_url or '(none)'}"
        database += f", WEB_CONCURRENCY={config.web_concurrency}"
    else:
        layer = f"Redis {config.redis_url}" if config.redis_url else "in-memory channel layer"
        database = f"SQLite (WAL) in a fresh DATA_DIR, {layer}"
    commit = git("rev-parse", "--short", "HEAD")
    dirty = " (uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    wrk_version = subprocess.run(
        ["wrk", "--version"],  # noqa: S607 - wrk from PATH, checked in main()
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()[:1]
    print("# bench.load")
    print(f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}{dirty}; {ROOT}")
    print(f"- machine: {os.cpu_count()} cores; {' '.join(wrk_version)}")
    print(f"- stack: {mode}; {database}")
    print(
        "- reference: bench/reference (SQLite (WAL), no middleware) under gunicorn, 2 sync"
        " workers, and for the GETs also under Granian, 2 workers x 4 threads (the stack's"
        " server)"
    )
    print(
        f"- rows: {args.seconds:g} s each, wrk threads = min(connections, 2), "
        f"timeout {args.timeout:g} s"
    )
    print(f"- load average before: {load_average()}")
    sys.stdout.flush()


def git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", "-C", str(ROOT), *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


class References(NamedTuple):
    gunicorn: ReferenceServer
    granian: ReferenceServer

    def snapshot(self) -> Snapshot:
        return merge(*(reference.snapshot() for reference in self))


def run(args: argparse.Namespace, stack: Stack, references: References) -> None:
    reference = references.gunicorn
    password = stack.config.password
    tokens = [api_token(stack.base_url, email, password) for email in TRADERS]
    cookie = session_cookie(stack.base_url, TRADERS[0], password)
    web = stack.snapshot().get("web", {}).values()
    servers = ", ".join(describe(proc.argv) for proc in web)
    print(f"- web processes at start: {len(web)} ({servers})")

    time.sleep(SETTLE_SECONDS)
    idle = measure_idle(stack, args.idle_seconds)
    nonce = secrets.token_hex(4)
    targets = [
        Target(
            "reference POST",
            f"{reference.base_url}/tickets",
            "post_order.lua",
            (),
            None,
            nonce=nonce,
        ),
        Target("reference GET", f"{reference.base_url}/ping", "get.lua", (), None),
        Target(
            "reference GET (granian)",
            f"{references.granian.base_url}/ping",
            "get.lua",
            (),
            None,
        ),
        Target(
            "orders",
            f"{stack.base_url}/api/trades",
            "post_order.lua",
            tuple(tokens),
            "reference POST",
            nonce=nonce,
        ),
        Target(
            "GET /api/auth/me",
            f"{stack.base_url}/api/auth/me",
            "get.lua",
            ("Authorization", f"Bearer {tokens[0]}"),
            "reference GET (granian)",
        ),
        Target(
            "GET / (page)",
            f"{stack.base_url}/",
            "get.lua",
            ("Cookie", cookie),
            "reference GET (granian)",
        ),
    ]
    rows: list[Row] = []
    for target in targets:
        # A server that died (or was killed by someone) says so, instead of wrk's bare
        # "connection refused".
        stack.ensure_running()
        for server in references:
            server.ensure_running()
        wrk(target, WARMUP_CONNECTIONS, WARMUP_SECONDS, args.timeout, "w")
        for connections in CONNECTIONS:
            progress(f"{target.name} at {connections} connections")
            busy, ours, everyone = machine_busy_seconds(), harness_seconds(), all_procs()
            before = merge(stack.snapshot(), references.snapshot())
            result = wrk(target, connections, args.seconds, args.timeout, f"c{connections}")
            after = merge(stack.snapshot(), references.snapshot())
            cpu = cpu_delta(before, after)
            cpu[WRK] = harness_seconds() - ours
            cpu[OTHER] = max(0.0, machine_busy_seconds() - busy - sum(cpu.values()))
            mine = {os.getpid()} | {pid for procs in after.values() for pid, _ in procs}
            others = busiest(everyone, all_procs(), mine)
            rows.append(Row(target, connections, result, cpu, others))

    print_rows(rows)
    print_cpu(rows)
    print_idle(idle, args.idle_seconds)
    print_notes(rows)

    # A supervisor with a `sockets` child serves them on WS_PORT; an older one on PORT.
    ws_port = stack.ws_port if stack.log.has_child("sockets") else stack.port
    ws_url = args.ws_url or f"ws://127.0.0.1:{ws_port}/ws/"
    progress(f"fan-out to {', '.join(map(str, args.sockets))} sockets on {ws_url}")
    print_fanout(asyncio.run(run_fanout(ws_url, tokens, args.sockets, args.ticks)))
    print_memory(stack, references)

    if args.soak:
        orders = next(row for row in rows if row.target.name == "orders" and row.connections == 32)
        soak(stack, orders.target, args.soak, orders.result.rate, args.timeout)
    print(f"\n- load average after: {load_average()}", flush=True)


def describe(argv: tuple[str, ...]) -> str:
    for needle in ("daphne", "gunicorn", "granian", "uvicorn"):
        if any(needle in part for part in argv):
            return needle
    return Path(argv[0]).name if argv else "?"


def harness_seconds() -> float:
    """CPU seconds of this process and of its reaped children (wrk, once a row is over)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def progress(text: str) -> None:
    print(f"  ... {text}", flush=True)


def measure_idle(stack: Stack, seconds: float) -> dict[str, float]:
    progress(f"idle for {seconds:g} s (nobody trading)")
    before = stack.snapshot()
    time.sleep(seconds)
    return cpu_delta(before, stack.snapshot())


# --- the report ----------------------------------------------------------------------------


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base and value else "-"


def table(header: Iterable[str], lines: Iterable[Iterable[str]]) -> None:
    header = list(header)
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for line in lines:
        print("| " + " | ".join(line) + " |")


def print_rows(rows: list[Row]) -> None:
    by_key = {(row.target.name, row.connections): row.result for row in rows}
    print()
    print("## Load (wrk)")
    lines = []
    for row in rows:
        result = row.result
        base = by_key.get((row.target.versus or "", row.connections))
        lines.append(
            [
                row.target.name,
                str(row.connections),
                f"{result.rate:,.1f}",
                milliseconds(result.p50_ms),
                milliseconds(result.p99_ms),
                str(result.non2xx),
                str(result.socket_errors),
                ratio(result.rate, base.rate) if base else "",
                ratio(result.p50_ms, base.p50_ms) if base else "",
            ]
        )
    table(
        (
            "row",
            "conns",
            "req/s",
            "p50 ms",
            "p99 ms",
            "non-2xx",
            "socket errors",
            "x ref req/s",
            "x ref p50",
        ),
        lines,
    )
    print(
        "Ratios: orders against the reference POST (gunicorn), GETs and the page against the"
        " reference GET under Granian (the stack's server type), at the same connections."
    )


def groups_in(by_group: Iterable[Mapping[str, object]]) -> list[str]:
    seen = {group for mapping in by_group for group in mapping}
    return [g for g in GROUP_ORDER if g in seen] + sorted(seen - set(GROUP_ORDER))


def print_cpu(rows: list[Row]) -> None:
    groups = groups_in(row.cpu for row in rows)
    print()
    print("## CPU seconds per process group during each row")
    table(
        ("row", "conns", *groups),
        (
            [row.target.name, str(row.connections)]
            + [f"{row.cpu.get(group, 0.0):.2f}" for group in groups]
            for row in rows
        ),
    )
    cores = os.cpu_count() or 1
    print(
        f"{WRK}: the load generator (and this harness); {OTHER}: processes that are none of ours."
        f" A row of t seconds has {cores} x t CPU seconds to give."
    )
    for row in rows:
        if row.cpu[OTHER] > SUSPECT_SHARE * cores * row.result.seconds:
            print(
                f"WARNING: other processes used {row.cpu[OTHER]:.1f} CPU s during"
                f" {row.target.name} at {row.connections}: its figures are suspect"
            )
            for label, seconds in row.busiest_others:
                print(f"    {seconds:5.2f} s  {label}")


def milliseconds(value: float) -> str:
    """Two decimals below 10 ms, where one would hide the difference between 0.35 and 0.44."""
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def print_memory(stack: Stack, references: References) -> None:
    snapshot: Snapshot = merge(stack.snapshot(), references.snapshot())
    peaks = stack.peak_rss_kb.copy()
    for reference in references:
        for group, kb in reference.peak_rss_kb.items():
            peaks[group] = max(peaks.get(group, 0), kb)
    print()
    print("## Memory per process group")
    table(
        ("group", "processes", "largest RSS MB (peak)", "RSS MB now (sum)"),
        (
            [
                group,
                str(len(snapshot.get(group, {}))),
                f"{peaks.get(group, 0) / 1024:.0f}",
                f"{sum(p.rss_kb for p in snapshot.get(group, {}).values()) / 1024:.0f}",
            ]
            for group in groups_in([peaks])
        ),
    )


def print_idle(idle: dict[str, float], seconds: float) -> None:
    shares = ", ".join(
        f"{group} {idle[group] / seconds * 100:.1f} %" for group in groups_in([idle])
    )
    market = idle.get("market", 0.0) / seconds * 100
    print()
    print(f"Idle market process: {market:.1f} % of one core over {seconds:g} s with nobody trading")
    print(f"(idle, all groups, % of one core: {shares})")


def print_notes(rows: list[Row]) -> None:
    print()
    print("## Answers per row")
    for row in rows:
        result = row.result
        statuses = ", ".join(f"{code} x{n}" for code, n in sorted(result.statuses.items()))
        errors = ", ".join(f"{name} {n}" for name, n in result.errors.items() if n)
        line = f"- {row.target.name} at {row.connections}: {statuses or 'no answers'}"
        print(line + (f"; socket errors: {errors}" if errors else ""))
        for sample in result.samples:
            print(f"    {sample[:200]!r}")


def print_supervisor(stack: Stack) -> None:
    counts = ", ".join(f"{name} {n}" for name, n in stack.log.counts.items())
    print()
    print("## The stack's output over the whole run")
    print(f"- {counts}")
    for summary, count in stack.log.findings.items():
        print(f"    {count} x {summary}")


def print_fanout(results: list[FanoutResult]) -> None:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f}"

    print()
    print("## WebSocket fan-out (price:tick on prices:AAPL)")
    table(
        (
            "sockets",
            "connected",
            "failed",
            "ticks",
            "median spread ms",
            "max spread ms",
            "min coverage",
            "median delay to first ms",
            "max delay to last ms",
        ),
        (
            [
                str(r.sockets),
                str(r.connected),
                str(r.failures),
                str(r.ticks),
                ms(r.median_spread_ms),
                ms(r.max_spread_ms),
                "-" if r.min_coverage is None else f"{r.min_coverage:.0%}",
                ms(r.median_first_delay_ms),
                ms(r.max_last_delay_ms),
            ]
            for r in results
        ),
    )
    print(
        "Spread: last arrival minus first arrival of one tick across the sockets (median and"
        " worst tick). Delays: from the event's timestamp (when the market process published"
        " it) to the first socket (median tick) and to the last socket (worst tick). Coverage:"
        " the least share of sockets that got a measured tick."
    )
    for r in results:
        if r.first_error:
            print(f"- first connect failure at {r.sockets}: {r.first_error}")


def soak(stack: Stack, orders: Target, total: int, rate: float, timeout: float) -> None:
    """Sends about `total` orders at 32 connections in ~10 chunks, printing the web processes'
    RSS after each. wrk runs for a duration, not a count: each chunk's length comes from the
    last measured rate."""
    chunk = max(1000, total // 10)
    sent = 0
    print()
    print(f"## Soak: {total:,} orders at 32 connections")
    header = ("orders sent", "chunk orders/s", "non-2xx", "web RSS MB (each)", "web RSS MB (sum)")
    print("| " + " | ".join(header) + " |")
    print("|---:|---:|---:|---|---:|")
    index = 0
    while sent < total:
        wanted = min(chunk, total - sent)
        seconds = min(300.0, max(3.0, wanted / max(rate, 1.0)))
        index += 1
        result = wrk(orders, 32, seconds, timeout, f"s{index}")
        sent += result.requests
        rate = result.rate or rate
        web = stack.snapshot().get("web", {}).values()
        each = " ".join(f"{p.rss_kb / 1024:.0f}" for p in web)
        total_rss = sum(p.rss_kb for p in web) / 1024
        print(
            f"| {sent:,} | {result.rate:,.1f} | {result.non2xx} | {each} | {total_rss:.0f} |",
            flush=True,
        )


def ledger(stack: Stack) -> None:
    print()
    print("## Ledger")
    done = subprocess.run(
        [sys.executable, "-m", "bench.ledger"],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the ledger check failed:\n{done.stdout}{done.stderr}")
    print(done.stdout.rstrip(), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
