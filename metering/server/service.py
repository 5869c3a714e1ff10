"""The `metering.v1.Metering` gRPC service over the store, plus grpc.health.v1.

This layer only translates: protobuf in, store call, protobuf out, and store errors to status
codes. The rules (prices, idempotency, periods) live in the store; the quota's thresholds and
rounding in metering/quota_rules.py, shared with the app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import grpc
from google.protobuf import text_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from metering.proto import metering_pb2 as pb
from metering.proto import metering_pb2_grpc
from metering.server.store import (
    EventNotFound,
    InvalidArgument,
    Quota,
    StatusConflict,
    Store,
    StoreError,
    UsageEvent,
)

logger = logging.getLogger("metering.server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Metering"].full_name
FIELD_METADATA_KEY = "metering-field"
_CODES: dict[type[StoreError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    EventNotFound: grpc.StatusCode.NOT_FOUND,
    StatusConflict: grpc.StatusCode.FAILED_PRECONDITION,
}

type Handler[Req: Message, Resp: Message] = Callable[[Any, Req, grpc.ServicerContext], Resp]


def _rpc[Req: Message, Resp: Message](handler: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Log the call at DEBUG and turn store errors into status codes (the field that was
    wrong travels in trailing metadata, so the client can say which one)."""

    @wraps(handler)
    def wrapper(self: Any, request: Req, context: grpc.ServicerContext) -> Resp:
        started = time.perf_counter()
        outcome = "OK"
        try:
            return handler(self, request, context)
        except StoreError as exc:
            code = _CODES.get(type(exc), grpc.StatusCode.INTERNAL)
            outcome = code.name
            if exc.field:
                context.set_trailing_metadata(((FIELD_METADATA_KEY, exc.field),))
            context.abort(code, exc.message)
            raise AssertionError("unreachable: context.abort() raises") from exc
        finally:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s(%s) -> %s in %.1f ms",
                    handler.__name__,
                    text_format.MessageToString(request, as_one_line=True),
                    outcome,
                    (time.perf_counter() - started) * 1000,
                )

    return wrapper


def _timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _datetime(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def _quota(quota: Quota) -> pb.QuotaStatus:
    return pb.QuotaStatus(
        limit=quota.limit,
        used=quota.used,
        remaining=quota.remaining,
        utilization_pct=str(quota.utilization_pct),
        state=quota.state.value,
        reset_at=_timestamp(quota.reset_at),
    )


def _prices(prices: dict[str, Any]) -> list[pb.Price]:
    return [pb.Price(operation=op, unit_price=str(price)) for op, price in prices.items()]


def _usage_event(request: pb.TrackUsageRequest) -> UsageEvent:
    return UsageEvent(
        event_id=request.event_id,
        user_id=request.user_id,
        operation=request.operation,
        quantity=request.quantity if request.HasField("quantity") else 1,
        occurred_at=_datetime(request, "occurred_at"),
        metadata=dict(request.metadata),
    )


class MeteringService(metering_pb2_grpc.MeteringServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    @_rpc
    def TrackUsage(
        self, request: pb.TrackUsageRequest, context: grpc.ServicerContext
    ) -> pb.TrackUsageResponse:
        event = _usage_event(request)
        tracked = self.store.track(
            event_id=event.event_id,
            user_id=event.user_id,
            operation=event.operation,
            quantity=event.quantity,
            occurred_at=event.occurred_at,
            metadata=event.metadata,
        )
        return pb.TrackUsageResponse(
            accepted=True,
            duplicate=tracked.duplicate,
            cost=str(tracked.cost),
            quota=_quota(tracked.quota),
        )

    @_rpc
    def TrackUsageBatch(
        self, request: pb.TrackUsageBatchRequest, context: grpc.ServicerContext
    ) -> pb.TrackUsageBatchResponse:
        events = [_usage_event(event) for event in request.events]
        return pb.TrackUsageBatchResponse(
            results=[
                pb.TrackedEvent(
                    event_id=recorded.event_id,
                    duplicate=recorded.duplicate,
                    cost="" if recorded.cost is None else str(recorded.cost),
                    error=recorded.error.message if recorded.error else "",
                    error_field=recorded.error.field if recorded.error else "",
                )
                for recorded in self.store.track_many(events, status=request.status)
            ]
        )

    @_rpc
    def CompleteUsage(
        self, request: pb.CompleteUsageRequest, context: grpc.ServicerContext
    ) -> pb.CompleteUsageResponse:
        status = self.store.complete(event_id=request.event_id, status=request.status)
        return pb.CompleteUsageResponse(event_id=request.event_id, status=status.value)

    @_rpc
    def GetUsage(
        self, request: pb.GetUsageRequest, context: grpc.ServicerContext
    ) -> pb.GetUsageResponse:
        report = self.store.usage(
            user_id=request.user_id, period=request.period, at=_datetime(request, "at")
        )
        return pb.GetUsageResponse(
            period=report.period.value,
            start=_timestamp(report.start),
            end=_timestamp(report.end),
            total_operations=report.total_operations,
            total_cost=str(report.total_cost),
            breakdown=[
                pb.OperationUsage(type=line.operation, count=line.count, cost=str(line.cost))
                for line in report.breakdown
            ],
            daily=[
                pb.DailyUsage(date=day.day.isoformat(), count=day.count, cost=str(day.cost))
                for day in report.daily
            ],
        )

    @_rpc
    def CheckQuota(
        self, request: pb.CheckQuotaRequest, context: grpc.ServicerContext
    ) -> pb.CheckQuotaResponse:
        quota = self.store.quota(user_id=request.user_id, at=_datetime(request, "at"))
        return pb.CheckQuotaResponse(quota=_quota(quota))

    @_rpc
    def SetQuota(
        self, request: pb.SetQuotaRequest, context: grpc.ServicerContext
    ) -> pb.SetQuotaResponse:
        quota = self.store.set_quota(user_id=request.user_id, limit=request.limit)
        return pb.SetQuotaResponse(quota=_quota(quota))

    @_rpc
    def GetPrices(
        self, request: pb.GetPricesRequest, context: grpc.ServicerContext
    ) -> pb.GetPricesResponse:
        return pb.GetPricesResponse(prices=_prices(self.store.prices()))

    @_rpc
    def SetPrice(
        self, request: pb.SetPriceRequest, context: grpc.ServicerContext
    ) -> pb.SetPriceResponse:
        prices = self.store.set_price(operation=request.operation, unit_price=request.unit_price)
        return pb.SetPriceResponse(prices=_prices(prices))


@dataclass
class RunningServer:
    server: grpc.Server
    health: health.HealthServicer
    host: str
    port: int

    def stop(self, grace: float = 5.0) -> None:
        # Health turns NOT_SERVING first, so checkers see the shutdown before calls fail.
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def serve(store: Store, *, host: str, port: int, workers: int = 8) -> RunningServer:
    """Start the service on host:port (0: any free port) and return once it accepts calls."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metering-rpc"),
        # gRPC sets SO_REUSEPORT by default on Linux: a second server on a taken port would
        # start and silently share the traffic. Fail to bind instead.
        options=[("grpc.so_reuseport", 0)],
    )
    metering_pb2_grpc.add_MeteringServicer_to_server(MeteringService(store), server)
    checker = health.HealthServicer()
    for name in ("", SERVICE_NAME):
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return RunningServer(server=server, health=checker, host=host, port=bound)
