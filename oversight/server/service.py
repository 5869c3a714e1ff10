"""The gRPC face of the oversight service: parse and check each request, call the risk rules or
the store, turn their answers into messages and their refusals into status codes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NoReturn

import grpc
from google.protobuf import timestamp_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from oversight.proto import oversight_pb2 as pb
from oversight.proto import oversight_pb2_grpc as pb_grpc
from oversight.server import risk
from oversight.server.risk import Level, RiskConfig, Side, TradingState
from oversight.server.store import (
    APPROVED,
    PENDING,
    REJECTED,
    AlreadyDecidedError,
    Approval,
    Evaluation,
    ExpiredError,
    NotFoundError,
    SelfDecisionError,
    Settings,
    Store,
)
from trading_demo.ids import uuid7

logger = logging.getLogger(__name__)

SERVICE_NAME = "oversight.v1.Oversight"
MAX_STATUS_IDS = 100  # ListApprovalStatuses: one page of the app's pending requests


class InvalidArgument(ValueError):
    pass


def _utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _status_codes(context: grpc.ServicerContext) -> Iterator[None]:
    """Turn the rules' refusals into gRPC status codes (context.abort raises)."""
    try:
        yield
    except (InvalidArgument, risk.InvalidRiskInput, risk.InvalidRiskConfig) as exc:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    except NotFoundError as exc:
        _abort(context, grpc.StatusCode.NOT_FOUND, str(exc))
    except SelfDecisionError as exc:
        _abort(context, grpc.StatusCode.PERMISSION_DENIED, str(exc))
    except (AlreadyDecidedError, ExpiredError) as exc:
        _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("context.abort returned")  # it always raises


class OversightService(pb_grpc.OversightServicer):
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.store = store
        self.clock = clock

    # Risk

    def EvaluateRisk(
        self, request: pb.EvaluateRiskRequest, context: grpc.ServicerContext
    ) -> pb.RiskEvaluation:
        with _status_codes(context):
            request_id = _required("request_id", request.request_id)
            stored = self.store.evaluation_for_request(request_id)
            if stored is not None:
                return _evaluation_message(stored)
            inputs = _risk_inputs(request)
            settings = self.store.settings()
            result = risk.evaluate(inputs, settings.config, settings.trading_state)
            evaluation = self.store.save_evaluation(
                Evaluation(
                    evaluation_id=str(uuid7()),
                    request_id=request_id,
                    user_id=request.user_id,
                    symbol=inputs.symbol,
                    inputs=_inputs_record(request),
                    score=result.score,
                    level=result.level.value,
                    reasons=result.reasons,
                    trading_state=settings.trading_state.value,
                    config=settings.config.to_dict(),
                    evaluated_at=self.clock(),
                )
            )
            return _evaluation_message(evaluation)

    def GetEvaluation(
        self, request: pb.GetEvaluationRequest, context: grpc.ServicerContext
    ) -> pb.EvaluationRecord:
        with _status_codes(context):
            evaluation_id = _required("evaluation_id", request.evaluation_id)
            evaluation = self.store.evaluation(evaluation_id)
            if evaluation is None:
                raise NotFoundError(f"No risk evaluation {evaluation_id}")
            return pb.EvaluationRecord(
                evaluation=_evaluation_message(evaluation),
                inputs=pb.EvaluateRiskRequest(
                    request_id=evaluation.request_id, **evaluation.inputs
                ),
            )

    def GetRiskConfig(
        self, request: pb.GetRiskConfigRequest, context: grpc.ServicerContext
    ) -> pb.RiskSettings:
        return _settings_message(self.store.settings())

    def SetRiskConfig(
        self, request: pb.SetRiskConfigRequest, context: grpc.ServicerContext
    ) -> pb.RiskSettings:
        with _status_codes(context):
            actor = _required("actor", request.actor)
            if not request.HasField("config"):
                raise InvalidArgument("config is required")
            config = RiskConfig.from_dict(_config_dict(request.config))
            settings = self.store.set_risk_config(config=config, actor=actor, now=self.clock())
            logger.info("risk config changed by %s", actor)
            return _settings_message(settings)

    def SetTradingState(
        self, request: pb.SetTradingStateRequest, context: grpc.ServicerContext
    ) -> pb.RiskSettings:
        with _status_codes(context):
            actor = _required("actor", request.actor)
            state = _choice("state", request.state, TradingState)
            settings = self.store.set_trading_state(state=state, actor=actor, now=self.clock())
            logger.info("trading state set to %s by %s", state, actor)
            return _settings_message(settings)

    # Approvals

    def SubmitApproval(
        self, request: pb.SubmitApprovalRequest, context: grpc.ServicerContext
    ) -> pb.ApprovalStatus:
        with _status_codes(context):
            if request.quantity <= 0:
                raise InvalidArgument("quantity must be more than 0")
            if not 0 <= request.score <= risk.MAX_SCORE:
                raise InvalidArgument("score must be between 0 and 100")
            if not request.HasField("expires_at"):
                raise InvalidArgument("expires_at is required")
            approval = Approval(
                approval_id=_required("approval_id", request.approval_id),
                order_id=_required("order_id", request.order_id),
                user_id=_required("user_id", request.user_id),
                symbol=_required("symbol", request.symbol),
                side=_choice("side", request.side, Side).value,
                quantity=request.quantity,
                price=_decimal("price", request.price, minimum=Decimal(0)),
                notional=_decimal("notional", request.notional, minimum=Decimal(0)),
                score=request.score,
                level=_choice("level", request.level, Level).value,
                reasons=tuple(request.reasons),
                state=PENDING,
                expires_at=request.expires_at.ToDatetime(tzinfo=UTC),
                created_at=self.clock(),
            )
            return _approval_message(self.store.submit_approval(approval))

    def GetApprovalStatus(
        self, request: pb.GetApprovalStatusRequest, context: grpc.ServicerContext
    ) -> pb.ApprovalStatus:
        with _status_codes(context):
            approval_id = _required("approval_id", request.approval_id)
            approval = self.store.approval(approval_id)
            if approval is None:
                raise NotFoundError(f"No approval request {approval_id}")
            return _approval_message(approval)

    def ApproveRequest(
        self, request: pb.ApproveRequestRequest, context: grpc.ServicerContext
    ) -> pb.ApprovalStatus:
        with _status_codes(context):
            return _approval_message(
                self.store.decide(
                    approval_id=_required("approval_id", request.approval_id),
                    decision=APPROVED,
                    manager_id=_required("manager_id", request.manager_id),
                    reason=request.reason.strip(),
                    now=self.clock(),
                )
            )

    def RejectRequest(
        self, request: pb.RejectRequestRequest, context: grpc.ServicerContext
    ) -> pb.ApprovalStatus:
        with _status_codes(context):
            return _approval_message(
                self.store.decide(
                    approval_id=_required("approval_id", request.approval_id),
                    decision=REJECTED,
                    manager_id=_required("manager_id", request.manager_id),
                    reason=_required("reason", request.reason),
                    now=self.clock(),
                )
            )

    def ExpireApprovals(
        self, request: pb.ExpireApprovalsRequest, context: grpc.ServicerContext
    ) -> pb.ExpireApprovalsResponse:
        at = request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else self.clock()
        ids = self.store.expire_approvals(at=at)
        if ids:
            logger.info("expired %d approval request(s)", len(ids))
        return pb.ExpireApprovalsResponse(approval_ids=ids)

    def ListApprovalStatuses(
        self, request: pb.ListApprovalStatusesRequest, context: grpc.ServicerContext
    ) -> pb.ListApprovalStatusesResponse:
        with _status_codes(context):
            if len(request.approval_ids) > MAX_STATUS_IDS:
                raise InvalidArgument(f"approval_ids: at most {MAX_STATUS_IDS} per call")
            found = (self.store.approval(approval_id) for approval_id in request.approval_ids)
            return pb.ListApprovalStatusesResponse(
                approvals=[_approval_message(approval) for approval in found if approval]
            )


def build_server(
    store: Store, *, host: str, port: int, max_workers: int = 16
) -> tuple[grpc.Server, health.HealthServicer, int]:
    """A server (not yet started) with the oversight and health services, and the port it
    bound (port 0 picks a free one)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
    pb_grpc.add_OversightServicer_to_server(OversightService(store), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    return server, health_servicer, bound


# Request parsing


def _required(name: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(f"{name} is required")
    return value


def _choice[E: StrEnum](name: str, value: str, choices: type[E]) -> E:
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(member.value for member in choices)
        raise InvalidArgument(f"{name} must be one of {allowed}, got {value!r}") from None


def _decimal(name: str, value: str, *, minimum: Decimal | None = None) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise InvalidArgument(f"{name}: {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise InvalidArgument(f"{name}: {value!r} is not a finite number")
    if minimum is not None and number < minimum:
        raise InvalidArgument(f"{name} must be {minimum} or more")
    return number


def _risk_inputs(request: pb.EvaluateRiskRequest) -> risk.RiskInputs:
    _required("user_id", request.user_id)
    return risk.RiskInputs(
        symbol=request.symbol.strip().upper(),
        side=_choice("side", request.side, Side),
        order_type=request.order_type,
        quantity=request.quantity,
        price=_decimal("price", request.price),
        reference_price=_decimal("reference_price", request.reference_price),
        equity=_decimal("equity", request.equity),
        cash=_decimal("cash", request.cash),
        position_quantity=request.position_quantity,
        symbol_volatility=_decimal("symbol_volatility", request.symbol_volatility),
        visible_depth=request.visible_depth,
        typical_volume=request.typical_volume,
        recent_order_count=request.recent_order_count,
    )


def _inputs_record(request: pb.EvaluateRiskRequest) -> dict[str, Any]:
    """The request's fields as received, for the audit trail (and GetEvaluation)."""
    return {
        field.name: getattr(request, field.name)
        for field in request.DESCRIPTOR.fields
        if field.name != "request_id"
    }


def _config_dict(config: pb.RiskConfig) -> dict[str, Any]:
    def bands(values: Any) -> list[dict[str, Any]]:
        return [{"above": band.above, "points": band.points} for band in values]

    return {
        "notional_bands": bands(config.notional_bands),
        "position_bands": bands(config.position_bands),
        "volatility_bands": bands(config.volatility_bands),
        "depth_max_points": config.depth_max_points,
        "recent_orders_above": config.recent_orders_above,
        "recent_orders_points": config.recent_orders_points,
        "fat_finger_multiple": config.fat_finger_multiple,
        "fat_finger_points": config.fat_finger_points,
        "price_deviation_above": config.price_deviation_above,
        "price_deviation_points": config.price_deviation_points,
        "approval_notional_above": config.approval_notional_above,
        "medium_at": config.medium_at,
        "high_at": config.high_at,
        "critical_at": config.critical_at,
    }


# Messages


def _timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _evaluation_message(evaluation: Evaluation) -> pb.RiskEvaluation:
    return pb.RiskEvaluation(
        evaluation_id=evaluation.evaluation_id,
        request_id=evaluation.request_id,
        level=evaluation.level,
        score=evaluation.score,
        reasons=evaluation.reasons,
        trading_state=evaluation.trading_state,
        evaluated_at=_timestamp(evaluation.evaluated_at),
    )


def _approval_message(approval: Approval) -> pb.ApprovalStatus:
    return pb.ApprovalStatus(
        approval_id=approval.approval_id,
        order_id=approval.order_id,
        user_id=approval.user_id,
        symbol=approval.symbol,
        side=approval.side,
        quantity=approval.quantity,
        price=str(approval.price),
        notional=str(approval.notional),
        state=approval.state,
        decided_by=approval.decided_by,
        decided_at=_timestamp(approval.decided_at),
        reason=approval.reason,
        expires_at=_timestamp(approval.expires_at),
        created_at=_timestamp(approval.created_at),
        score=approval.score,
        level=approval.level,
        reasons=approval.reasons,
    )


def _settings_message(settings: Settings) -> pb.RiskSettings:
    config = settings.config

    def bands(values: tuple[risk.Band, ...]) -> list[pb.RiskBand]:
        return [pb.RiskBand(above=str(band.above), points=band.points) for band in values]

    return pb.RiskSettings(
        config=pb.RiskConfig(
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
        ),
        config_updated_by=settings.config_updated_by,
        config_updated_at=_timestamp(settings.config_updated_at),
        trading_state=settings.trading_state.value,
        trading_state_changed_by=settings.trading_state_changed_by,
        trading_state_changed_at=_timestamp(settings.trading_state_changed_at),
    )
