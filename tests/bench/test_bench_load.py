"""The load harness's own parts (not timed): the wrk scripts and the /proc bookkeeping.

`make bench-load` itself runs in .ci/run; these catch a broken script or parser sooner.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from bench.load import Target, wrk
from bench.stack import (
    Proc,
    ReferenceServer,
    cpu_delta,
    group_of_argv,
    kill_leftovers,
    process_tree,
    read_proc,
)

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


class Recorder(BaseHTTPRequestHandler):
    bodies: list[dict[str, object]] = []
    tokens: list[str] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.bodies.append(body)
        Recorder.tokens.append(self.headers.get("Authorization", ""))
        # Every third order is refused, so the non-2xx count has something to count.
        status = 409 if len(Recorder.bodies) % 3 == 0 else 201
        self._answer(status, b'{"ok":false}' if status == 409 else b'{"ok":true}')

    def do_GET(self) -> None:
        self._answer(200 if self.headers.get("Cookie") == "sessionid=abc" else 403, b"{}")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.bodies, Recorder.tokens = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@needs_wrk
def test_order_script_sends_unique_orders_from_both_traders(server: str) -> None:
    target = Target("orders", f"{server}/api/trades", "post_order.lua", ("t1", "t2"), None, "n")
    result = wrk(target, 4, 1, 5, "c4")

    ids = [body["client_order_id"] for body in Recorder.bodies]
    # Requests in flight when the run ends reach the server but are not counted by wrk.
    assert 10 < result.requests <= len(ids) <= result.requests + 4
    assert len(set(ids)) == len(ids)
    assert {body["order_type"] for body in Recorder.bodies} == {"MARKET"}
    assert set(Recorder.tokens) == {"Bearer t1", "Bearer t2"}
    assert result.statuses["409"] == result.non2xx
    assert abs(result.non2xx - result.requests / 3) <= 4
    assert result.socket_errors == 0
    assert 0 < result.p50_ms <= result.p99_ms


@needs_wrk
def test_get_script_sends_the_given_header(server: str) -> None:
    good = Target("page", f"{server}/", "get.lua", ("Cookie", "sessionid=abc"), None)
    bad = Target("page", f"{server}/", "get.lua", ("Cookie", "sessionid=nope"), None)

    assert wrk(good, 1, 1, 5, "").non2xx == 0
    refused = wrk(bad, 1, 1, 5, "")
    assert refused.non2xx == refused.requests > 0
    assert refused.samples[0].startswith("403")


def test_process_tree_finds_grandchildren_and_leftovers_are_killed() -> None:
    sleeper = "import time; time.sleep(60)"
    spawner = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {sleeper!r}]); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", spawner])
    deadline = time.monotonic() + 20
    tree = process_tree(parent.pid)
    while len(tree) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        tree = process_tree(parent.pid)
    kill_leftovers(tree)
    parent.wait(timeout=10)

    assert [proc.pid for proc in tree[:1]] == [parent.pid]
    assert [proc.ppid for proc in tree[1:]] == [parent.pid]
    while any(_running(proc) for proc in tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(proc) for proc in tree)


def _running(proc: Proc) -> bool:
    """Alive and not a zombie (an orphan may wait a moment for its new parent to reap it)."""
    now = read_proc(proc.pid)
    if now is None or now.started != proc.started:
        return False
    stat = Path(f"/proc/{proc.pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] not in "ZX"


def test_cpu_delta_counts_processes_started_during_a_row() -> None:
    old, same, new = _proc(10, 1.0), _proc(10, 1.5), _proc(11, 0.2)
    before = {"web": {old.key: old}}
    after = {"web": {same.key: same, new.key: new}, "market": {_proc(12, 0.1).key: _proc(12, 0.1)}}

    assert cpu_delta(before, after) == pytest.approx({"web": 0.7, "market": 0.1})


def test_cpu_delta_charges_a_reaped_child_only_with_what_it_ran_during_the_row() -> None:
    # The supervisor (pid 1) reaps a market process that had run 30 s before the row and
    # 0.5 s in it: its children time grows by 30.5 s, of which the row is charged 0.5 s.
    supervisor = _proc(1, 0.1, ppid=0)
    market = _proc(5, 30.0, ppid=1)
    after_supervisor = _proc(1, 0.1, ppid=0, children=30.5)
    before = {"supervisor": {supervisor.key: supervisor}, "market": {market.key: market}}
    after = {"supervisor": {after_supervisor.key: after_supervisor}}

    assert cpu_delta(before, after) == pytest.approx({"supervisor": 0.5})


def _proc(pid: int, cpu: float, *, ppid: int = 1, children: float = 0.0) -> Proc:
    return Proc(
        pid,
        ppid,
        started=pid * 10,
        cpu_seconds=cpu,
        rss_kb=1,
        peak_rss_kb=1,
        argv=(),
        children_cpu_seconds=children,
    )


@pytest.mark.parametrize(
    ("argv", "group"),
    [
        (("python", "-m", "daphne", "-p", "8000", "trading_demo.asgi:application"), "web"),
        (("python", "-m", "gunicorn", "trading_demo.wsgi:application"), "web"),
        (("python", "manage.py", "run_market"), "market"),
        (("python", "-m", "oversight.server"), "oversight"),
        (("/usr/bin/something",), "something"),
    ],
)
def test_children_are_recognised_by_their_argv(argv: tuple[str, ...], group: str) -> None:
    assert group_of_argv(argv) == group


def test_the_reference_takes_another_port_when_its_own_was_taken(tmp_path: Path) -> None:
    reference = ReferenceServer(tmp_path / "reference")
    with socket.socket() as squatter:  # what a child of the stack may have done meanwhile
        squatter.bind(("127.0.0.1", reference.port))
        squatter.listen()
        taken = reference.port
        try:
            reference.start()
            assert reference.port != taken
            assert requests.get(f"{reference.base_url}/ping", timeout=5).status_code == 200
        finally:
            reference.stop()


def test_the_reference_serves_under_granian_as_the_stack_does(tmp_path: Path) -> None:
    reference = ReferenceServer(tmp_path / "reference", server="granian")
    try:
        reference.start()
        answer = requests.get(f"{reference.base_url}/ping", timeout=5)
        assert answer.status_code == 200
        servers = [proc.argv for proc in reference.snapshot()["reference"].values()]
        assert any("granian" in argv for argv in servers)
    finally:
        reference.stop()
