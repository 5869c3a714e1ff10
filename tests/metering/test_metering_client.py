"""The Django-side client against a real metering server process."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from metering import client
from metering.client import (
    DailyUsage,
    MeteringUnavailable,
    OperationUsage,
    QuotaState,
    QuotaStatus,
)
from tests.servers import free_port
from trading_demo.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed

WEDNESDAY = datetime(2025, 11, 12, 15, 30, tzinfo=UTC)


def track(event_id: str, operation: str = "trade.execute", **kw) -> client.TrackResult:
    kw.setdefault("user_id", "42")
    kw.setdefault("occurred_at", WEDNESDAY)
    return client.track_usage(event_id=event_id, operation=operation, **kw)


def test_track_and_usage_come_back_as_decimals_and_utc_datetimes(metering):
    for n in range(3):
        result = track(f"x{n}", metadata={"order_id": f"o{n}"})
    for n in range(2):
        track(f"c{n}", "trade.cancel")
    for n in range(5):
        track(f"p{n}", "portfolio.get")

    assert result.accepted and not result.duplicate
    assert result.cost == Decimal("0.010")
    usage = client.get_usage(user_id="42", period="month", at=WEDNESDAY)

    assert usage.period == "month"
    assert usage.total_operations == 10
    assert usage.total_cost == Decimal("0.037")
    assert usage.breakdown == (
        OperationUsage(type="portfolio.get", count=5, cost=Decimal("0.005")),
        OperationUsage(type="trade.cancel", count=2, cost=Decimal("0.002")),
        OperationUsage(type="trade.execute", count=3, cost=Decimal("0.030")),
    )
    assert usage.start == datetime(2025, 11, 1, tzinfo=UTC)
    assert usage.end == datetime(2025, 12, 1, tzinfo=UTC)
    assert DailyUsage(date=date(2025, 11, 12), count=10, cost=Decimal("0.037")) in usage.daily
    assert sum(day.count for day in usage.daily) == 10


def test_same_event_twice_is_counted_once(metering):
    assert track("evt").duplicate is False
    again = track("evt")
    assert again.duplicate is True
    assert again.quota.used == 1
    assert client.get_usage(user_id="42", period="day", at=WEDNESDAY).total_operations == 1


def test_unknown_operation_raises_validation_failed_naming_the_field(metering):
    with pytest.raises(ValidationFailed) as failure:
        track("bad", "trade.teleport")
    assert "trade.teleport" in failure.value.message
    assert list(failure.value.details) == ["operation"]


def test_unknown_period_raises_validation_failed(metering):
    with pytest.raises(ValidationFailed) as failure:
        client.get_usage(user_id="42", period="fortnight")
    assert list(failure.value.details) == ["period"]


def test_quota_states_through_the_client(metering):
    status = client.set_quota(user_id="42", limit=100)
    assert (status.limit, status.used, status.state) == (100, 0, QuotaState.HEALTHY)

    seen = []
    for n, step in enumerate((79, 1, 15, 5)):
        track(f"q{n}", "api.call", quantity=step)
        seen.append(client.check_quota(user_id="42", at=WEDNESDAY))

    assert [(q.used, q.utilization_pct, q.state) for q in seen] == [
        (79, Decimal("79.0"), QuotaState.HEALTHY),
        (80, Decimal("80.0"), QuotaState.WARNING),
        (95, Decimal("95.0"), QuotaState.CRITICAL),
        (100, Decimal("100.0"), QuotaState.EXCEEDED),
    ]
    assert seen[-1] == QuotaStatus(
        limit=100,
        used=100,
        remaining=0,
        utilization_pct=Decimal("100.0"),
        state=QuotaState.EXCEEDED,
        reset_at=datetime(2025, 12, 1, tzinfo=UTC),
    )


def test_negative_quota_is_a_validation_error(metering):
    with pytest.raises(ValidationFailed) as failure:
        client.set_quota(user_id="42", limit=-1)
    assert list(failure.value.details) == ["limit"]


def test_prices_are_decimals_and_set_price_applies_to_later_events(metering):
    assert client.get_prices() == {
        "api.call": Decimal("0.001"),
        "portfolio.get": Decimal("0.001"),
        "trade.cancel": Decimal("0.001"),
        "trade.execute": Decimal("0.01"),
    }
    track("before")
    prices = client.set_price(operation="trade.execute", unit_price=Decimal("0.025"))
    assert prices["trade.execute"] == Decimal("0.025")
    assert track("after").cost == Decimal("0.025")
    assert client.get_usage(user_id="42", period="month", at=WEDNESDAY).total_cost == Decimal(
        "0.035"
    )


def test_complete_usage(metering):
    track("done")
    client.complete_usage(event_id="done")
    client.complete_usage(event_id="done")  # a retried completion is harmless
    with pytest.raises(Conflict):
        client.complete_usage(event_id="done", status="failed")
    with pytest.raises(NotFound):
        client.complete_usage(event_id="never-tracked")


def test_a_batch_comes_back_per_event_in_order(metering):
    events = [
        client.UsageEvent(event_id=f"b{n}", user_id="42", operation=op, occurred_at=WEDNESDAY)
        for n, op in enumerate(["trade.execute", "trade.teleport", "api.call"])
    ]
    results = client.track_usage_batch(events)
    assert [(r.event_id, r.cost, r.error_field) for r in results] == [
        ("b0", Decimal("0.010"), ""),
        ("b1", None, "operation"),
        ("b2", Decimal("0.001"), ""),
    ]
    assert [r.duplicate for r in client.track_usage_batch(events)] == [True, False, True]
    with pytest.raises(Conflict):
        client.complete_usage(event_id="b0", status="failed")  # completed by the batch


def test_health_is_serving(metering):
    assert asyncio.run(client.health()) == "SERVING"


def test_health_raises_when_nothing_listens(settings):
    settings.METERING_GRPC_URL = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(MeteringUnavailable):
        asyncio.run(client.health())
    assert time.monotonic() - started < 2


def test_unreachable_service_raises_metering_unavailable_quickly(settings):
    settings.METERING_GRPC_URL = f"127.0.0.1:{free_port()}"
    client.close_channels()
    started = time.monotonic()
    with pytest.raises(MeteringUnavailable) as failure:
        client.check_quota(user_id="42")
    elapsed = time.monotonic() - started

    assert isinstance(failure.value, ServiceUnavailable)
    assert failure.value.code == "service_unavailable"
    assert "UNAVAILABLE" in failure.value.message
    assert elapsed < 2
    client.close_channels()


class _StartServerOnFirstRetry(logging.Handler):
    """Brings the stopped server back the moment the client reports its first failure, so
    only a retry can succeed."""

    def __init__(self, server) -> None:
        super().__init__()
        self.server = server
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying" in record.getMessage():
            self.retries += 1
            if self.retries == 1:
                self.server.start()


def test_unavailable_is_retried_with_backoff(metering):
    track("first")
    metering.stop()
    client.close_channels()
    restarter = _StartServerOnFirstRetry(metering)
    logger = logging.getLogger("trading_demo.grpc_channels")  # the shared call helper
    logger.addHandler(restarter)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        started = time.monotonic()
        # The restart happens inside the retry loop, on the call's clock: give it time.
        result = track("second", timeout=15.0)
    finally:
        logger.removeHandler(restarter)
        logger.setLevel(previous_level)

    assert restarter.retries >= 1
    assert result.duplicate is False
    assert result.quota.used == 2  # the data from before the restart is still there
    assert time.monotonic() - started < 15


def test_deadline_is_respected_and_a_late_write_is_still_idempotent(metering):
    """The server waits up to 5 s for a locked database; the client gives up at its deadline.
    The write lands afterwards, and the caller's retry with the same event id is a duplicate."""
    blocker = sqlite3.connect(metering.database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(MeteringUnavailable) as failure:
            track("slow", timeout=0.3)
        elapsed = time.monotonic() - started
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert "DEADLINE_EXCEEDED" in failure.value.message
    assert elapsed < 2
    give_up = time.monotonic() + 10
    while client.get_usage(user_id="42", period="month", at=WEDNESDAY).total_operations == 0:
        assert time.monotonic() < give_up, "the abandoned write never landed"
        time.sleep(0.05)
    assert track("slow").duplicate is True
    assert client.get_usage(user_id="42", period="month", at=WEDNESDAY).total_operations == 1


def test_naive_datetimes_are_refused_before_the_call():
    with pytest.raises(ValueError, match="timezone-aware"):
        client.track_usage(
            event_id="e", user_id="42", operation="api.call", occurred_at=datetime(2025, 1, 1)
        )
