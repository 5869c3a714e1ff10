"""The metering service itself, over gRPC with the generated stub: a real process per test."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from metering.proto import metering_pb2 as pb
from metering.proto import metering_pb2_grpc
from tests.metering.conftest import wait_for_listening
from tests.servers import ROOT, free_port

# A Wednesday in a past month, so that nothing depends on today's date.
WEDNESDAY = datetime(2025, 11, 12, 15, 30, tzinfo=UTC)


def stamp(at: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(at)
    return result


def track(
    stub, event_id: str, operation: str = "trade.execute", *, user: str = "u1", at=WEDNESDAY, **kw
) -> pb.TrackUsageResponse:
    request = pb.TrackUsageRequest(
        event_id=event_id, user_id=user, operation=operation, occurred_at=stamp(at), **kw
    )
    return stub.TrackUsage(request, timeout=5)


def usage(stub, period: str, *, user: str = "u1", at=WEDNESDAY) -> pb.GetUsageResponse:
    return stub.GetUsage(pb.GetUsageRequest(user_id=user, period=period, at=stamp(at)), timeout=5)


def quota(stub, *, user: str = "u1", at=WEDNESDAY) -> pb.QuotaStatus:
    return stub.CheckQuota(pb.CheckQuotaRequest(user_id=user, at=stamp(at)), timeout=5).quota


def breakdown(report: pb.GetUsageResponse) -> dict[str, tuple[int, str]]:
    return {line.type: (line.count, line.cost) for line in report.breakdown}


def test_usage_adds_up_to_the_cent_by_operation(stub):
    for n in range(3):
        assert track(stub, f"x{n}", "trade.execute").cost == "0.010"
    for n in range(2):
        assert track(stub, f"c{n}", "trade.cancel").cost == "0.001"
    for n in range(5):
        track(stub, f"p{n}", "portfolio.get")

    month = usage(stub, "month")

    assert month.total_operations == 10
    assert month.total_cost == "0.037"
    assert breakdown(month) == {
        "portfolio.get": (5, "0.005"),
        "trade.cancel": (2, "0.002"),
        "trade.execute": (3, "0.030"),
    }
    assert month.start.ToDatetime(tzinfo=UTC) == datetime(2025, 11, 1, tzinfo=UTC)
    assert month.end.ToDatetime(tzinfo=UTC) == datetime(2025, 12, 1, tzinfo=UTC)
    assert len(month.daily) == 30
    days = {day.date: (day.count, day.cost) for day in month.daily}
    assert days["2025-11-12"] == (10, "0.037")
    assert days["2025-11-11"] == (0, "0.000")


def test_quantity_multiplies_the_unit_price(stub):
    assert track(stub, "bulk", "api.call", quantity=250).cost == "0.250"
    assert usage(stub, "day").total_operations == 250


def test_periods_are_calendar_day_iso_week_and_month(stub):
    track(stub, "wed", at=WEDNESDAY)
    track(stub, "mon", at=datetime(2025, 11, 10, 0, 0, tzinfo=UTC))  # Monday of the same week
    track(stub, "sun", at=datetime(2025, 11, 9, 23, 59, 59, tzinfo=UTC))  # the week before
    track(stub, "first", at=datetime(2025, 11, 1, tzinfo=UTC))
    track(stub, "october", at=datetime(2025, 10, 31, 23, 59, 59, tzinfo=UTC))
    track(stub, "other-user", user="u2")

    day, week, month = (usage(stub, period) for period in ("day", "week", "month"))

    assert (day.total_operations, week.total_operations, month.total_operations) == (1, 2, 4)
    assert week.start.ToDatetime(tzinfo=UTC) == datetime(2025, 11, 10, tzinfo=UTC)
    assert week.end.ToDatetime(tzinfo=UTC) == datetime(2025, 11, 17, tzinfo=UTC)
    assert week.daily[0].date == "2025-11-10"
    assert [d.count for d in week.daily] == [1, 0, 1, 0, 0, 0, 0]
    assert [d.date for d in day.daily] == ["2025-11-12"]


def test_repeated_event_id_is_acknowledged_and_counted_once(stub):
    first = track(stub, "evt-1")
    again = track(stub, "evt-1")

    assert (first.accepted, first.duplicate) == (True, False)
    assert (again.accepted, again.duplicate) == (True, True)
    assert again.cost == first.cost == "0.010"
    assert usage(stub, "month").total_operations == 1
    assert again.quota.used == 1


def test_concurrent_duplicates_are_counted_once(stub):
    threads = 16
    barrier = threading.Barrier(threads)
    results: list[pb.TrackUsageResponse] = []

    def send() -> None:
        barrier.wait()
        results.append(track(stub, "same-event"))

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(results) == threads
    assert sorted(result.duplicate for result in results) == [False] + [True] * (threads - 1)
    assert usage(stub, "month").total_operations == 1


def test_concurrent_distinct_events_are_all_counted(stub):
    def send(worker: int) -> None:
        for n in range(20):
            track(stub, f"w{worker}-{n}", "portfolio.get")

    workers = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    month = usage(stub, "month")
    assert (month.total_operations, month.total_cost) == (160, "0.160")


def test_unknown_operation_is_invalid_argument_and_not_recorded(stub):
    with pytest.raises(grpc.RpcError) as failure:
        track(stub, "bad", "trade.teleport")

    assert failure.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "trade.teleport" in failure.value.details()
    assert ("metering-field", "operation") in failure.value.trailing_metadata()
    assert usage(stub, "month").total_operations == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"event_id": ""}, "event_id"),
        ({"user_id": ""}, "user_id"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -3}, "quantity"),
    ],
)
def test_malformed_track_requests_are_invalid_argument(stub, fields, field):
    request = pb.TrackUsageRequest(event_id="e", user_id="u1", operation="api.call")
    for name, value in fields.items():
        setattr(request, name, value)
    with pytest.raises(grpc.RpcError) as failure:
        stub.TrackUsage(request, timeout=5)
    assert failure.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert ("metering-field", field) in failure.value.trailing_metadata()


def test_quantity_defaults_to_one_and_time_to_now(stub):
    now = datetime.now(UTC)
    stub.TrackUsage(
        pb.TrackUsageRequest(event_id="bare", user_id="u1", operation="api.call"), timeout=5
    )
    assert usage(stub, "day", at=now).total_operations == 1


@pytest.mark.parametrize(
    ("used", "pct", "state", "remaining"),
    [
        (79, "79.0", "healthy", 21),
        (80, "80.0", "warning", 20),
        (94, "94.0", "warning", 6),
        (95, "95.0", "critical", 5),
        (100, "100.0", "exceeded", 0),
        (101, "101.0", "exceeded", 0),
    ],
)
def test_quota_states_follow_utilisation(stub, used, pct, state, remaining):
    stub.SetQuota(pb.SetQuotaRequest(user_id="u1", limit=100), timeout=5)
    last = track(stub, "bulk", "api.call", quantity=used)

    status = quota(stub)
    assert (status.limit, status.used, status.remaining) == (100, used, remaining)
    assert (status.utilization_pct, status.state) == (pct, state)
    assert last.quota == status


def test_utilisation_is_rounded_down_so_it_never_overstates(stub):
    stub.SetQuota(pb.SetQuotaRequest(user_id="u1", limit=10_000), timeout=5)
    track(stub, "bulk", "api.call", quantity=7_999)
    status = quota(stub)
    assert (status.utilization_pct, status.state) == ("79.9", "healthy")


def test_quota_defaults_to_ten_thousand_and_resets_on_the_first_of_next_month(stub):
    december = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    track(stub, "late", at=december)

    status = quota(stub, at=december)
    assert (status.limit, status.used, status.state) == (10_000, 1, "healthy")
    assert status.reset_at.ToDatetime(tzinfo=UTC) == datetime(2026, 1, 1, tzinfo=UTC)
    assert quota(stub, at=datetime(2026, 1, 1, tzinfo=UTC)).used == 0


def test_quota_counts_only_the_user_and_month(stub):
    track(stub, "mine")
    track(stub, "theirs", user="u2")
    track(stub, "last-month", at=WEDNESDAY - timedelta(days=30))
    assert quota(stub).used == 1


def test_quota_limit_zero_is_exceeded_and_negative_is_refused(stub):
    status = stub.SetQuota(pb.SetQuotaRequest(user_id="u1", limit=0), timeout=5).quota
    assert (status.limit, status.remaining, status.state) == (0, 0, "exceeded")

    with pytest.raises(grpc.RpcError) as failure:
        stub.SetQuota(pb.SetQuotaRequest(user_id="u1", limit=-1), timeout=5)
    assert failure.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_default_prices(stub):
    prices = stub.GetPrices(pb.GetPricesRequest(), timeout=5).prices
    assert {p.operation: p.unit_price for p in prices} == {
        "api.call": "0.001",
        "portfolio.get": "0.001",
        "trade.cancel": "0.001",
        "trade.execute": "0.010",
    }


def test_set_price_changes_future_costs_only(stub):
    assert track(stub, "before").cost == "0.010"

    prices = stub.SetPrice(
        pb.SetPriceRequest(operation="trade.execute", unit_price="0.02"), timeout=5
    ).prices
    assert {p.operation: p.unit_price for p in prices}["trade.execute"] == "0.020"

    assert track(stub, "after").cost == "0.020"
    assert track(stub, "before").cost == "0.010"  # a redelivery keeps the price it was tracked at
    month = usage(stub, "month")
    assert (month.total_operations, month.total_cost) == (2, "0.030")


def test_set_price_can_price_a_new_operation_to_the_micro_dollar(stub):
    stub.SetPrice(pb.SetPriceRequest(operation="report.export", unit_price="0.0005"), timeout=5)
    assert track(stub, "r1", "report.export", quantity=3).cost == "0.0015"


@pytest.mark.parametrize(
    ("operation", "price"),
    [
        ("trade.execute", "-0.01"),
        ("trade.execute", "0.0000001"),
        ("trade.execute", "cheap"),
        ("trade.execute", "NaN"),
        ("Trade Execute", "0.01"),
    ],
)
def test_set_price_refuses_bad_input(stub, operation, price):
    with pytest.raises(grpc.RpcError) as failure:
        stub.SetPrice(pb.SetPriceRequest(operation=operation, unit_price=price), timeout=5)
    assert failure.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_complete_usage_is_idempotent_and_unknown_events_are_not_found(stub):
    track(stub, "e1")
    for _ in range(2):
        done = stub.CompleteUsage(pb.CompleteUsageRequest(event_id="e1"), timeout=5)
        assert done.status == "completed"

    with pytest.raises(grpc.RpcError) as missing:
        stub.CompleteUsage(pb.CompleteUsageRequest(event_id="nope"), timeout=5)
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND

    with pytest.raises(grpc.RpcError) as changed:
        stub.CompleteUsage(pb.CompleteUsageRequest(event_id="e1", status="failed"), timeout=5)
    assert changed.value.code() is grpc.StatusCode.FAILED_PRECONDITION


def batch_event(event_id: str, operation: str = "trade.execute", **kw) -> pb.TrackUsageRequest:
    return pb.TrackUsageRequest(
        event_id=event_id, user_id="u1", operation=operation, occurred_at=stamp(WEDNESDAY), **kw
    )


def test_a_batch_records_and_completes_each_event_once_and_refuses_only_the_bad_ones(stub):
    track(stub, "before")
    stub.CompleteUsage(pb.CompleteUsageRequest(event_id="before", status="failed"), timeout=5)
    request = pb.TrackUsageBatchRequest(
        events=[
            batch_event("b1"),
            batch_event("b2", "trade.cancel", quantity=3),
            batch_event("bad", "trade.teleport"),
            batch_event("before"),  # already failed: it cannot become completed
            batch_event("b1"),  # the same event twice in one batch counts once
        ],
        status="completed",
    )

    results = stub.TrackUsageBatch(request, timeout=5).results
    again = stub.TrackUsageBatch(request, timeout=5).results

    assert [(r.event_id, r.duplicate, r.cost, r.error_field) for r in results] == [
        ("b1", False, "0.010", ""),
        ("b2", False, "0.003", ""),
        ("bad", False, "", "operation"),
        ("before", False, "", "status"),
        ("b1", True, "0.010", ""),
    ]
    assert "unknown operation 'trade.teleport'" in results[2].error
    assert [r.duplicate for r in again] == [True, True, False, False, True]
    month = usage(stub, "month")
    assert breakdown(month) == {"trade.cancel": (3, "0.003"), "trade.execute": (1, "0.010")}
    # Completed in the same call: completing again is the no-op, failing it a conflict.
    with pytest.raises(grpc.RpcError) as changed:
        stub.CompleteUsage(pb.CompleteUsageRequest(event_id="b1", status="failed"), timeout=5)
    assert changed.value.code() is grpc.StatusCode.FAILED_PRECONDITION


def test_a_batch_over_the_limit_or_with_a_bad_status_records_nothing(stub):
    too_many = pb.TrackUsageBatchRequest(events=[batch_event(f"e{n}") for n in range(501)])
    bad_status = pb.TrackUsageBatchRequest(events=[batch_event("e1")], status="done")
    for request in (too_many, bad_status):
        with pytest.raises(grpc.RpcError) as refused:
            stub.TrackUsageBatch(request, timeout=5)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert usage(stub, "month").total_operations == 0


def test_failed_operations_are_not_billed(stub):
    track(stub, "ok")
    track(stub, "broken")
    stub.CompleteUsage(pb.CompleteUsageRequest(event_id="broken", status="failed"), timeout=5)

    month = usage(stub, "month")
    assert (month.total_operations, month.total_cost) == (1, "0.010")
    assert quota(stub).used == 1


def test_health_is_serving_for_the_server_and_the_service(metering_server):
    with grpc.insecure_channel(metering_server.target) as channel:
        checker = health_pb2_grpc.HealthStub(channel)
        for service in ("", "metering.v1.Metering"):
            response = checker.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_usage_survives_a_restart(metering_server, stub):
    track(stub, "kept-1")
    track(stub, "kept-2", "trade.cancel")
    stub.SetQuota(pb.SetQuotaRequest(user_id="u1", limit=50), timeout=5)
    stub.SetPrice(pb.SetPriceRequest(operation="api.call", unit_price="0.002"), timeout=5)

    assert metering_server.stop() == 0  # SIGTERM: graceful, exit code 0
    metering_server.start()

    with grpc.insecure_channel(metering_server.target) as channel:
        again = metering_pb2_grpc.MeteringStub(channel)
        month = usage(again, "month")
        assert (month.total_operations, month.total_cost) == (2, "0.011")
        assert quota(again).limit == 50
        assert track(again, "kept-1").duplicate is True
        assert track(again, "new", "api.call").cost == "0.002"


def test_killed_part_way_then_redelivered_counts_every_event_once(metering_server):
    """A client sends 200 events, the server dies mid-stream (SIGKILL), comes back, and the
    client redelivers them all, as an outbox does: each is counted exactly once."""
    events = [f"evt-{n}" for n in range(200)]
    delivered: list[str] = []

    def deliver() -> None:
        with grpc.insecure_channel(metering_server.target) as channel:
            sender = metering_pb2_grpc.MeteringStub(channel)
            for event_id in events:
                try:
                    track(sender, event_id, "portfolio.get")
                except grpc.RpcError:
                    return
                delivered.append(event_id)

    sender_thread = threading.Thread(target=deliver)
    sender_thread.start()
    while len(delivered) < 50:
        threading.Event().wait(0.005)
    metering_server.kill()
    sender_thread.join()
    assert 50 <= len(delivered) < len(events)

    metering_server.start()
    with grpc.insecure_channel(metering_server.target) as channel:
        sender = metering_pb2_grpc.MeteringStub(channel)
        duplicates = sum(track(sender, event_id, "portfolio.get").duplicate for event_id in events)
        month = usage(sender, "month")

    assert duplicates >= len(delivered)  # everything acknowledged before the crash was kept
    assert (month.total_operations, month.total_cost) == (200, "0.200")


def test_a_slow_database_does_not_break_other_readers(metering_server, stub):
    """WAL: a writer holding the database does not block usage reads."""
    track(stub, "e1")
    blocker = sqlite3.connect(metering_server.database)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        assert usage(stub, "month").total_operations == 1
    finally:
        blocker.rollback()
        blocker.close()


def test_server_takes_address_data_dir_and_quota_from_the_environment(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "METERING_GRPC_URL": f"127.0.0.1:{port}",
        "DATA_DIR": str(tmp_path / "env-data"),
        "METERING_DEFAULT_QUOTA": "42",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "metering.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_for_listening(process, f"metering listening on 127.0.0.1:{port}", tmp_path)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert quota(metering_pb2_grpc.MeteringStub(channel)).limit == 42
        assert (tmp_path / "env-data" / "metering.sqlite3").exists()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert process.stdout is not None
        process.stdout.close()


def test_a_second_server_on_a_taken_port_fails_instead_of_sharing_it(metering_server, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metering.server",
            "--port",
            str(metering_server.port),
            "--data-dir",
            str(tmp_path / "other"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "cannot listen" in result.stderr


def test_generated_stubs_are_fresh():
    result = subprocess.run(
        [sys.executable, "-m", "trading_demo.protogen", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_server_package_does_not_import_django():
    code = (
        "import sys, metering.server.__main__, metering.server.service; "
        "sys.exit('django' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0
