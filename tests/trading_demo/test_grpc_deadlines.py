"""Both gRPC clients call through one helper whose deadline covers every retry: a frozen
service (SIGSTOP on the real process: it accepts connections and never answers) costs a caller
its deadline, not attempts x deadline (issue 12, "Also build")."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from subprocess import Popen

import grpc
import pytest
from django.utils import timezone

from metering import client as metering_client
from metering.proto import metering_pb2_grpc
from oversight import client as oversight_client
from oversight.proto import oversight_pb2_grpc
from tests.servers import freeze

# What a deadline may overrun by on a loaded 2-core machine (thread wake-ups, the channel's
# own bookkeeping): less than the extra attempts a per-attempt deadline would add.
OVERRUN_SECONDS = 1.0


@contextmanager
def frozen(process: Popen | None) -> Iterator[None]:
    assert process is not None
    freeze(process.pid)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def seconds_to_fail(call: Callable[[], object], error: type[Exception]) -> float:
    started = time.monotonic()
    with pytest.raises(error):
        call()
    return time.monotonic() - started


@pytest.mark.parametrize("channel", ["connecting", "connected"])
def test_frozen_metering_fails_within_the_deadline_including_retries(metering, channel):
    user = str(uuid.uuid4())
    if channel == "connected":
        metering_client.check_quota(user_id=user, timeout=5.0)
    with frozen(metering.process):
        spent = seconds_to_fail(
            lambda: metering_client.check_quota(user_id=user, timeout=1.0),
            metering_client.MeteringUnavailable,
        )
    assert spent <= 1.0 + OVERRUN_SECONDS, spent
    # Thawed, the same client works again.
    assert metering_client.check_quota(user_id=user, timeout=5.0).used == 0


@pytest.mark.parametrize("channel", ["connecting", "connected"])
def test_frozen_oversight_fails_within_the_deadline_including_retries(oversight_settings, channel):
    missing = uuid.uuid4()
    if channel == "connected":
        with pytest.raises(oversight_client.NotFound):
            oversight_client.approval_status(approval_id=missing)
    with frozen(oversight_settings.process):
        spent = seconds_to_fail(
            lambda: oversight_client.approval_status(approval_id=missing),
            oversight_client.OversightUnavailable,
        )
        scored = seconds_to_fail(
            lambda: oversight_client.submit_approval(
                approval_id=uuid.uuid4(),
                order_id=uuid.uuid4(),
                user_id=uuid.uuid4(),
                symbol="ACME",
                side="BUY",
                quantity=200,
                price=Decimal("100.00"),
                notional=Decimal("20000.00"),
                score=60,
                level="HIGH",
                reasons=["notional"],
                expires_at=timezone.now() + timedelta(minutes=15),
                timeout=0.5,
            ),
            oversight_client.OversightUnavailable,
        )
    assert spent <= oversight_client.CALL_TIMEOUT + OVERRUN_SECONDS, spent
    assert scored <= 0.5 + OVERRUN_SECONDS, scored


class _Shedding:
    """A real gRPC server on a free port whose every answer is UNAVAILABLE after `delay`
    seconds, as an overloaded service shedding load answers: each attempt costs time, so
    only a deadline shared by all attempts keeps the caller's promise."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def answer(self, request: object, context: grpc.ServicerContext) -> None:
        self.calls += 1
        time.sleep(self.delay)
        context.abort(grpc.StatusCode.UNAVAILABLE, "shedding load")


@pytest.fixture
def shedding_metering(settings) -> Iterator[_Shedding]:
    shedding = _Shedding(delay=0.9)

    class Servicer(metering_pb2_grpc.MeteringServicer):
        def CheckQuota(self, request, context):
            shedding.answer(request, context)

    metering_pb2_grpc.add_MeteringServicer_to_server(Servicer(), shedding.server)
    shedding.server.start()
    settings.METERING_GRPC_URL = f"127.0.0.1:{shedding.port}"
    metering_client.close_channels()
    yield shedding
    shedding.server.stop(0)
    metering_client.close_channels()


@pytest.fixture
def shedding_oversight(settings) -> Iterator[_Shedding]:
    shedding = _Shedding(delay=0.8)

    class Servicer(oversight_pb2_grpc.OversightServicer):
        def GetApprovalStatus(self, request, context):
            shedding.answer(request, context)

    oversight_pb2_grpc.add_OversightServicer_to_server(Servicer(), shedding.server)
    shedding.server.start()
    settings.OVERSIGHT_GRPC_URL = f"127.0.0.1:{shedding.port}"
    oversight_client.reset_channels()
    yield shedding
    shedding.server.stop(0)
    oversight_client.reset_channels()


def test_slow_unavailable_metering_is_retried_only_within_the_deadline(shedding_metering):
    spent = seconds_to_fail(
        lambda: metering_client.check_quota(user_id="u-1", timeout=1.0),
        metering_client.MeteringUnavailable,
    )
    assert spent <= 1.0 + OVERRUN_SECONDS, spent
    assert shedding_metering.calls >= 2  # it did retry, inside the budget


def test_slow_unavailable_oversight_is_retried_only_within_the_deadline(shedding_oversight):
    spent = seconds_to_fail(
        lambda: oversight_client.approval_status(approval_id=uuid.uuid4()),
        oversight_client.OversightUnavailable,
    )
    assert spent <= oversight_client.CALL_TIMEOUT + OVERRUN_SECONDS, spent
    assert shedding_oversight.calls >= 2
