"""Start and stop what `bench.load` measures: the whole stack as `make run` starts it, and the
reference app under gunicorn; their process trees, CPU seconds and RSS, read from /proc.

Nothing here assumes one web process: the supervisor's children are found as its process tree
and grouped by the child name the supervisor prints when it starts one (falling back to the
child's argv), and every descendant (gunicorn workers, say) counts towards its child's group.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import requests

from trading_demo.supervisor import granian_argv

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Whatever the caller's shell exports for these must not leak into the stack: the harness sets
# each one itself (a stray SLACK_WEBHOOK_URL would send traffic off this machine, HTTPS=1 would
# redirect every request, a DATABASE_URL would point at someone's data).
CONTROLLED_ENV = (
    "DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "WEB_CONCURRENCY",
    "PORT",
    "WS_PORT",
    "HOST",
    "DEBUG",
    "SECRET_KEY",
    "HTTPS",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "PUBLIC_URL",
    "METERING_GRPC_URL",
    "OVERSIGHT_GRPC_URL",
    "SLACK_WEBHOOK_URL",
    "SLACK_SIGNING_SECRET",
    "DEMO_PASSWORD",
    "DJANGO_SETTINGS_MODULE",
)

# Lines of the supervisor's output worth counting in the report.
NOTABLE = {
    "tracebacks": "Traceback (most recent call last)",
    "database is locked": "database is locked",
    "too many clients": "too many clients",
    "internal server errors": "Internal Server Error",
    "child exits": "exited with code",
}

# A PostgreSQL client backend's title: "postgres: 15/main: user db 127.0.0.1(5432) idle".
PG_BACKEND_RE = re.compile(r"\(\d+\)|\[local\]")

STARTED_RE = re.compile(r"^(?P<name>\S+)\s*\| started \(pid (?P<pid>\d+)\)")

# How a supervisor child is recognised from its argv when its start line was not seen.
ARGV_GROUPS = (
    ("daphne", "web"),
    ("gunicorn", "web"),
    ("granian", "web"),
    ("uvicorn", "web"),
    ("trading_demo.asgi", "web"),
    ("trading_demo.wsgi", "web"),
    ("run_market", "market"),
    ("metering.server", "metering"),
    ("oversight.server", "oversight"),
    ("deliver_usage", "usage"),
    ("deliver_slack", "slack"),
    ("expire_approvals", "approvals"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_local(url: str) -> None:
    """The harness never sends traffic anywhere but this machine."""
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"{url!r} is not on 127.0.0.1; the benchmark only runs locally")


# --- /proc -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    started: int  # clock ticks after boot: tells a recycled pid from the one we saw
    cpu_seconds: float  # user + system time of the process itself
    rss_kb: int
    peak_rss_kb: int
    argv: tuple[str, ...]
    name: str = ""  # the kernel's command name (kernel threads have no argv)
    # What its children that have exited and been reaped ran: PostgreSQL's per-connection
    # backends, say, that start and end within a row.
    children_cpu_seconds: float = 0.0

    @property
    def total_cpu_seconds(self) -> float:
        return self.cpu_seconds + self.children_cpu_seconds

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.started)

    @property
    def label(self) -> str:
        return " ".join(self.argv)[:80] or f"[{self.name}]"


def read_proc(pid: int) -> Proc | None:
    base = Path("/proc") / str(pid)
    try:
        stat = (base / "stat").read_text()
        status = (base / "status").read_text()
        argv = (base / "cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    memory = {"VmRSS": 0, "VmHWM": 0}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in memory:
            memory[name] = int(value.split()[0])
    return Proc(
        pid=pid,
        ppid=int(fields[1]),
        started=int(fields[19]),
        cpu_seconds=(utime + stime) / CLOCK_TICKS,
        children_cpu_seconds=(cutime + cstime) / CLOCK_TICKS,
        rss_kb=memory["VmRSS"],
        peak_rss_kb=memory["VmHWM"],
        argv=tuple(part.decode(errors="replace") for part in argv if part),
        name=stat[stat.index("(") + 1 : stat.rindex(")")],
    )


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def all_procs() -> dict[tuple[int, int], Proc]:
    return {proc.key: proc for pid in _all_pids() if (proc := read_proc(pid)) is not None}


def busiest(
    before: dict[tuple[int, int], Proc], after: dict[tuple[int, int], Proc], skip: set[int]
) -> list[tuple[str, float]]:
    """The processes (other than the pids in `skip`) that ran the most in between."""
    used = [
        (proc.label, proc.cpu_seconds - (before[key].cpu_seconds if key in before else 0.0))
        for key, proc in after.items()
        if proc.pid not in skip
    ]
    return sorted((item for item in used if item[1] > 0), key=lambda item: -item[1])[:3]


def process_tree(root: int, procs: Iterable[Proc] | None = None) -> list[Proc]:
    """`root` and all its descendants, root first, parents before children."""
    procs = list(all_procs().values() if procs is None else procs)
    children: dict[int, list[Proc]] = {}
    by_pid = {proc.pid: proc for proc in procs}
    for proc in procs:
        children.setdefault(proc.ppid, []).append(proc)
    if root not in by_pid:
        return []
    tree = [by_pid[root]]
    for proc in tree:
        tree.extend(children.get(proc.pid, []))
    return tree


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def group_of_argv(argv: tuple[str, ...]) -> str:
    joined = " ".join(argv)
    for needle, group in ARGV_GROUPS:
        if needle in joined:
            return group
    return Path(argv[0]).name if argv else "?"


# A snapshot: group name -> the group's processes, keyed by (pid, start time).
Snapshot = dict[str, dict[tuple[int, int], Proc]]


def cpu_delta(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds each group used between two snapshots, reaped children included.

    A process started in between counts from zero. A process that exited in between was
    reaped into its parent's children time with its whole lifetime, so what it had run before
    the first snapshot is taken off again (else a restarted supervisor child would charge
    one row with its whole life); what it ran after the first snapshot counts to its parent's
    group.
    """
    group_of = {proc.pid: group for group, procs in after.items() for proc in procs.values()}
    alive = {key for procs in after.values() for key in procs}
    delta: dict[str, float] = {}
    for group, procs in after.items():
        old = before.get(group, {})
        delta[group] = sum(
            proc.total_cpu_seconds - (old[key].total_cpu_seconds if key in old else 0.0)
            for key, proc in procs.items()
        )
    for procs in before.values():
        for key, proc in procs.items():
            if key not in alive and proc.ppid in group_of:
                delta[group_of[proc.ppid]] -= proc.total_cpu_seconds
    return delta


def merge(*snapshots: Snapshot) -> Snapshot:
    merged: Snapshot = {}
    for snapshot in snapshots:
        for group, procs in snapshot.items():
            merged.setdefault(group, {}).update(procs)
    return merged


# --- the stack ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path
    production: bool = False
    database_url: str = ""
    redis_url: str = ""
    web_concurrency: int | None = None
    password: str = "trading-demo"  # noqa: S105 - the documented demo password


@dataclass
class SupervisorLog:
    """Reads the supervisor's output: keeps it in a file, remembers which pid is which child
    and counts notable lines."""

    path: Path
    names: dict[int, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NOTABLE, 0))
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    # The first few distinct findings, "child| text": the exception line ending a traceback,
    # and the supervisor's word on a child that exited.
    findings: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _in_traceback: set[str] = field(default_factory=set)

    MAX_FINDINGS = 8

    def follow(self, stream: IO[bytes]) -> None:
        with self.path.open("w", encoding="utf-8") as out:
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\n")
                out.write(line + "\n")
                with self.lock:
                    self._note(line)

    def _note(self, line: str) -> None:
        self.tail.append(line)
        if match := STARTED_RE.match(line):
            self.names[int(match["pid"])] = match["name"]
        for name, needle in NOTABLE.items():
            if needle in line:
                self.counts[name] += 1
        child, _, text = line.partition("| ")
        child = child.strip()
        if text.startswith("Traceback"):
            self._in_traceback.add(child)
        elif child in self._in_traceback and text and not text[0].isspace():
            self._in_traceback.discard(child)
            self._find(f"{child}| {text[:200]}")
        elif NOTABLE["child exits"] in text:
            self._find(f"{child}| {text[:200]}")

    def _find(self, finding: str) -> None:
        if finding in self.findings or len(self.findings) < self.MAX_FINDINGS:
            self.findings[finding] = self.findings.get(finding, 0) + 1

    def name_of(self, pid: int) -> str | None:
        with self.lock:
            return self.names.get(pid)

    def has_child(self, name: str) -> bool:
        with self.lock:
            return name in self.names.values()


class Stack:
    """The whole project, started like `make run` does, on private ports."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.port = free_port()
        self.ws_port = free_port()  # the socket server's, where the supervisor runs one apart
        self.metering_url = f"127.0.0.1:{free_port()}"
        self.oversight_url = f"127.0.0.1:{free_port()}"
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = SupervisorLog(config.data_dir / "supervisor.log")
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss_kb: dict[str, int] = {}
        self._seen: dict[tuple[int, int], Proc] = {}

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in CONTROLLED_ENV}
        env |= {
            "DJANGO_SETTINGS_MODULE": "trading_demo.settings",
            "PYTHONUNBUFFERED": "1",
            "DATA_DIR": str(self.config.data_dir),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WS_PORT": str(self.ws_port),
            "PUBLIC_URL": self.base_url,
            "METERING_GRPC_URL": self.metering_url,
            "OVERSIGHT_GRPC_URL": self.oversight_url,
            "SLACK_WEBHOOK_URL": "",
            "DEMO_PASSWORD": self.config.password,
            # Limits sized for a benchmark: the rate limit, the quota and the token lifetime
            # must not end a row early, and buys must never run out of cash.
            "API_RATE_LIMIT": "1000000/min",
            "LOGIN_RATE_LIMIT": "1000000/min",
            "METERING_DEFAULT_QUOTA": "1000000000",
            "JWT_ACCESS_MINUTES": "1440",
            "STARTING_CASH": "1000000000.00",
        }
        if self.config.production:
            env |= {"DEBUG": "0", "SECRET_KEY": "bench-" + secrets.token_hex(24)}
        else:
            env["DEBUG"] = "1"  # what `make run` exports
        if self.config.database_url:
            env["DATABASE_URL"] = self.config.database_url
        if self.config.redis_url:
            env["REDIS_URL"] = self.config.redis_url
        if self.config.web_concurrency is not None:
            env["WEB_CONCURRENCY"] = str(self.config.web_concurrency)
        return env

    def start(self) -> None:
        self._prepare_databases()
        env = self.env()
        self._manage(env, "migrate", "--noinput")
        self._manage(env, "seed_demo")
        if self.config.production:
            # DEBUG=0 serves hashed static files from a manifest, as the Dockerfile builds it.
            self._manage(env, "collectstatic", "--noinput")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trading_demo.supervisor"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C meant for the harness reaches the supervisor once, via
            # stop(), instead of racing it.
            start_new_session=True,
        )
        threading.Thread(target=self.log.follow, args=(self.process.stdout,), daemon=True).start()
        self._wait_healthy()

    def _prepare_databases(self) -> None:
        if self.config.database_url:
            recreate_database(self.config.database_url)
        if self.config.redis_url:
            flush_redis(self.config.redis_url)

    def _manage(self, env: dict[str, str], *args: str) -> None:
        result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
            )

    def _wait_healthy(self, timeout: float = 120.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                response = requests.get(f"{self.base_url}/healthz", timeout=3)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.5)
        tail = "\n".join(self.log.tail)
        raise RuntimeError(f"the stack did not become healthy ({last}):\n{tail}")

    def snapshot(self) -> Snapshot:
        assert self.process is not None
        everyone = all_procs()
        tree = process_tree(self.process.pid, everyone.values())
        snapshot: Snapshot = self._servers(everyone)
        group_by_pid: dict[int, str] = {}
        for proc in tree:
            if proc.pid == self.process.pid:
                group = "supervisor"
            elif proc.ppid == self.process.pid:
                group = self.log.name_of(proc.pid) or group_of_argv(proc.argv)
            else:
                group = group_by_pid[proc.ppid]
            group_by_pid[proc.pid] = group
            snapshot.setdefault(group, {})[proc.key] = proc
            self._seen[proc.key] = proc
        note_peaks(self.peak_rss_kb, snapshot)
        return snapshot

    def ensure_running(self) -> None:
        assert self.process is not None
        if (code := self.process.poll()) is not None:
            tail = "\n".join(self.log.tail)
            raise RuntimeError(f"the supervisor exited with code {code}:\n{tail}")

    def _servers(self, everyone: dict[tuple[int, int], Proc]) -> Snapshot:
        """PostgreSQL and Redis, when the stack uses them: their work is part of what is
        measured. Only PostgreSQL's background processes and the backends of the benchmark's
        own database count (another database's clients are someone else's load). Never added
        to `_seen`: the harness did not start them and never stops them."""
        servers: Snapshot = {}
        database = urlsplit(self.config.database_url).path.lstrip("/")
        for key, proc in everyone.items():
            if database and proc.name == "postgres":
                title = " ".join(proc.argv)
                if not PG_BACKEND_RE.search(title) or f" {database} " in title:
                    servers.setdefault("postgres", {})[key] = proc
            elif self.config.redis_url and proc.name.startswith("redis-server"):
                servers.setdefault("redis", {})[key] = proc
        return servers

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.snapshot()  # remember every pid it has, in case it fails to stop them
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        kill_leftovers(self._seen.values())


def note_peaks(peaks: dict[str, int], snapshot: Snapshot) -> None:
    for group, procs in snapshot.items():
        for proc in procs.values():
            peaks[group] = max(peaks.get(group, 0), proc.peak_rss_kb, proc.rss_kb)


def kill_leftovers(procs: Iterable[Proc]) -> None:
    """SIGKILL processes of ours that outlived their parent; a pid counts only while its start
    time is the one we saw, so a recycled pid is never touched."""
    for proc in procs:
        current = read_proc(proc.pid)
        if current is not None and current.started == proc.started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)


def recreate_database(url: str) -> None:
    """Drop and create the benchmark's PostgreSQL database (its name must say "bench", so a
    stray DATABASE_URL can never lose anyone's data)."""
    import psycopg
    from psycopg import sql

    require_local(url)
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name must contain 'bench'")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def flush_redis(url: str) -> None:
    """FLUSHDB the benchmark's Redis database; db 0 is refused, it is everybody's default."""
    import redis

    require_local(url)
    db = urlsplit(url).path.lstrip("/") or "0"
    if db == "0":
        raise SystemExit(f"refusing to flush Redis db 0 ({url}); pass a spare one such as /14")
    redis.Redis.from_url(url, socket_connect_timeout=5).flushdb()


# --- the reference -----------------------------------------------------------------------


class ReferenceServer:
    """bench/reference with 2 worker processes, SQLite in its own temp dir: under gunicorn
    (sync workers), or under Granian as the stack's web is served (WSGI, 4 threads each), for
    the comparison of GETs on the same server type."""

    WORKERS = 2
    GRANIAN_THREADS = 4
    PORT_ATTEMPTS = 3

    def __init__(self, data_dir: Path, server: str = "gunicorn") -> None:
        assert server in ("gunicorn", "granian")
        self.server = server
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss_kb: dict[str, int] = {}
        self._seen: dict[tuple[int, int], Proc] = {}
        self._log: IO[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in CONTROLLED_ENV}
        return env | {
            "DJANGO_SETTINGS_MODULE": "bench.reference.settings",
            "REFERENCE_DATA_DIR": str(self.data_dir),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--run-syncdb", "--noinput"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        # The port was free when it was picked; the stack started since may have taken it
        # (a child's server, or an outgoing connection's local port): then take another.
        for _ in range(self.PORT_ATTEMPTS):
            if self._serve(env):
                return
            if "Address already in use" not in self._log_text():
                break
            self.port = free_port()
            self.base_url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"the reference server did not start:\n{self._log_text()}")

    def _serve(self, env: dict[str, str]) -> bool:
        """Start the server on self.port; True once it answers, False when it gave up."""
        if self._log is not None:
            self._log.close()
        self._log = (self.data_dir / "server.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self._argv(),
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(f"{self.base_url}/ping", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.2)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return False

    def _argv(self) -> list[str]:
        app = "bench.reference.wsgi:application"
        if self.server == "granian":
            return granian_argv(
                app,
                host="127.0.0.1",
                port=str(self.port),
                workers=str(self.WORKERS),
                threads=str(self.GRANIAN_THREADS),
            )
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.WORKERS),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            app,
        ]

    def _log_text(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")[-3000:]

    def ensure_running(self) -> None:
        assert self.process is not None
        if (code := self.process.poll()) is not None:
            raise RuntimeError(
                f"the reference server exited with code {code} (negative: killed by that"
                f" signal):\n{self._log_text()}"
            )

    def snapshot(self) -> Snapshot:
        assert self.process is not None
        procs = {proc.key: proc for proc in process_tree(self.process.pid)}
        self._seen.update(procs)
        snapshot: Snapshot = {"reference": procs}
        note_peaks(self.peak_rss_kb, snapshot)
        return snapshot

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.snapshot()
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        kill_leftovers(self._seen.values())
        if self._log is not None:
            self._log.close()
