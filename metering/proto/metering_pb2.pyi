import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QuotaStatus(_message.Message):
    __slots__ = ("limit", "used", "remaining", "utilization_pct", "state", "reset_at")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_PCT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESET_AT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    used: int
    remaining: int
    utilization_pct: str
    state: str
    reset_at: _timestamp_pb2.Timestamp
    def __init__(self, limit: _Optional[int] = ..., used: _Optional[int] = ..., remaining: _Optional[int] = ..., utilization_pct: _Optional[str] = ..., state: _Optional[str] = ..., reset_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TrackUsageRequest(_message.Message):
    __slots__ = ("event_id", "user_id", "operation", "quantity", "occurred_at", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    user_id: str
    operation: str
    quantity: int
    occurred_at: _timestamp_pb2.Timestamp
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, event_id: _Optional[str] = ..., user_id: _Optional[str] = ..., operation: _Optional[str] = ..., quantity: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TrackUsageResponse(_message.Message):
    __slots__ = ("accepted", "duplicate", "cost", "quota")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    duplicate: bool
    cost: str
    quota: QuotaStatus
    def __init__(self, accepted: _Optional[bool] = ..., duplicate: _Optional[bool] = ..., cost: _Optional[str] = ..., quota: _Optional[_Union[QuotaStatus, _Mapping]] = ...) -> None: ...

class CompleteUsageRequest(_message.Message):
    __slots__ = ("event_id", "status")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    status: str
    def __init__(self, event_id: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class CompleteUsageResponse(_message.Message):
    __slots__ = ("event_id", "status")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    status: str
    def __init__(self, event_id: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class TrackUsageBatchRequest(_message.Message):
    __slots__ = ("events", "status")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[TrackUsageRequest]
    status: str
    def __init__(self, events: _Optional[_Iterable[_Union[TrackUsageRequest, _Mapping]]] = ..., status: _Optional[str] = ...) -> None: ...

class TrackedEvent(_message.Message):
    __slots__ = ("event_id", "duplicate", "cost", "error", "error_field")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    duplicate: bool
    cost: str
    error: str
    error_field: str
    def __init__(self, event_id: _Optional[str] = ..., duplicate: _Optional[bool] = ..., cost: _Optional[str] = ..., error: _Optional[str] = ..., error_field: _Optional[str] = ...) -> None: ...

class TrackUsageBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TrackedEvent]
    def __init__(self, results: _Optional[_Iterable[_Union[TrackedEvent, _Mapping]]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("user_id", "period", "at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    period: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., period: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OperationUsage(_message.Message):
    __slots__ = ("type", "count", "cost")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    type: str
    count: int
    cost: str
    def __init__(self, type: _Optional[str] = ..., count: _Optional[int] = ..., cost: _Optional[str] = ...) -> None: ...

class DailyUsage(_message.Message):
    __slots__ = ("date", "count", "cost")
    DATE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    date: str
    count: int
    cost: str
    def __init__(self, date: _Optional[str] = ..., count: _Optional[int] = ..., cost: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("period", "start", "end", "total_operations", "total_cost", "breakdown", "daily")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TOTAL_OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    DAILY_FIELD_NUMBER: _ClassVar[int]
    period: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    total_operations: int
    total_cost: str
    breakdown: _containers.RepeatedCompositeFieldContainer[OperationUsage]
    daily: _containers.RepeatedCompositeFieldContainer[DailyUsage]
    def __init__(self, period: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total_operations: _Optional[int] = ..., total_cost: _Optional[str] = ..., breakdown: _Optional[_Iterable[_Union[OperationUsage, _Mapping]]] = ..., daily: _Optional[_Iterable[_Union[DailyUsage, _Mapping]]] = ...) -> None: ...

class CheckQuotaRequest(_message.Message):
    __slots__ = ("user_id", "at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckQuotaResponse(_message.Message):
    __slots__ = ("quota",)
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    quota: QuotaStatus
    def __init__(self, quota: _Optional[_Union[QuotaStatus, _Mapping]] = ...) -> None: ...

class SetQuotaRequest(_message.Message):
    __slots__ = ("user_id", "limit")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    limit: int
    def __init__(self, user_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class SetQuotaResponse(_message.Message):
    __slots__ = ("quota",)
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    quota: QuotaStatus
    def __init__(self, quota: _Optional[_Union[QuotaStatus, _Mapping]] = ...) -> None: ...

class Price(_message.Message):
    __slots__ = ("operation", "unit_price")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    operation: str
    unit_price: str
    def __init__(self, operation: _Optional[str] = ..., unit_price: _Optional[str] = ...) -> None: ...

class GetPricesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPricesResponse(_message.Message):
    __slots__ = ("prices",)
    PRICES_FIELD_NUMBER: _ClassVar[int]
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    def __init__(self, prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ...) -> None: ...

class SetPriceRequest(_message.Message):
    __slots__ = ("operation", "unit_price")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    operation: str
    unit_price: str
    def __init__(self, operation: _Optional[str] = ..., unit_price: _Optional[str] = ...) -> None: ...

class SetPriceResponse(_message.Message):
    __slots__ = ("prices",)
    PRICES_FIELD_NUMBER: _ClassVar[int]
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    def __init__(self, prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ...) -> None: ...
