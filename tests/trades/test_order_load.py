"""The order path under load and under a frozen oversight service.

Real threads, each with its own database connection, through the real API (JWT, throttles,
billing, the order service, the oversight server in its own process); on SQLite here and on
PostgreSQL in CI's second run. After every race the ledger must equal what the fills say.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from conftest import jwt_for
from oversight import client as oversight
from portfolio.selectors import ledger_check
from tests.factories import UserFactory
from tests.servers import freeze
from tests.threads import at_once
from tests.trades.conftest import make_symbol, order_body, set_quotes
from trades.models import Order
from trades.services.orders import OrderRequest, order_submit
from trading_demo.models import Role

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
WRITERS = 32


def signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(user)}")
    return client


def test_32_concurrent_writers_never_fail_and_the_ledger_equals_the_fills():
    symbol = make_symbol()
    set_quotes(symbol, bids=[("99.95", 1_000_000)], asks=[("100.05", 1_000_000)])
    traders = [UserFactory(role=Role.TRADER) for _ in range(4)]
    for trader in traders:  # shares to sell, and a resting order to cancel
        order_submit(
            user=trader,
            request=OrderRequest("ACME", "BUY", "MARKET", 20, "IOC", f"seed-{trader.pk}"),
        )
        order_submit(
            user=trader,
            request=OrderRequest("ACME", "BUY", "LIMIT", 5, "GTC", f"rest-{trader.pk}", D("95")),
        )
    resting = {o.user_id: o.pk for o in Order.objects.filter(status="open")}

    def writer(n: int):
        trader = traders[n % len(traders)]
        client = signed_in(trader)
        kind = n // len(traders)
        if kind == 0:
            return client.delete(f"/api/trades/{resting[trader.pk]}").status_code
        if kind in (1, 2):  # a billable read writes its usage record
            return client.get("/api/portfolio").status_code
        side = "SELL" if kind == 3 else "BUY"
        body = order_body(type=side, quantity=1, client_order_id=f"w-{n}")
        if kind == 4:
            body |= {"order_type": "LIMIT", "price": "99.00", "time_in_force": "GTC"}
        return client.post("/api/trades", body, format="json").status_code

    codes = at_once([lambda n=n: writer(n) for n in range(WRITERS)])

    assert len(codes) == WRITERS  # no thread died of an exception ("database is locked")
    assert sorted(set(codes)) == [200, 201]
    assert ledger_check().differences == []


def test_a_frozen_oversight_service_delays_only_orders(oversight_settings, trader, trader2):
    symbol = make_symbol()
    set_quotes(symbol, asks=[("100.05", 1_000)])
    api = signed_in(trader)
    assert (
        api.post("/api/trades", order_body(client_order_id="warm"), format="json").status_code
        == 201
    )
    orders_before = Order.objects.count()
    process = oversight_settings.process
    assert process is not None
    results: dict[str, tuple[int, float]] = {}

    def place(name: str) -> None:
        started = time.monotonic()
        response = signed_in(trader).post(
            "/api/trades", order_body(client_order_id=name), format="json"
        )
        results[name] = (response.status_code, time.monotonic() - started)

    freeze(process.pid)
    try:
        waiting = [threading.Thread(target=place, args=(f"frozen-{n}",)) for n in range(2)]
        for thread in waiting:
            thread.start()
        time.sleep(0.2)  # both orders are now waiting for the service
        reads = [
            api.get("/api/portfolio").status_code,
            api.get("/api/auth/me").status_code,
            signed_in(trader2).get("/api/portfolio").status_code,
            signed_in(trader2).get("/api/trades").status_code,
        ]
        still_waiting = [thread.is_alive() for thread in waiting]
        for thread in waiting:
            thread.join(timeout=30)
    finally:
        os.kill(process.pid, signal.SIGCONT)

    assert reads == [200, 200, 200, 200]
    assert still_waiting == [True, True]  # the reads did not queue behind the orders
    for code, elapsed in results.values():
        assert code == 503
        assert elapsed <= settings.ORDER_TIMEOUT_SECONDS + 1.0
    assert Order.objects.count() == orders_before  # nothing stored for them
    oversight.reset_channels()
    retry = api.post("/api/trades", order_body(client_order_id="frozen-0"), format="json")
    assert retry.status_code == 201


def test_a_replace_waiting_for_a_frozen_oversight_holds_no_lock(
    oversight_settings, trader, trader2
):
    """A replacement is scored before any lock like every order: while it waits for a frozen
    service, another trader's write (a cancel) goes through."""
    symbol = make_symbol()
    set_quotes(symbol, asks=[("100.05", 1_000)])
    mine = signed_in(trader).post(
        "/api/trades",
        order_body(order_type="LIMIT", price="99.00", time_in_force="GTC", client_order_id="a"),
        format="json",
    )
    theirs = signed_in(trader2).post(
        "/api/trades",
        order_body(order_type="LIMIT", price="98.00", time_in_force="GTC", client_order_id="b"),
        format="json",
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    process = oversight_settings.process
    assert process is not None
    replaced: list[int] = []

    def replace() -> None:
        response = signed_in(trader).post(
            f"/api/trades/{mine.json()['id']}/replace", {"price": "99.50"}, format="json"
        )
        replaced.append(response.status_code)

    freeze(process.pid)
    try:
        waiting = threading.Thread(target=replace)
        waiting.start()
        time.sleep(0.2)  # the replacement is now waiting for the service
        cancelled = signed_in(trader2).delete(f"/api/trades/{theirs.json()['id']}").status_code
        still_waiting = waiting.is_alive()
        waiting.join(timeout=30)
    finally:
        os.kill(process.pid, signal.SIGCONT)
    oversight.reset_channels()

    assert cancelled == 200
    assert still_waiting  # the cancel did not queue behind the replacement's risk call
    assert replaced == [503]
    assert Order.objects.get(pk=mine.json()["id"]).status == "open"  # untouched, still resting
    assert ledger_check().differences == []


def _lift_during_scoring(monkeypatch, *, trader, lifter, lift: list[OrderRequest]) -> list[tuple]:
    """While the trader's next order is being scored, `lifter` trades against the trader's
    resting offer on another thread: the trader's figures move between the score and the lock.
    Returns (position scored on, evaluation id) for each of the trader's remote scores."""
    real_evaluate = oversight.evaluate_risk
    scored: list[tuple] = []

    def evaluate_then_someone_trades(**facts):
        assessment = real_evaluate(**facts)
        if facts["user_id"] != trader.pk:
            return assessment
        scored.append((facts["position_quantity"], assessment.evaluation_id))
        if len(scored) == 1:
            other = threading.Thread(target=_place_all, args=(lifter, lift))
            other.start()
            other.join()
        return assessment

    monkeypatch.setattr(oversight, "evaluate_risk", evaluate_then_someone_trades)
    return scored


def _place_all(user, requests: list[OrderRequest]) -> None:
    try:
        for request in requests:
            order_submit(user=user, request=request)
    finally:
        connection.close()


def _chunks(shares: int) -> list[int]:
    """Order sizes under the approval line (10,000 USD at about 100 a share)."""
    return [min(90, shares - start) for start in range(0, shares, 90)]


def _holding_with_an_offer(trader, *, shares: int) -> list[OrderRequest]:
    """The trader holds `shares` and offers them all at 101; the orders that lift the offer."""
    symbol = make_symbol()
    set_quotes(symbol, asks=[("100.00", 10_000)])
    for n, size in enumerate(_chunks(shares)):
        order_submit(
            user=trader, request=OrderRequest("ACME", "BUY", "MARKET", size, "IOC", f"own-{n}")
        )
    set_quotes(symbol)
    for n, size in enumerate(_chunks(shares)):
        order_submit(
            user=trader,
            request=OrderRequest("ACME", "SELL", "LIMIT", size, "GTC", f"ask-{n}", D("101")),
        )
    set_quotes(symbol, asks=[("101.50", 10_000)])  # behind the trader's offer at 101
    return [
        OrderRequest("ACME", "BUY", "LIMIT", size, "IOC", f"lift-{n}", D("101"))
        for n, size in enumerate(_chunks(shares))
    ]


def test_an_order_is_scored_again_when_its_account_moved_before_the_lock(
    trader, trader2, monkeypatch
):
    """450 shares held (45 % of equity: +25) are sold to trader2 between the score and the
    lock: on the figures the order really meets it scores 20 points less, so the service is
    asked again and the order is placed on that evaluation."""
    lift = _holding_with_an_offer(trader, shares=450)
    scored = _lift_during_scoring(monkeypatch, trader=trader, lifter=trader2, lift=lift)

    result = order_submit(
        user=trader, request=OrderRequest("ACME", "BUY", "MARKET", 5, "IOC", "after")
    )

    assert [position for position, _ in scored] == [450, 0]
    assert result.order.status == "filled"
    assert result.order.risk_score == 5  # volatility only
    placed_on = oversight.get_evaluation(evaluation_id=scored[-1][1])
    assert placed_on.request_id == f"{result.order.pk}.1"
    assert placed_on.inputs["position_quantity"] == 0
    assert ledger_check().differences == []


def test_an_order_keeps_its_score_when_the_moved_figures_score_the_same(
    trader, trader2, monkeypatch
):
    """A small holding sold meanwhile changes no rule's points: the service's verdict stands
    and it is not asked twice."""
    lift = _holding_with_an_offer(trader, shares=20)
    scored = _lift_during_scoring(monkeypatch, trader=trader, lifter=trader2, lift=lift)

    result = order_submit(
        user=trader, request=OrderRequest("ACME", "BUY", "MARKET", 5, "IOC", "after")
    )

    assert [position for position, _ in scored] == [20]
    assert (result.order.status, result.order.risk_score) == ("filled", 5)
    assert ledger_check().differences == []
