"""What the gRPC service clients share: one cached channel per target, the one call helper
(a deadline that covers every retry), and the standard health check. Each client keeps its own
deadlines, retry policy and error mapping."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

logger = logging.getLogger(__name__)


class ChannelCache:
    """One channel per target, and one stub per service on it, made on first use (thread-safe;
    gRPC's channels and stubs are safe to share between threads)."""

    def __init__(self, options: Sequence[tuple[str, Any]]) -> None:
        self._options = list(options)
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[tuple[str, Callable[[grpc.Channel], Any]], Any] = {}
        self._lock = threading.Lock()

    def _channel(self, target: str) -> grpc.Channel:
        channel = self._channels.get(target)
        if channel is None:
            channel = grpc.insecure_channel(target, options=self._options)
            self._channels[target] = channel
        return channel

    def stub[S](self, target: str, make: Callable[[grpc.Channel], S]) -> S:
        """`make(channel)` on the target's channel, once (a stub builds a callable per method:
        a sixth of the risk call's own time when it was made per call)."""
        key = (target, make)
        stub: S | None = self._stubs.get(key)
        if stub is None:
            with self._lock:
                stub = self._stubs.get(key)
                if stub is None:
                    stub = make(self._channel(target))
                    self._stubs[key] = stub
        return stub

    def close(self) -> None:
        """Close every cached channel; the next call opens a new one."""
        with self._lock:
            channels = list(self._channels.values())
            self._channels.clear()
            self._stubs.clear()
        for channel in channels:
            channel.close()


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try an UNAVAILABLE call again, and how long to wait in between (each wait
    `multiplier` times the last, at most `backoff_max`). Only UNAVAILABLE is retried: the
    call never reached the service, so trying again cannot do anything twice."""

    attempts: int = 3
    backoff_initial: float = 0.1
    multiplier: float = 2.0
    backoff_max: float = 1.0

    def backoff(self, attempt: int) -> float:
        """The wait after the `attempt`-th failure (1-based)."""
        return min(self.backoff_initial * self.multiplier ** (attempt - 1), self.backoff_max)


class DeadlineSpent(grpc.RpcError):
    """The call's deadline ran out between attempts (a retry had no time left): reported like
    the DEADLINE_EXCEEDED the service would have caused, so the clients map one code."""

    def __init__(self, method: str, attempts: int) -> None:
        super().__init__(f"{method}: deadline spent after {attempts} attempt(s)")
        self._details = f"deadline spent after {attempts} attempt(s)"

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.DEADLINE_EXCEEDED

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()


def call_within_deadline[R](
    attempt: Callable[[float, bool], R],
    *,
    timeout: float,
    policy: RetryPolicy,
    method: str = "call",
) -> R:
    """Run `attempt(remaining_seconds, wait_for_ready)` (one RPC with that as its gRPC deadline
    and wait_for_ready flag) until it answers, retrying UNAVAILABLE by `policy`. `timeout`
    bounds the whole call: every attempt and every backoff sleep come out of it, so a slow or
    frozen service costs the caller at most `timeout`, never `attempts` x `timeout`.

    The first attempt fails fast on a channel that cannot connect; the retries wait for the
    channel to be ready (within what is left of the deadline), since a service that was just
    restarted is reached only once the channel's reconnect backoff has run out: a retry that
    failed at once on a still-backing-off channel would be wasted. Raises the last
    grpc.RpcError; when the deadline ran out while retrying an UNAVAILABLE service, that
    UNAVAILABLE error (it says why: "connection refused"), else DeadlineSpent when no time was
    left for the next attempt."""
    deadline = time.monotonic() + timeout
    unavailable: grpc.RpcError | None = None
    for number in range(1, policy.attempts + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise unavailable or DeadlineSpent(method, number - 1)
        try:
            return attempt(remaining, number > 1)
        except grpc.RpcError as exc:
            if unavailable is not None and exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
                raise unavailable from exc  # the retry waited for a service that never came
            if exc.code() is not grpc.StatusCode.UNAVAILABLE or number == policy.attempts:
                raise
            unavailable = exc
            wait = min(policy.backoff(number), max(deadline - time.monotonic(), 0.0))
            logger.info(
                "%s unavailable (attempt %d of %d), retrying in %.0f ms",
                method,
                number,
                policy.attempts,
                wait * 1000,
            )
            time.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


async def health_status(target: str, service: str, timeout: float) -> str:
    """The grpc.health.v1 status name of `service` at `target` ("SERVING", ...).

    A fresh grpc.aio channel per check: an aio channel belongs to the event loop it was made
    on, and health checks are rare. Raises grpc.RpcError when the service does not answer.
    """
    async with grpc.aio.insecure_channel(target) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout
        )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
