"""The metering service's own SQLite store: usage events, the price table and quota limits.

One file, `metering.sqlite3` in the data directory, opened by the server process only; how it
is opened, written and closed is the servers' shared base (trading_demo/sqlite_store.py).

Money is held as integer micro-dollars (prices have at most six decimal places), so totals are
summed exactly by SQLite and turned into `Decimal` only at the edge.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from metering.quota_rules import QuotaState, QuotaThresholds, utilization_pct
from metering.server.periods import Period, bounds, month_start, next_month_start
from trading_demo.sqlite_store import BUSY_TIMEOUT_SECONDS, SqliteStore

DEFAULT_PRICES = {
    "trade.execute": Decimal("0.01"),
    "trade.cancel": Decimal("0.001"),
    "portfolio.get": Decimal("0.001"),
    "api.call": Decimal("0.001"),
}
DEFAULT_QUOTA = 10_000
MICROS_PER_USD = 1_000_000
MICROS_PER_DAY = 86_400 * 1_000_000
MAX_UNIT_PRICE = Decimal(1_000)
MAX_QUANTITY = 1_000_000
MAX_ID_LENGTH = 128
MAX_METADATA_BYTES = 4_096
MAX_BATCH = 500
OPERATION_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_micros INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'completed', 'failed')),
    completed_at INTEGER,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_user_time ON events (user_id, occurred_at);
CREATE TABLE IF NOT EXISTS prices (
    operation TEXT PRIMARY KEY,
    unit_price_micros INTEGER NOT NULL CHECK (unit_price_micros >= 0),
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quotas (
    user_id TEXT PRIMARY KEY,
    monthly_limit INTEGER NOT NULL CHECK (monthly_limit >= 0),
    updated_at INTEGER NOT NULL
);
"""


class StoreError(Exception):
    """A request the store refuses; `field` names the offending input when there is one."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidArgument(StoreError):
    pass


class EventNotFound(StoreError):
    pass


class StatusConflict(StoreError):
    pass


class EventStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int
    remaining: int
    utilization_pct: Decimal
    state: QuotaState
    reset_at: datetime


@dataclass(frozen=True)
class Tracked:
    duplicate: bool
    cost: Decimal
    quota: Quota


@dataclass(frozen=True)
class UsageEvent:
    event_id: str
    user_id: str
    operation: str
    quantity: int = 1
    # Absent: when the service received it.
    occurred_at: datetime | None = None
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class Recorded:
    """One event of a batch: recorded (a duplicate is answered with the first delivery's
    cost), or refused with `error`."""

    event_id: str
    duplicate: bool = False
    cost: Decimal | None = None
    error: StoreError | None = None
    owner: str = ""
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class OperationTotal:
    operation: str
    count: int
    cost: Decimal


@dataclass(frozen=True)
class DayTotal:
    day: date
    count: int
    cost: Decimal


@dataclass(frozen=True)
class UsageReport:
    period: Period
    start: datetime
    end: datetime
    total_operations: int
    total_cost: Decimal
    breakdown: tuple[OperationTotal, ...]
    daily: tuple[DayTotal, ...]


def usd(micros: int) -> Decimal:
    """Micro-dollars as USD with at least three decimal places ("0.010"), more when needed."""
    whole, _, fraction = f"{Decimal(micros).scaleb(-6):.6f}".partition(".")
    fraction = fraction.rstrip("0").ljust(3, "0")
    return Decimal(f"{whole}.{fraction}")


def to_micros(at: datetime) -> int:
    if at.tzinfo is None:
        raise InvalidArgument("times must be timezone-aware")
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def parse_unit_price(text: str) -> int:
    """A decimal USD string as micro-dollars; INVALID_ARGUMENT unless 0 <= price <= 1,000 with
    at most six decimal places."""
    try:
        price = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidArgument(f"unit_price {text!r} is not a decimal", field="unit_price") from None
    if not price.is_finite() or price < 0 or price > MAX_UNIT_PRICE:
        raise InvalidArgument(
            f"unit_price must be between 0 and {MAX_UNIT_PRICE}", field="unit_price"
        )
    micros = price.scaleb(6)
    if micros != micros.to_integral_value():
        raise InvalidArgument("unit_price has more than 6 decimal places", field="unit_price")
    return int(micros)


def _require_id(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument(f"{field} is required", field=field)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(f"{field} is longer than {MAX_ID_LENGTH} characters", field=field)
    return value


def quota_status(
    *, limit: int, used: int, at: datetime, thresholds: QuotaThresholds | None = None
) -> Quota:
    rules = thresholds or QuotaThresholds()
    return Quota(
        limit=limit,
        used=used,
        remaining=max(limit - used, 0),
        utilization_pct=utilization_pct(used=used, limit=limit),
        state=rules.state(used=used, limit=limit),
        reset_at=next_month_start(at),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _checked(event: UsageEvent) -> str:
    """The checks `track` makes before it writes; the event's metadata as stored."""
    _require_id(event.event_id, "event_id")
    _require_id(event.user_id, "user_id")
    if not 1 <= event.quantity <= MAX_QUANTITY:
        raise InvalidArgument(f"quantity must be between 1 and {MAX_QUANTITY}", field="quantity")
    meta = json.dumps(event.metadata or {}, sort_keys=True, separators=(",", ":"))
    if len(meta.encode()) > MAX_METADATA_BYTES:
        raise InvalidArgument(
            f"metadata is larger than {MAX_METADATA_BYTES} bytes", field="metadata"
        )
    return meta


def _final_status(status: str) -> EventStatus:
    try:
        final = EventStatus(status or EventStatus.COMPLETED)
    except ValueError:
        final = EventStatus.PENDING
    if final is EventStatus.PENDING:
        raise InvalidArgument("status must be 'completed' or 'failed'", field="status")
    return final


class Store(SqliteStore):
    SCHEMA = SCHEMA

    def __init__(
        self,
        path: Path,
        *,
        default_quota: int = DEFAULT_QUOTA,
        thresholds: QuotaThresholds | None = None,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.default_quota = default_quota
        self.thresholds = thresholds or QuotaThresholds()
        self.clock = clock
        super().__init__(path, busy_timeout=busy_timeout)
        with self._write() as tx:
            now = to_micros(self.clock())
            tx.executemany(
                "INSERT INTO prices (operation, unit_price_micros, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (operation) DO NOTHING",
                [(op, int(price.scaleb(6)), now) for op, price in DEFAULT_PRICES.items()],
            )

    def track(
        self,
        *,
        event_id: str,
        user_id: str,
        operation: str,
        quantity: int = 1,
        occurred_at: datetime | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Tracked:
        event = UsageEvent(event_id, user_id, operation, quantity, occurred_at, metadata)
        meta = _checked(event)
        with self._write() as tx:
            recorded = self._insert(tx, event, meta, now=self.clock(), prices={})
            assert recorded.occurred_at is not None and recorded.cost is not None
            quota = self._quota(tx, recorded.owner, recorded.occurred_at)
        return Tracked(duplicate=recorded.duplicate, cost=recorded.cost, quota=quota)

    def track_many(self, events: list[UsageEvent], *, status: str = "") -> list[Recorded]:
        """Each event as `track` would, then, with a `status`, as `complete` would: all in one
        transaction. A refused event carries its error and changed nothing (every check runs
        before its writes); the others are recorded."""
        if len(events) > MAX_BATCH:
            raise InvalidArgument(f"at most {MAX_BATCH} events per batch", field="events")
        final = _final_status(status) if status else None
        now = self.clock()
        prices: dict[str, int] = {}
        recorded: list[Recorded] = []
        with self._write() as tx:
            for event in events:
                try:
                    done = self._insert(tx, event, _checked(event), now=now, prices=prices)
                    if final is not None:
                        self._finish(tx, event.event_id, final, now=now)
                except StoreError as exc:
                    recorded.append(Recorded(event.event_id, error=exc))
                else:
                    recorded.append(done)
        return recorded

    def _insert(
        self,
        tx: sqlite3.Connection,
        event: UsageEvent,
        meta: str,
        *,
        now: datetime,
        prices: dict[str, int],
    ) -> Recorded:
        unit_price = prices.get(event.operation)
        if unit_price is None:
            row = tx.execute(
                "SELECT unit_price_micros FROM prices WHERE operation = ?", (event.operation,)
            ).fetchone()
            if row is None:
                known = ", ".join(self._operations(tx))
                raise InvalidArgument(
                    f"unknown operation {event.operation!r}; known operations: {known}",
                    field="operation",
                )
            unit_price = prices[event.operation] = int(row[0])
        inserted = tx.execute(
            "INSERT INTO events (event_id, user_id, operation, quantity, unit_price_micros,"
            " cost_micros, occurred_at, recorded_at, metadata)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
            (
                event.event_id,
                event.user_id,
                event.operation,
                event.quantity,
                unit_price,
                unit_price * event.quantity,
                to_micros(event.occurred_at or now),
                to_micros(now),
                meta,
            ),
        ).rowcount
        # A repeat is answered with what the first delivery recorded, whatever it carries.
        owner, cost, occurred_micros = tx.execute(
            "SELECT user_id, cost_micros, occurred_at FROM events WHERE event_id = ?",
            (event.event_id,),
        ).fetchone()
        return Recorded(
            event.event_id,
            duplicate=inserted == 0,
            cost=usd(cost),
            owner=owner,
            occurred_at=from_micros(occurred_micros),
        )

    def complete(self, *, event_id: str, status: str = EventStatus.COMPLETED) -> EventStatus:
        _require_id(event_id, "event_id")
        final = _final_status(status)
        with self._write() as tx:
            self._finish(tx, event_id, final, now=self.clock())
        return final

    def _finish(
        self, tx: sqlite3.Connection, event_id: str, final: EventStatus, *, now: datetime
    ) -> None:
        row = tx.execute("SELECT status FROM events WHERE event_id = ?", (event_id,)).fetchone()
        if row is None:
            raise EventNotFound(f"no usage event {event_id!r}", field="event_id")
        current = EventStatus(row[0])
        if current is final:
            return
        if current is not EventStatus.PENDING:
            raise StatusConflict(f"usage event {event_id!r} is already {current}", field="status")
        tx.execute(
            "UPDATE events SET status = ?, completed_at = ? WHERE event_id = ?",
            (final.value, to_micros(now), event_id),
        )

    def usage(self, *, user_id: str, period: str, at: datetime | None = None) -> UsageReport:
        _require_id(user_id, "user_id")
        try:
            kind = Period(period or Period.MONTH)
        except ValueError:
            raise InvalidArgument(
                "period must be 'day', 'week' or 'month'", field="period"
            ) from None
        start, end = bounds(kind, at or self.clock())
        window = (user_id, to_micros(start), to_micros(end), EventStatus.FAILED.value)
        billable = "user_id = ? AND occurred_at >= ? AND occurred_at < ? AND status != ?"
        with self._read() as conn:
            by_operation = conn.execute(
                f"SELECT operation, SUM(quantity), SUM(cost_micros) FROM events"  # noqa: S608  # nosec  # B608: constant clause, values bound
                f" WHERE {billable} GROUP BY operation ORDER BY operation",
                window,
            ).fetchall()
            by_day = conn.execute(
                f"SELECT (occurred_at - ?) / {MICROS_PER_DAY}, SUM(quantity), SUM(cost_micros)"  # noqa: S608  # nosec  # B608: constants only, values bound
                f" FROM events WHERE {billable} GROUP BY 1",
                (to_micros(start), *window),
            ).fetchall()
        days = {int(index): (int(count), int(cost)) for index, count, cost in by_day}
        daily = tuple(
            DayTotal(
                day=(start + timedelta(days=index)).date(),
                count=days.get(index, (0, 0))[0],
                cost=usd(days.get(index, (0, 0))[1]),
            )
            for index in range((end - start).days)
        )
        return UsageReport(
            period=kind,
            start=start,
            end=end,
            total_operations=sum(int(count) for _, count, _ in by_operation),
            total_cost=usd(sum(int(cost) for _, _, cost in by_operation)),
            breakdown=tuple(
                OperationTotal(operation=op, count=int(count), cost=usd(int(cost)))
                for op, count, cost in by_operation
            ),
            daily=daily,
        )

    def quota(self, *, user_id: str, at: datetime | None = None) -> Quota:
        _require_id(user_id, "user_id")
        with self._read() as conn:
            return self._quota(conn, user_id, at or self.clock())

    def set_quota(self, *, user_id: str, limit: int) -> Quota:
        _require_id(user_id, "user_id")
        if limit < 0:
            raise InvalidArgument("limit must be 0 or more", field="limit")
        now = self.clock()
        with self._write() as tx:
            tx.execute(
                "INSERT INTO quotas (user_id, monthly_limit, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET"
                " monthly_limit = excluded.monthly_limit, updated_at = excluded.updated_at",
                (user_id, limit, to_micros(now)),
            )
            return self._quota(tx, user_id, now)

    def prices(self) -> dict[str, Decimal]:
        rows = (
            self._connection()
            .execute("SELECT operation, unit_price_micros FROM prices ORDER BY operation")
            .fetchall()
        )
        return {operation: usd(int(micros)) for operation, micros in rows}

    def set_price(self, *, operation: str, unit_price: str) -> dict[str, Decimal]:
        # New operations may be priced here: the price table is the list of known operations.
        if not OPERATION_NAME.match(operation) or len(operation) > MAX_ID_LENGTH:
            raise InvalidArgument(
                f"operation {operation!r} is not a dotted lower-case name like 'trade.execute'",
                field="operation",
            )
        micros = parse_unit_price(unit_price)
        with self._write() as tx:
            tx.execute(
                "INSERT INTO prices (operation, unit_price_micros, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (operation) DO UPDATE SET"
                " unit_price_micros = excluded.unit_price_micros,"
                " updated_at = excluded.updated_at",
                (operation, micros, to_micros(self.clock())),
            )
        return self.prices()

    def _operations(self, conn: sqlite3.Connection) -> list[str]:
        return [row[0] for row in conn.execute("SELECT operation FROM prices ORDER BY operation")]

    def _quota(self, conn: sqlite3.Connection, user_id: str, at: datetime) -> Quota:
        row = conn.execute(
            "SELECT monthly_limit FROM quotas WHERE user_id = ?", (user_id,)
        ).fetchone()
        limit = int(row[0]) if row else self.default_quota
        (used,) = conn.execute(
            "SELECT COALESCE(SUM(quantity), 0) FROM events"
            " WHERE user_id = ? AND occurred_at >= ? AND occurred_at < ? AND status != ?",
            (
                user_id,
                to_micros(month_start(at)),
                to_micros(next_month_start(at)),
                EventStatus.FAILED.value,
            ),
        ).fetchone()
        return quota_status(limit=limit, used=int(used), at=at, thresholds=self.thresholds)
