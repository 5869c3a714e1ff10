"""Faults under a steady order load, with the real processes: the web server (Granian, two
workers), the metering and oversight gRPC services and the usage delivery worker, each its own
process on the test database. While three client threads place and cancel orders through the
API, the metering service, the oversight service and a web worker are SIGKILLed and come back.

Afterwards: every order the client was told about (2xx) exists exactly once and is the one it
was told about, none exists that it was told was refused; every usage record reached the
metering service exactly once; and the ledger equals the fills (`manage.py check_ledger`).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.db.models import Sum

from conftest import jwt_for
from metering import client as metering_client
from metering.models import UsageRecord
from portfolio.selectors import ledger_check
from tests.factories import UserFactory
from tests.metering.conftest import MeteringServer
from tests.oversight.conftest import OversightServer
from tests.servers import ROOT, Granian, child_env, wait_for
from tests.trades.conftest import make_symbol, set_quotes
from trades.models import Order
from trading_demo.models import Role

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 3
ATTEMPT_TIMEOUT = 10.0  # one HTTP attempt
GIVE_UP_AFTER = 45.0  # one order's retries, well past every outage below
OK = {200, 201, 202}
REFUSED = {422}  # a rule said no (e.g. no shares left to sell): nothing is stored
RETRY = {502, 503, 504}


@dataclass
class Outcome:
    key: str  # client_order_id, or "cancel:<order id>"
    trader: str
    status: int | None = None
    order_id: str | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    answered_at: float = 0.0
    body: dict[str, object] | None = None


class OrderLoad:
    """Threads placing orders (a market buy, a market sell, a resting limit buy, its cancel)
    and retrying the same request after a dropped connection or a 503, as a client should."""

    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url = url
        self.tokens = tokens
        self.stop = threading.Event()
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def run(self, thread: int) -> None:
        trader = sorted(self.tokens)[thread % len(self.tokens)]
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {self.tokens[trader]}"
        while not self.stop.is_set():
            n = next(self._ids)
            self._place(http, trader, f"f-{n}-buy", side="BUY", quantity=2)
            self._place(http, trader, f"f-{n}-sell", side="SELL", quantity=1)
            resting = self._place(
                http, trader, f"f-{n}-rest", side="BUY", quantity=1, price="99.00"
            )
            if resting.status in OK and resting.order_id and n % 2 == 0:
                self._send(
                    http,
                    trader,
                    "DELETE",
                    f"/api/trades/{resting.order_id}",
                    None,
                    Outcome(f"cancel:{resting.order_id}", trader),
                    ok={200, 409},
                )

    def _place(
        self,
        http: requests.Session,
        trader: str,
        key: str,
        *,
        side: str,
        quantity: int,
        price: str | None = None,
    ) -> Outcome:
        body: dict[str, object] = {
            "symbol": "ACME",
            "type": side,
            "quantity": quantity,
            "order_type": "LIMIT" if price else "MARKET",
            "time_in_force": "GTC" if price else "IOC",
            "client_order_id": key,
        }
        if price:
            body["price"] = price
        outcome = Outcome(key, trader, body=body)
        return self._send(http, trader, "POST", "/api/trades", body, outcome, ok=OK)

    def _send(
        self,
        http: requests.Session,
        trader: str,
        method: str,
        path: str,
        body: dict[str, object] | None,
        outcome: Outcome,
        *,
        ok: set[int],
    ) -> Outcome:
        deadline = time.monotonic() + GIVE_UP_AFTER
        while time.monotonic() < deadline:
            outcome.attempts += 1
            try:
                response = http.request(method, self.url + path, json=body, timeout=ATTEMPT_TIMEOUT)
            except requests.RequestException as exc:  # the web worker died mid-request
                outcome.errors.append(type(exc).__name__)
                time.sleep(0.2)
                continue
            if response.status_code in RETRY:
                outcome.errors.append(str(response.status_code))
                time.sleep(0.2)
                continue
            outcome.status = response.status_code
            outcome.answered_at = time.monotonic()
            if response.status_code in ok and method == "POST":
                outcome.order_id = response.json()["id"]
            break
        with self._lock:
            self.outcomes.append(outcome)
        return outcome


@dataclass
class Stack:
    web: Granian
    metering: MeteringServer
    oversight: OversightServer
    usage_worker: subprocess.Popen[bytes]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    metering = MeteringServer(tmp_path / "metering")
    metering.start()
    (tmp_path / "oversight").mkdir()
    oversight = OversightServer(tmp_path / "oversight")
    oversight.start()
    env = {
        "METERING_GRPC_URL": metering.target,
        "OVERSIGHT_GRPC_URL": oversight.target,
        "API_RATE_LIMIT": "100000/min",
    }
    web = Granian(workers=2, extra_env=env)
    with (tmp_path / "usage.log").open("wb") as log:
        usage_worker = subprocess.Popen(
            [sys.executable, "manage.py", "deliver_usage"],
            cwd=ROOT,
            env=child_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Stack(web, metering, oversight, usage_worker)
    finally:
        usage_worker.terminate()
        usage_worker.wait(timeout=15)
        web.stop()
        oversight.kill()
        metering.kill()


def _kill_a_web_worker(web: Granian) -> None:
    victim = web.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    assert wait_for(
        lambda: len(web.worker_pids()) == 2 and victim not in web.worker_pids(), timeout=30
    ), "granian did not respawn the killed worker"


def test_kills_under_load_lose_nothing_and_bill_once(stack, settings, capsys):
    acme = make_symbol()
    set_quotes(acme, bids=[("99.95", 1_000_000)], asks=[("100.05", 1_000_000)])
    traders = [UserFactory(role=Role.TRADER) for _ in range(2)]
    load = OrderLoad(stack.web.url, {str(t.pk): jwt_for(t) for t in traders})
    threads = [threading.Thread(target=load.run, args=(n,)) for n in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()

    faults: list[tuple[str, float]] = []

    def fault(name: str, down: float, kill, revive) -> None:
        time.sleep(2.5)
        at = time.monotonic()
        kill()
        time.sleep(down)
        revive()
        faults.append((name, at))

    fault("metering SIGKILL", 4, stack.metering.kill, stack.metering.start)
    fault("oversight SIGKILL", 3, stack.oversight.kill, stack.oversight.start)
    fault("web worker SIGKILL", 0, lambda: _kill_a_web_worker(stack.web), lambda: None)
    time.sleep(4)
    load.stop.set()
    for thread in threads:
        thread.join(timeout=GIVE_UP_AFTER + 15)
    assert not any(thread.is_alive() for thread in threads)
    load_seconds = time.monotonic() - started

    orders = [o for o in load.outcomes if not o.key.startswith("cancel:")]
    cancels = [o for o in load.outcomes if o.key.startswith("cancel:")]
    unanswered = [o.key for o in load.outcomes if o.status is None]
    unexpected = [(o.key, o.status) for o in orders if o.status not in OK | REFUSED]
    unexpected += [(o.key, o.status) for o in cancels if o.status not in {200, 409}]
    told_ok = {o.key: o for o in orders if o.status in OK}
    told_no = {o.key for o in orders if o.status in REFUSED}
    stored = Counter(
        Order.objects.filter(client_order_id__startswith="f-").values_list(
            "client_order_id", flat=True
        )
    )
    stored_ids = dict(
        Order.objects.filter(client_order_id__in=told_ok).values_list("client_order_id", "id")
    )
    lost = [key for key in told_ok if stored[key] == 0]
    duplicated = [key for key, count in stored.items() if count > 1]
    not_the_one_told = [k for k, o in told_ok.items() if str(stored_ids.get(k)) != o.order_id]
    stored_although_refused = [key for key in told_no if stored[key]]
    retried = [o for o in load.outcomes if o.attempts > 1]

    # A client that retries after the faults (its answer lost) gets the same orders back.
    replays = []
    for outcome in list(told_ok.values())[:: max(1, len(told_ok) // 10)]:
        response = requests.post(
            stack.web.url + "/api/trades",
            json=outcome.body,
            headers={"Authorization": f"Bearer {load.tokens[outcome.trader]}"},
            timeout=ATTEMPT_TIMEOUT,
        )
        replays.append((response.status_code, response.json()["id"] == outcome.order_id))

    assert Order.objects.filter(client_order_id__startswith="f-").count() == sum(stored.values())

    # The delivery worker catches up once the metering service is back.
    assert wait_for(
        lambda: not UsageRecord.objects.filter(status=UsageRecord.Status.PENDING).exists(),
        timeout=45,
    ), "usage records still pending"

    # Metering: each record counted by the service once, none missing.
    metering_client.close_channels()
    settings.METERING_GRPC_URL = stack.metering.target
    local: dict[tuple[str, str], int] = defaultdict(int)
    for user_id, operation, quantity in UsageRecord.objects.values_list(
        "user_id", "operation"
    ).annotate(n=Sum("quantity")):
        local[(str(user_id), operation)] = quantity
    remote: dict[tuple[str, str], int] = {}
    for trader in traders:
        usage = metering_client.get_usage(user_id=str(trader.pk), period="month")
        for line in usage.breakdown:
            remote[(str(trader.pk), line.type)] = line.count
    metering_client.close_channels()

    ledger = subprocess.run(
        [sys.executable, "manage.py", "check_ledger"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    with capsys.disabled():
        print(
            f"\nfaults injected: {len(faults)} ({', '.join(name for name, _ in faults)});"
            f" {load_seconds:.0f} s of load, {THREADS} threads\n"
            f"orders answered 2xx: {len(told_ok)}"
            f" ({sum(o.status == 200 for o in told_ok.values())} as a replay of a retry),"
            f" refused 422: {len(told_no)},"
            f" cancels: {len(cancels)}, requests retried: {len(retried)}"
            f" ({sum(o.attempts - 1 for o in retried)} retries:"
            f" {dict(Counter(error for o in retried for error in o.errors))})\n"
            f"orders lost: {len(lost)}, duplicated: {len(duplicated)};"
            f" usage records: {sum(local.values())} here,"
            f" {sum(remote.values())} on the metering service;"
            f" {ledger.stdout.strip() or ledger.stderr.strip()}"
        )

    assert unanswered == [] and unexpected == []
    assert lost == [] and duplicated == [] and not_the_one_told == []
    assert replays and set(replays) == {(200, True)}
    assert stored_although_refused == []
    assert sum(stored.values()) == len(told_ok)  # nothing stored that no one was told about
    assert retried, "no request met a fault: the faults were not under load"
    last_fault_at = faults[-1][1]
    assert any(o.answered_at > last_fault_at for o in told_ok.values()), "no order after faults"
    assert len(told_ok) >= 20
    assert dict(local) == remote and sum(local.values()) > 0
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr
    assert ledger_check().differences == []
