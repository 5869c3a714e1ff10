"""The Django side's only door to the oversight gRPC service.

Typed functions in, frozen dataclasses (Decimal, datetime) out; nothing else imports the
generated stubs. Each call has its own deadline, passed on the call (grpcio 1.85 fails every call
when a service-config timeout is under 2 s), and it covers the retries too. Only UNAVAILABLE is
retried, with exponential backoff; every RPC is idempotent on its ids, so a retry after a lost
response does no work twice (ExpireApprovals excepted: a retry returns only what the lost
response had not already expired).

Errors are the project's domain errors: OversightUnavailable (503) when the service cannot be
reached in time, ValidationFailed, Forbidden, NotFound, Conflict, and AlreadyDecided /
ApprovalExpired for the approval workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import grpc
from django.conf import settings
from google.protobuf import timestamp_pb2

from oversight.proto import oversight_pb2 as pb
from oversight.proto import oversight_pb2_grpc as pb_grpc
from trading_demo.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from trading_demo.grpc_channels import (
    ChannelCache,
    RetryPolicy,
    call_within_deadline,
    health_status,
)

SERVICE_NAME = "oversight.v1.Oversight"
EVALUATE_TIMEOUT = 1.5
CALL_TIMEOUT = 2.0
HEALTH_TIMEOUT = 1.0
# 0.1 s, then 0.2 s between attempts; the sleeps come out of the call's deadline too.
RETRY = RetryPolicy(attempts=3, backoff_initial=0.1, multiplier=2, backoff_max=0.2)

# After the service restarts, the cached channel reconnects within a second (grpc's default
# backoff grows to 120 s). Not grpc.min_reconnect_backoff_ms: that is also the connect timeout,
# and a slow handshake should be cut by the call's deadline instead.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
    ("grpc.keepalive_time_ms", 30_000),
]

Id = str | int | UUID


class OversightUnavailable(ServiceUnavailable):
    """The oversight service did not answer in time: orders fail closed."""


class AlreadyDecided(Conflict):
    code = "already_decided"


class ApprovalExpired(Conflict):
    """The approval request passed its expiry before anyone decided."""


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class ApprovalState(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@dataclass(frozen=True)
class RiskAssessment:
    evaluation_id: str
    level: RiskLevel
    score: int
    reasons: tuple[str, ...]
    trading_state: TradingState


@dataclass(frozen=True)
class StoredEvaluation:
    """An evaluation as the service stored it, with the inputs it was scored on."""

    assessment: RiskAssessment
    request_id: str
    evaluated_at: datetime | None
    inputs: dict[str, Any]  # field name -> value as sent (decimals as strings)


@dataclass(frozen=True)
class ApprovalStatus:
    approval_id: str
    order_id: str
    user_id: str
    symbol: str
    side: str
    quantity: int
    price: Decimal
    notional: Decimal
    state: ApprovalState
    score: int
    level: RiskLevel
    reasons: tuple[str, ...]
    expires_at: datetime | None
    created_at: datetime | None
    decided_by: str
    decided_at: datetime | None
    reason: str

    @property
    def is_pending(self) -> bool:
        return self.state is ApprovalState.PENDING


@dataclass(frozen=True)
class RiskBand:
    above: Decimal  # a ratio: 0.30 is 30 %
    points: int


@dataclass(frozen=True)
class RiskConfig:
    notional_bands: tuple[RiskBand, ...]
    position_bands: tuple[RiskBand, ...]
    volatility_bands: tuple[RiskBand, ...]
    depth_max_points: int
    recent_orders_above: int
    recent_orders_points: int
    fat_finger_multiple: Decimal
    fat_finger_points: int
    price_deviation_above: Decimal
    price_deviation_points: int
    approval_notional_above: Decimal
    medium_at: int
    high_at: int
    critical_at: int


@dataclass(frozen=True)
class RiskSettings:
    config: RiskConfig
    config_updated_by: str
    config_updated_at: datetime | None
    trading_state: TradingState
    trading_state_changed_by: str
    trading_state_changed_at: datetime | None


# Channels


_channels = ChannelCache(CHANNEL_OPTIONS)


def _stub() -> pb_grpc.OversightStub:
    """A stub on this target's one channel, made on first use (thread-safe)."""
    return _channels.stub(settings.OVERSIGHT_GRPC_URL, pb_grpc.OversightStub)


def reset_channels() -> None:
    """Close every cached channel (tests, or after the service moved)."""
    _channels.close()


def _call[R](
    method: Callable[[pb_grpc.OversightStub], Callable[..., R]],
    request: Any,
    *,
    timeout: float,
) -> R:
    try:
        return call_within_deadline(
            lambda remaining, wait: method(_stub())(
                request, timeout=remaining, wait_for_ready=wait
            ),
            timeout=timeout,
            policy=RETRY,
            method="oversight",
        )
    except grpc.RpcError as exc:
        raise _domain_error(exc) from exc


def _domain_error(exc: grpc.RpcError) -> Exception:
    code = exc.code()
    message = exc.details() or code.name
    details = {"service": "oversight", "status": code.name}
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return OversightUnavailable(
            f"The oversight service is unavailable ({code.name.lower()}).", details=details
        )
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return ValidationFailed(message, details=details)
    if code is grpc.StatusCode.PERMISSION_DENIED:
        return Forbidden(message, details=details)
    if code is grpc.StatusCode.NOT_FOUND:
        return NotFound(message, details=details)
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        if "already decided" in message:
            return AlreadyDecided(message, details=details)
        if "expired" in message:
            return ApprovalExpired(message, details=details)
        return Conflict(message, details=details)
    # A bug on either side (UNIMPLEMENTED, INTERNAL, ...): as unusable as a dead service, and
    # failing closed is the only safe answer for an order.
    return OversightUnavailable(f"The oversight service failed: {message}", details=details)


# Risk


def evaluate_risk(
    *,
    request_id: Id,
    user_id: Id,
    symbol: str,
    side: str,
    order_type: str,
    quantity: int,
    price: Decimal,
    reference_price: Decimal,
    equity: Decimal,
    cash: Decimal,
    position_quantity: int,
    symbol_volatility: Decimal,
    visible_depth: int,
    typical_volume: int = 0,
    recent_order_count: int,
    timeout: float = EVALUATE_TIMEOUT,
) -> RiskAssessment:
    """Score an order. The same request_id always gets the first evaluation back. `timeout`
    (what is left of the order's own deadline) can only shorten EVALUATE_TIMEOUT."""
    response = _call(
        lambda stub: stub.EvaluateRisk,
        pb.EvaluateRiskRequest(
            request_id=str(request_id),
            user_id=str(user_id),
            symbol=symbol,
            side=side,
            order_type=order_type,
            quantity=quantity,
            price=str(price),
            reference_price=str(reference_price),
            equity=str(equity),
            cash=str(cash),
            position_quantity=position_quantity,
            symbol_volatility=str(symbol_volatility),
            visible_depth=visible_depth,
            typical_volume=typical_volume,
            recent_order_count=recent_order_count,
        ),
        timeout=min(timeout, EVALUATE_TIMEOUT),
    )
    return _assessment(response)


def get_evaluation(*, evaluation_id: str) -> StoredEvaluation:
    response = _call(
        lambda stub: stub.GetEvaluation,
        pb.GetEvaluationRequest(evaluation_id=evaluation_id),
        timeout=CALL_TIMEOUT,
    )
    inputs = {
        field.name: getattr(response.inputs, field.name)
        for field in response.inputs.DESCRIPTOR.fields
        if field.name != "request_id"
    }
    return StoredEvaluation(
        assessment=_assessment(response.evaluation),
        request_id=response.evaluation.request_id,
        evaluated_at=_datetime(response.evaluation, "evaluated_at"),
        inputs=inputs,
    )


def get_risk_config() -> RiskSettings:
    response = _call(
        lambda stub: stub.GetRiskConfig, pb.GetRiskConfigRequest(), timeout=CALL_TIMEOUT
    )
    return _settings(response)


def set_risk_config(*, config: RiskConfig, actor: Id) -> RiskSettings:
    """Replace the whole configuration (read it with get_risk_config, change, write back)."""
    response = _call(
        lambda stub: stub.SetRiskConfig,
        pb.SetRiskConfigRequest(config=_config_message(config), actor=str(actor)),
        timeout=CALL_TIMEOUT,
    )
    return _settings(response)


def set_trading_state(*, state: str, actor: Id) -> RiskSettings:
    response = _call(
        lambda stub: stub.SetTradingState,
        pb.SetTradingStateRequest(state=str(state), actor=str(actor)),
        timeout=CALL_TIMEOUT,
    )
    return _settings(response)


# Approvals


def submit_approval(
    *,
    approval_id: Id,
    order_id: Id,
    user_id: Id,
    symbol: str,
    side: str,
    quantity: int,
    price: Decimal,
    notional: Decimal,
    score: int,
    level: str,
    reasons: Sequence[str],
    expires_at: datetime,
    timeout: float = CALL_TIMEOUT,
) -> ApprovalStatus:
    """Open a PENDING approval request; the same approval_id returns the stored one.
    `timeout` can only shorten CALL_TIMEOUT."""
    response = _call(
        lambda stub: stub.SubmitApproval,
        pb.SubmitApprovalRequest(
            approval_id=str(approval_id),
            order_id=str(order_id),
            user_id=str(user_id),
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=str(price),
            notional=str(notional),
            score=score,
            level=str(level),
            reasons=list(reasons),
            expires_at=_timestamp(expires_at),
        ),
        timeout=min(timeout, CALL_TIMEOUT),
    )
    return _approval(response)


def approval_status(*, approval_id: Id) -> ApprovalStatus:
    response = _call(
        lambda stub: stub.GetApprovalStatus,
        pb.GetApprovalStatusRequest(approval_id=str(approval_id)),
        timeout=CALL_TIMEOUT,
    )
    return _approval(response)


MAX_STATUS_IDS = 100  # what ListApprovalStatuses takes per call


def approval_statuses(*, approval_ids: Sequence[Id]) -> list[ApprovalStatus]:
    """The service's status of each known request (unknown ones are left out), at most
    MAX_STATUS_IDS per call."""
    if len(approval_ids) > MAX_STATUS_IDS:
        raise ValueError(f"at most {MAX_STATUS_IDS} approval ids per call")
    response = _call(
        lambda stub: stub.ListApprovalStatuses,
        pb.ListApprovalStatusesRequest(approval_ids=[str(i) for i in approval_ids]),
        timeout=CALL_TIMEOUT,
    )
    return [_approval(message) for message in response.approvals]


def approve(*, approval_id: Id, manager_id: Id, reason: str = "") -> ApprovalStatus:
    """First decision wins (AlreadyDecided otherwise); the same manager approving again gets
    the stored status back. Own order: Forbidden; past expiry: ApprovalExpired."""
    response = _call(
        lambda stub: stub.ApproveRequest,
        pb.ApproveRequestRequest(
            approval_id=str(approval_id), manager_id=str(manager_id), reason=reason
        ),
        timeout=CALL_TIMEOUT,
    )
    return _approval(response)


def reject(*, approval_id: Id, manager_id: Id, reason: str) -> ApprovalStatus:
    """As approve; an empty reason is ValidationFailed."""
    response = _call(
        lambda stub: stub.RejectRequest,
        pb.RejectRequestRequest(
            approval_id=str(approval_id), manager_id=str(manager_id), reason=reason
        ),
        timeout=CALL_TIMEOUT,
    )
    return _approval(response)


def expire_approvals(*, at: datetime) -> list[str]:
    """Expire every pending request due at `at`; return their approval ids."""
    response = _call(
        lambda stub: stub.ExpireApprovals,
        pb.ExpireApprovalsRequest(at=_timestamp(at)),
        timeout=CALL_TIMEOUT,
    )
    return list(response.approval_ids)


# Health


async def health() -> str:
    """The service's grpc.health.v1 status for /healthz: "SERVING", or OversightUnavailable.

    A fresh grpc.aio channel per check: an aio channel belongs to the event loop it was made
    on, and health checks are rare.
    """
    try:
        status = await health_status(settings.OVERSIGHT_GRPC_URL, SERVICE_NAME, HEALTH_TIMEOUT)
    except grpc.RpcError as exc:
        raise _domain_error(exc) from exc
    if status != "SERVING":
        raise OversightUnavailable(
            f"The oversight service is {status}.",
            details={"service": "oversight", "status": status},
        )
    return status


# Conversions


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime (django.utils.timezone)")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _datetime(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def _assessment(message: pb.RiskEvaluation) -> RiskAssessment:
    return RiskAssessment(
        evaluation_id=message.evaluation_id,
        level=RiskLevel(message.level),
        score=message.score,
        reasons=tuple(message.reasons),
        trading_state=TradingState(message.trading_state),
    )


def _approval(message: pb.ApprovalStatus) -> ApprovalStatus:
    return ApprovalStatus(
        approval_id=message.approval_id,
        order_id=message.order_id,
        user_id=message.user_id,
        symbol=message.symbol,
        side=message.side,
        quantity=message.quantity,
        price=Decimal(message.price),
        notional=Decimal(message.notional),
        state=ApprovalState(message.state),
        score=message.score,
        level=RiskLevel(message.level),
        reasons=tuple(message.reasons),
        expires_at=_datetime(message, "expires_at"),
        created_at=_datetime(message, "created_at"),
        decided_by=message.decided_by,
        decided_at=_datetime(message, "decided_at"),
        reason=message.reason,
    )


def _bands(bands: Any) -> tuple[RiskBand, ...]:
    return tuple(RiskBand(above=Decimal(band.above), points=band.points) for band in bands)


def _settings(message: pb.RiskSettings) -> RiskSettings:
    config = message.config
    return RiskSettings(
        config=RiskConfig(
            notional_bands=_bands(config.notional_bands),
            position_bands=_bands(config.position_bands),
            volatility_bands=_bands(config.volatility_bands),
            depth_max_points=config.depth_max_points,
            recent_orders_above=config.recent_orders_above,
            recent_orders_points=config.recent_orders_points,
            fat_finger_multiple=Decimal(config.fat_finger_multiple),
            fat_finger_points=config.fat_finger_points,
            price_deviation_above=Decimal(config.price_deviation_above),
            price_deviation_points=config.price_deviation_points,
            approval_notional_above=Decimal(config.approval_notional_above),
            medium_at=config.medium_at,
            high_at=config.high_at,
            critical_at=config.critical_at,
        ),
        config_updated_by=message.config_updated_by,
        config_updated_at=_datetime(message, "config_updated_at"),
        trading_state=TradingState(message.trading_state),
        trading_state_changed_by=message.trading_state_changed_by,
        trading_state_changed_at=_datetime(message, "trading_state_changed_at"),
    )


def _config_message(config: RiskConfig) -> pb.RiskConfig:
    def bands(values: tuple[RiskBand, ...]) -> list[pb.RiskBand]:
        return [pb.RiskBand(above=str(band.above), points=band.points) for band in values]

    return pb.RiskConfig(
        notional_bands=bands(config.notional_bands),
        position_bands=bands(config.position_bands),
        volatility_bands=bands(config.volatility_bands),
        depth_max_points=config.depth_max_points,
        recent_orders_above=config.recent_orders_above,
        recent_orders_points=config.recent_orders_points,
        fat_finger_multiple=str(config.fat_finger_multiple),
        fat_finger_points=config.fat_finger_points,
        price_deviation_above=str(config.price_deviation_above),
        price_deviation_points=config.price_deviation_points,
        approval_notional_above=str(config.approval_notional_above),
        medium_at=config.medium_at,
        high_at=config.high_at,
        critical_at=config.critical_at,
    )
