import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvaluateRiskRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "symbol", "side", "order_type", "quantity", "price", "reference_price", "equity", "cash", "position_quantity", "symbol_volatility", "visible_depth", "typical_volume", "recent_order_count")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_PRICE_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    CASH_FIELD_NUMBER: _ClassVar[int]
    POSITION_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_VOLATILITY_FIELD_NUMBER: _ClassVar[int]
    VISIBLE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    TYPICAL_VOLUME_FIELD_NUMBER: _ClassVar[int]
    RECENT_ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    symbol: str
    side: str
    order_type: str
    quantity: int
    price: str
    reference_price: str
    equity: str
    cash: str
    position_quantity: int
    symbol_volatility: str
    visible_depth: int
    typical_volume: int
    recent_order_count: int
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[str] = ..., order_type: _Optional[str] = ..., quantity: _Optional[int] = ..., price: _Optional[str] = ..., reference_price: _Optional[str] = ..., equity: _Optional[str] = ..., cash: _Optional[str] = ..., position_quantity: _Optional[int] = ..., symbol_volatility: _Optional[str] = ..., visible_depth: _Optional[int] = ..., typical_volume: _Optional[int] = ..., recent_order_count: _Optional[int] = ...) -> None: ...

class RiskEvaluation(_message.Message):
    __slots__ = ("evaluation_id", "level", "score", "reasons", "trading_state", "request_id", "evaluated_at")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_AT_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    level: str
    score: int
    reasons: _containers.RepeatedScalarFieldContainer[str]
    trading_state: str
    request_id: str
    evaluated_at: _timestamp_pb2.Timestamp
    def __init__(self, evaluation_id: _Optional[str] = ..., level: _Optional[str] = ..., score: _Optional[int] = ..., reasons: _Optional[_Iterable[str]] = ..., trading_state: _Optional[str] = ..., request_id: _Optional[str] = ..., evaluated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetEvaluationRequest(_message.Message):
    __slots__ = ("evaluation_id",)
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    def __init__(self, evaluation_id: _Optional[str] = ...) -> None: ...

class EvaluationRecord(_message.Message):
    __slots__ = ("evaluation", "inputs")
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    evaluation: RiskEvaluation
    inputs: EvaluateRiskRequest
    def __init__(self, evaluation: _Optional[_Union[RiskEvaluation, _Mapping]] = ..., inputs: _Optional[_Union[EvaluateRiskRequest, _Mapping]] = ...) -> None: ...

class SubmitApprovalRequest(_message.Message):
    __slots__ = ("approval_id", "order_id", "user_id", "symbol", "side", "quantity", "price", "notional", "score", "level", "reasons", "expires_at")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    order_id: str
    user_id: str
    symbol: str
    side: str
    quantity: int
    price: str
    notional: str
    score: int
    level: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, approval_id: _Optional[str] = ..., order_id: _Optional[str] = ..., user_id: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[str] = ..., quantity: _Optional[int] = ..., price: _Optional[str] = ..., notional: _Optional[str] = ..., score: _Optional[int] = ..., level: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApprovalStatus(_message.Message):
    __slots__ = ("approval_id", "order_id", "state", "decided_by", "decided_at", "reason", "expires_at", "score", "level", "user_id", "symbol", "side", "quantity", "price", "notional", "reasons", "created_at")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    order_id: str
    state: str
    decided_by: str
    decided_at: _timestamp_pb2.Timestamp
    reason: str
    expires_at: _timestamp_pb2.Timestamp
    score: int
    level: str
    user_id: str
    symbol: str
    side: str
    quantity: int
    price: str
    notional: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, approval_id: _Optional[str] = ..., order_id: _Optional[str] = ..., state: _Optional[str] = ..., decided_by: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., score: _Optional[int] = ..., level: _Optional[str] = ..., user_id: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[str] = ..., quantity: _Optional[int] = ..., price: _Optional[str] = ..., notional: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetApprovalStatusRequest(_message.Message):
    __slots__ = ("approval_id",)
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    def __init__(self, approval_id: _Optional[str] = ...) -> None: ...

class ApproveRequestRequest(_message.Message):
    __slots__ = ("approval_id", "manager_id", "reason")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    MANAGER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    manager_id: str
    reason: str
    def __init__(self, approval_id: _Optional[str] = ..., manager_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectRequestRequest(_message.Message):
    __slots__ = ("approval_id", "manager_id", "reason")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    MANAGER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    manager_id: str
    reason: str
    def __init__(self, approval_id: _Optional[str] = ..., manager_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ExpireApprovalsRequest(_message.Message):
    __slots__ = ("at",)
    AT_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExpireApprovalsResponse(_message.Message):
    __slots__ = ("approval_ids",)
    APPROVAL_IDS_FIELD_NUMBER: _ClassVar[int]
    approval_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, approval_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListApprovalStatusesRequest(_message.Message):
    __slots__ = ("approval_ids",)
    APPROVAL_IDS_FIELD_NUMBER: _ClassVar[int]
    approval_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, approval_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListApprovalStatusesResponse(_message.Message):
    __slots__ = ("approvals",)
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[ApprovalStatus]
    def __init__(self, approvals: _Optional[_Iterable[_Union[ApprovalStatus, _Mapping]]] = ...) -> None: ...

class RiskBand(_message.Message):
    __slots__ = ("above", "points")
    ABOVE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    above: str
    points: int
    def __init__(self, above: _Optional[str] = ..., points: _Optional[int] = ...) -> None: ...

class RiskConfig(_message.Message):
    __slots__ = ("notional_bands", "position_bands", "volatility_bands", "depth_max_points", "recent_orders_above", "recent_orders_points", "fat_finger_multiple", "fat_finger_points", "price_deviation_above", "price_deviation_points", "approval_notional_above", "medium_at", "high_at", "critical_at")
    NOTIONAL_BANDS_FIELD_NUMBER: _ClassVar[int]
    POSITION_BANDS_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_BANDS_FIELD_NUMBER: _ClassVar[int]
    DEPTH_MAX_POINTS_FIELD_NUMBER: _ClassVar[int]
    RECENT_ORDERS_ABOVE_FIELD_NUMBER: _ClassVar[int]
    RECENT_ORDERS_POINTS_FIELD_NUMBER: _ClassVar[int]
    FAT_FINGER_MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    FAT_FINGER_POINTS_FIELD_NUMBER: _ClassVar[int]
    PRICE_DEVIATION_ABOVE_FIELD_NUMBER: _ClassVar[int]
    PRICE_DEVIATION_POINTS_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_NOTIONAL_ABOVE_FIELD_NUMBER: _ClassVar[int]
    MEDIUM_AT_FIELD_NUMBER: _ClassVar[int]
    HIGH_AT_FIELD_NUMBER: _ClassVar[int]
    CRITICAL_AT_FIELD_NUMBER: _ClassVar[int]
    notional_bands: _containers.RepeatedCompositeFieldContainer[RiskBand]
    position_bands: _containers.RepeatedCompositeFieldContainer[RiskBand]
    volatility_bands: _containers.RepeatedCompositeFieldContainer[RiskBand]
    depth_max_points: int
    recent_orders_above: int
    recent_orders_points: int
    fat_finger_multiple: str
    fat_finger_points: int
    price_deviation_above: str
    price_deviation_points: int
    approval_notional_above: str
    medium_at: int
    high_at: int
    critical_at: int
    def __init__(self, notional_bands: _Optional[_Iterable[_Union[RiskBand, _Mapping]]] = ..., position_bands: _Optional[_Iterable[_Union[RiskBand, _Mapping]]] = ..., volatility_bands: _Optional[_Iterable[_Union[RiskBand, _Mapping]]] = ..., depth_max_points: _Optional[int] = ..., recent_orders_above: _Optional[int] = ..., recent_orders_points: _Optional[int] = ..., fat_finger_multiple: _Optional[str] = ..., fat_finger_points: _Optional[int] = ..., price_deviation_above: _Optional[str] = ..., price_deviation_points: _Optional[int] = ..., approval_notional_above: _Optional[str] = ..., medium_at: _Optional[int] = ..., high_at: _Optional[int] = ..., critical_at: _Optional[int] = ...) -> None: ...

class RiskSettings(_message.Message):
    __slots__ = ("config", "config_updated_by", "config_updated_at", "trading_state", "trading_state_changed_by", "trading_state_changed_at")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CONFIG_UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    CONFIG_UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    config: RiskConfig
    config_updated_by: str
    config_updated_at: _timestamp_pb2.Timestamp
    trading_state: str
    trading_state_changed_by: str
    trading_state_changed_at: _timestamp_pb2.Timestamp
    def __init__(self, config: _Optional[_Union[RiskConfig, _Mapping]] = ..., config_updated_by: _Optional[str] = ..., config_updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trading_state: _Optional[str] = ..., trading_state_changed_by: _Optional[str] = ..., trading_state_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRiskConfigRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetRiskConfigRequest(_message.Message):
    __slots__ = ("config", "actor")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    config: RiskConfig
    actor: str
    def __init__(self, config: _Optional[_Union[RiskConfig, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class SetTradingStateRequest(_message.Message):
    __slots__ = ("state", "actor")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    state: str
    actor: str
    def __init__(self, state: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...
