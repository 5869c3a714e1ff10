"""Typed client for creto-metering, the usage metering gRPC service.

The only Django-side module that imports the generated stubs: everything else calls these
functions and gets frozen dataclasses back (`Decimal` money, UTC `datetime`s), never protobuf.

Every call carries its own deadline (`timeout=` on the call, not a service-config timeout:
grpcio 1.85 fails every call when that is under 2 s), and it covers the retries too. Only
UNAVAILABLE is retried, with exponential backoff; a service that cannot be reached, or a
deadline that passes, raises `MeteringUnavailable`. One channel per target, created on first
use and shared by all threads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import grpc
import grpc.aio
from django.conf import settings
from google.protobuf.timestamp_pb2 import Timestamp

from metering.proto import metering_pb2 as pb
from metering.proto import metering_pb2_grpc
from trading_demo.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from trading_demo.grpc_channels import (
    ChannelCache,
    RetryPolicy,
    call_within_deadline,
    health_status,
)

logger = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Metering"].full_name
FIELD_METADATA_KEY = "metering-field"  # the server names the invalid field here

# Seconds. Quota checks sit on the order path, so they get the shortest leash.
TRACK_DEADLINE = 1.0
COMPLETE_DEADLINE = 1.0
BATCH_DEADLINE = 3.0
MAX_BATCH = 500  # the service's limit per TrackUsageBatch
USAGE_DEADLINE = 2.0
QUOTA_DEADLINE = 0.5
ADMIN_DEADLINE = 1.0
HEALTH_DEADLINE = 1.0

# 50 ms, then 200 ms between attempts, out of the call's own deadline.
RETRY = RetryPolicy(attempts=3, backoff_initial=0.05, multiplier=4, backoff_max=0.2)

_CHANNEL_OPTIONS = [
    # gRPC's default reconnect backoff grows to 120 s: after a restart of the service the web
    # app would keep failing fast long after it is back. Our services are local; retry often.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


class MeteringUnavailable(ServiceUnavailable):
    """The metering service could not be reached or did not answer in time."""


class QuotaState(StrEnum):
    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"
    EXCEEDED = "exceeded"


@dataclass(frozen=True)
class QuotaStatus:
    limit: int
    used: int
    remaining: int
    utilization_pct: Decimal
    state: QuotaState
    reset_at: datetime


@dataclass(frozen=True)
class TrackResult:
    accepted: bool
    duplicate: bool
    cost: Decimal
    quota: QuotaStatus


@dataclass(frozen=True)
class UsageEvent:
    event_id: str
    user_id: str
    operation: str
    occurred_at: datetime
    quantity: int = 1
    metadata: Mapping[str, str] | None = None


@dataclass(frozen=True)
class BatchResult:
    """One event of a batch: recorded (`error` empty) or refused, and why."""

    event_id: str
    duplicate: bool
    cost: Decimal | None
    error: str = ""
    error_field: str = ""


@dataclass(frozen=True)
class OperationUsage:
    type: str
    count: int
    cost: Decimal


@dataclass(frozen=True)
class DailyUsage:
    date: date
    count: int
    cost: Decimal


@dataclass(frozen=True)
class Usage:
    period: str
    start: datetime
    end: datetime
    total_operations: int
    total_cost: Decimal
    breakdown: tuple[OperationUsage, ...]
    daily: tuple[DailyUsage, ...]


_channels = ChannelCache(_CHANNEL_OPTIONS)


def _target() -> str:
    return str(settings.METERING_GRPC_URL)


def _stub() -> metering_pb2_grpc.MeteringStub:
    return _channels.stub(_target(), metering_pb2_grpc.MeteringStub)


def close_channels() -> None:
    """Close every cached channel; the next call opens a new one (tests, settings changes)."""
    _channels.close()


def _call(method: str, request: Any, timeout: float) -> Any:
    """One RPC whose `timeout` covers every retry (trading_demo.grpc_channels)."""
    try:
        return call_within_deadline(
            lambda remaining, wait: getattr(_stub(), method)(
                request, timeout=remaining, wait_for_ready=wait
            ),
            timeout=timeout,
            policy=RETRY,
            method=f"metering {method}",
        )
    except grpc.RpcError as exc:
        raise _translate(method, exc) from exc


def _translate(method: str, exc: grpc.RpcError) -> Exception:
    code: grpc.StatusCode = exc.code()
    message = exc.details() or code.name
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        trailing = dict(exc.trailing_metadata() or ())
        field = trailing.get(FIELD_METADATA_KEY) or "non_field_errors"
        return ValidationFailed(message, details={field: [message]})
    if code is grpc.StatusCode.NOT_FOUND:
        return NotFound(message)
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        return Conflict(message)
    if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        logger.warning("metering %s failed with %s: %s", method, code.name, message)
    return MeteringUnavailable(f"Metering service unavailable ({code.name}): {message}")


def _timestamp(at: datetime) -> Timestamp:
    if at.tzinfo is None:
        raise ValueError("metering times must be timezone-aware")
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _datetime(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def _quota(message: pb.QuotaStatus) -> QuotaStatus:
    return QuotaStatus(
        limit=message.limit,
        used=message.used,
        remaining=message.remaining,
        utilization_pct=Decimal(message.utilization_pct),
        state=QuotaState(message.state),
        reset_at=_datetime(message.reset_at),
    )


def _prices(prices: Any) -> dict[str, Decimal]:
    return {price.operation: Decimal(price.unit_price) for price in prices}


def track_usage(
    *,
    event_id: str,
    user_id: str,
    operation: str,
    quantity: int = 1,
    occurred_at: datetime,
    metadata: Mapping[str, str] | None = None,
    timeout: float = TRACK_DEADLINE,
) -> TrackResult:
    """Record one usage event. Safe to repeat with the same event_id: counted once."""
    request = pb.TrackUsageRequest(
        event_id=event_id,
        user_id=user_id,
        operation=operation,
        quantity=quantity,
        occurred_at=_timestamp(occurred_at),
        metadata=dict(metadata or {}),
    )
    response: pb.TrackUsageResponse = _call("TrackUsage", request, timeout)
    return TrackResult(
        accepted=response.accepted,
        duplicate=response.duplicate,
        cost=Decimal(response.cost),
        quota=_quota(response.quota),
    )


def track_usage_batch(
    events: list[UsageEvent], *, status: str = "completed", timeout: float = BATCH_DEADLINE
) -> list[BatchResult]:
    """Record events and give each the final `status` in one call (at most `MAX_BATCH`). Safe
    to repeat: each event id is counted once. A refused event comes back with its error, the
    others are recorded."""
    request = pb.TrackUsageBatchRequest(
        events=[
            pb.TrackUsageRequest(
                event_id=event.event_id,
                user_id=event.user_id,
                operation=event.operation,
                quantity=event.quantity,
                occurred_at=_timestamp(event.occurred_at),
                metadata=dict(event.metadata or {}),
            )
            for event in events
        ],
        status=status,
    )
    response: pb.TrackUsageBatchResponse = _call("TrackUsageBatch", request, timeout)
    return [
        BatchResult(
            event_id=result.event_id,
            duplicate=result.duplicate,
            cost=Decimal(result.cost) if result.cost else None,
            error=result.error,
            error_field=result.error_field,
        )
        for result in response.results
    ]


def complete_usage(
    *, event_id: str, status: str = "completed", timeout: float = COMPLETE_DEADLINE
) -> None:
    """Mark a tracked event completed or failed (failed events are not billed)."""
    _call("CompleteUsage", pb.CompleteUsageRequest(event_id=event_id, status=status), timeout)


def get_usage(
    *, user_id: str, period: str, at: datetime | None = None, timeout: float = USAGE_DEADLINE
) -> Usage:
    """Operations and cost in the calendar day, ISO week or month (UTC) containing `at`."""
    request = pb.GetUsageRequest(user_id=user_id, period=period)
    if at is not None:
        request.at.CopyFrom(_timestamp(at))
    response: pb.GetUsageResponse = _call("GetUsage", request, timeout)
    return Usage(
        period=response.period,
        start=_datetime(response.start),
        end=_datetime(response.end),
        total_operations=response.total_operations,
        total_cost=Decimal(response.total_cost),
        breakdown=tuple(
            OperationUsage(type=line.type, count=line.count, cost=Decimal(line.cost))
            for line in response.breakdown
        ),
        daily=tuple(
            DailyUsage(date=date.fromisoformat(day.date), count=day.count, cost=Decimal(day.cost))
            for day in response.daily
        ),
    )


def check_quota(
    *, user_id: str, at: datetime | None = None, timeout: float = QUOTA_DEADLINE
) -> QuotaStatus:
    request = pb.CheckQuotaRequest(user_id=user_id)
    if at is not None:
        request.at.CopyFrom(_timestamp(at))
    response: pb.CheckQuotaResponse = _call("CheckQuota", request, timeout)
    return _quota(response.quota)


def set_quota(*, user_id: str, limit: int, timeout: float = ADMIN_DEADLINE) -> QuotaStatus:
    """Set the user's monthly operation limit; returns the quota as it stands now."""
    request = pb.SetQuotaRequest(user_id=user_id, limit=limit)
    response: pb.SetQuotaResponse = _call("SetQuota", request, timeout)
    return _quota(response.quota)


def get_prices(*, timeout: float = ADMIN_DEADLINE) -> dict[str, Decimal]:
    """USD per unit of each known operation."""
    response: pb.GetPricesResponse = _call("GetPrices", pb.GetPricesRequest(), timeout)
    return _prices(response.prices)


def set_price(
    *, operation: str, unit_price: Decimal, timeout: float = ADMIN_DEADLINE
) -> dict[str, Decimal]:
    """Set one operation's unit price (events already tracked keep theirs); returns all."""
    request = pb.SetPriceRequest(operation=operation, unit_price=format(unit_price, "f"))
    response: pb.SetPriceResponse = _call("SetPrice", request, timeout)
    return _prices(response.prices)


async def health() -> str:
    """grpc.health.v1 status of the service: "SERVING", or MeteringUnavailable. For /healthz.

    A channel per check: grpc.aio channels belong to one event loop, and a check is rare."""
    try:
        status = await health_status(_target(), SERVICE_NAME, HEALTH_DEADLINE)
    except grpc.aio.AioRpcError as exc:
        raise MeteringUnavailable(
            f"Metering service unavailable ({exc.code().name}): {exc.details()}"
        ) from exc
    if status != "SERVING":
        raise MeteringUnavailable(f"Metering service is {status}")
    return status
