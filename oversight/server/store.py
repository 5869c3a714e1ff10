"""The oversight service's own SQLite store: evaluations, approval requests, settings, audit.

Only the server process opens this file; how it is opened, written and closed is the servers'
shared base (trading_demo/sqlite_store.py): every write is one `BEGIN IMMEDIATE` transaction,
which takes SQLite's write lock before reading, so a check-and-write (first decision wins) can
never interleave with another writer. Times are stored as integer microseconds since the epoch,
UTC, so they compare as numbers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from oversight.server.risk import RiskConfig, TradingState
from trading_demo.sqlite_store import SqliteStore

FILE_NAME = "oversight.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    evaluation_id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    inputs TEXT NOT NULL,
    score INTEGER NOT NULL,
    level TEXT NOT NULL,
    reasons TEXT NOT NULL,
    trading_state TEXT NOT NULL,
    config TEXT NOT NULL,
    evaluated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_user ON evaluations (user_id, evaluated_at);

CREATE TABLE IF NOT EXISTS approvals (
    approval_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price TEXT NOT NULL,
    notional TEXT NOT NULL,
    score INTEGER NOT NULL,
    level TEXT NOT NULL,
    reasons TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at INTEGER,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS approvals_pending ON approvals (state, expires_at);

CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""

PENDING = "PENDING"
APPROVED = "APPROVED"
REJECTED = "REJECTED"
EXPIRED = "EXPIRED"
DECISIONS = frozenset({APPROVED, REJECTED})

RISK_CONFIG_KEY = "risk_config"
TRADING_STATE_KEY = "trading_state"


class StoreError(Exception):
    """A rule of the approval workflow said no; the service maps each kind to a status code."""


class NotFoundError(StoreError):
    pass


class SelfDecisionError(StoreError):
    pass


class AlreadyDecidedError(StoreError):
    pass


class ExpiredError(StoreError):
    pass


@dataclass(frozen=True)
class Evaluation:
    evaluation_id: str
    request_id: str
    user_id: str
    symbol: str
    inputs: dict[str, Any]  # the request's fields as received (decimals as strings)
    score: int
    level: str
    reasons: tuple[str, ...]
    trading_state: str
    config: dict[str, Any]  # the configuration the score was computed with
    evaluated_at: datetime


@dataclass(frozen=True)
class Approval:
    approval_id: str
    order_id: str
    user_id: str
    symbol: str
    side: str
    quantity: int
    price: Decimal
    notional: Decimal
    score: int
    level: str
    reasons: tuple[str, ...]
    state: str
    expires_at: datetime
    created_at: datetime
    decided_by: str = ""
    decided_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class Settings:
    config: RiskConfig
    config_updated_by: str
    config_updated_at: datetime | None
    trading_state: TradingState
    trading_state_changed_by: str
    trading_state_changed_at: datetime | None


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: oversight stores UTC instants only")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    seconds, micros = divmod(value, 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)


class Store(SqliteStore):
    SCHEMA = SCHEMA

    def __init__(self, path: Path) -> None:
        self._settings_lock = threading.Lock()
        self._settings: Settings | None = None
        super().__init__(path)

    def _audit(
        self,
        connection: sqlite3.Connection,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any],
    ) -> None:
        connection.execute(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
            (to_micros(at), actor, action, subject, json.dumps(detail, sort_keys=True)),
        )

    # Evaluations

    def evaluation(self, evaluation_id: str) -> Evaluation | None:
        row = (
            self._connection()
            .execute("SELECT * FROM evaluations WHERE evaluation_id = ?", (evaluation_id,))
            .fetchone()
        )
        return _evaluation(row) if row else None

    def evaluation_for_request(self, request_id: str) -> Evaluation | None:
        row = (
            self._connection()
            .execute("SELECT * FROM evaluations WHERE request_id = ?", (request_id,))
            .fetchone()
        )
        return _evaluation(row) if row else None

    def save_evaluation(self, evaluation: Evaluation) -> Evaluation:
        """Store it, unless its request_id already has one: then the stored one wins."""
        with self._write() as connection:
            connection.execute(
                """
                INSERT INTO evaluations (evaluation_id, request_id, user_id, symbol, inputs,
                    score, level, reasons, trading_state, config, evaluated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (request_id) DO NOTHING
                """,
                (
                    evaluation.evaluation_id,
                    evaluation.request_id,
                    evaluation.user_id,
                    evaluation.symbol,
                    json.dumps(evaluation.inputs, sort_keys=True),
                    evaluation.score,
                    evaluation.level,
                    json.dumps(list(evaluation.reasons)),
                    evaluation.trading_state,
                    json.dumps(evaluation.config, sort_keys=True),
                    to_micros(evaluation.evaluated_at),
                ),
            )
            row = connection.execute(
                "SELECT * FROM evaluations WHERE request_id = ?", (evaluation.request_id,)
            ).fetchone()
        return _evaluation(row)

    # Approval requests

    def approval(self, approval_id: str) -> Approval | None:
        row = (
            self._connection()
            .execute("SELECT * FROM approvals WHERE approval_id = ?", (approval_id,))
            .fetchone()
        )
        return _approval(row) if row else None

    def submit_approval(self, approval: Approval) -> Approval:
        """Open a PENDING request; an approval_id seen before returns the stored request."""
        with self._write() as connection:
            cursor = connection.execute(
                """
                INSERT INTO approvals (approval_id, order_id, user_id, symbol, side, quantity,
                    price, notional, score, level, reasons, state, expires_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (approval_id) DO NOTHING
                """,
                (
                    approval.approval_id,
                    approval.order_id,
                    approval.user_id,
                    approval.symbol,
                    approval.side,
                    approval.quantity,
                    str(approval.price),
                    str(approval.notional),
                    approval.score,
                    approval.level,
                    json.dumps(list(approval.reasons)),
                    PENDING,
                    to_micros(approval.expires_at),
                    to_micros(approval.created_at),
                ),
            )
            if cursor.rowcount:
                self._audit(
                    connection,
                    at=approval.created_at,
                    actor=approval.user_id,
                    action="approval.submitted",
                    subject=approval.approval_id,
                    detail={"order_id": approval.order_id, "level": approval.level},
                )
            row = connection.execute(
                "SELECT * FROM approvals WHERE approval_id = ?", (approval.approval_id,)
            ).fetchone()
        return _approval(row)

    def decide(
        self, *, approval_id: str, decision: str, manager_id: str, reason: str, now: datetime
    ) -> Approval:
        """Record a manager's decision: first decision wins.

        The same manager repeating the decision already stored gets the stored request back,
        so a client that retries after a lost response is not told it lost to itself.
        A request past its expiry is marked EXPIRED (committed) and ExpiredError is raised.
        """
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}")
        expired = False
        with self._write() as connection:
            row = connection.execute(
                "SELECT * FROM approvals WHERE approval_id = ?", (approval_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"No approval request {approval_id}")
            current = _approval(row)
            if manager_id == current.user_id:
                raise SelfDecisionError("A manager cannot decide on their own order")
            if current.state in DECISIONS:
                if current.state == decision and current.decided_by == manager_id:
                    return current
                raise AlreadyDecidedError(
                    f"Approval request {approval_id} is already decided: "
                    f"{current.state} by {current.decided_by}"
                )
            if current.state == EXPIRED:
                raise ExpiredError(f"Approval request {approval_id} has expired")
            if current.expires_at <= now:
                self._expire(connection, [approval_id], now)
                expired = True
            else:
                connection.execute(
                    """
                    UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, reason = ?
                    WHERE approval_id = ?
                    """,
                    (decision, manager_id, to_micros(now), reason, approval_id),
                )
                self._audit(
                    connection,
                    at=now,
                    actor=manager_id,
                    action=f"approval.{decision.lower()}",
                    subject=approval_id,
                    detail={"reason": reason, "order_id": current.order_id},
                )
            row = connection.execute(
                "SELECT * FROM approvals WHERE approval_id = ?", (approval_id,)
            ).fetchone()
        if expired:
            raise ExpiredError(f"Approval request {approval_id} has expired")
        return _approval(row)

    def expire_approvals(self, *, at: datetime) -> list[str]:
        """Every PENDING request with expires_at <= at becomes EXPIRED; return their ids."""
        with self._write() as connection:
            ids = [
                row["approval_id"]
                for row in connection.execute(
                    """
                    SELECT approval_id FROM approvals
                    WHERE state = ? AND expires_at <= ? ORDER BY expires_at, approval_id
                    """,
                    (PENDING, to_micros(at)),
                )
            ]
            self._expire(connection, ids, at)
        return ids

    def _expire(self, connection: sqlite3.Connection, ids: list[str], at: datetime) -> None:
        for approval_id in ids:
            connection.execute(
                """
                UPDATE approvals SET state = ?, decided_at = ?, reason = 'expired'
                WHERE approval_id = ? AND state = ?
                """,
                (EXPIRED, to_micros(at), approval_id, PENDING),
            )
            self._audit(
                connection,
                at=at,
                actor="oversight",
                action="approval.expired",
                subject=approval_id,
                detail={},
            )

    # Settings: the risk configuration and the trading state

    def settings(self) -> Settings:
        # Cached: every evaluation reads it. This process is the only writer, and a load holds
        # the same lock as a write-and-invalidate, so a stale value can never be cached.
        with self._settings_lock:
            if self._settings is None:
                self._settings = self._load_settings()
            return self._settings

    def _load_settings(self) -> Settings:
        rows = {
            row["key"]: row
            for row in self._connection().execute(
                "SELECT key, value, updated_by, updated_at FROM settings"
            )
        }
        config_row = rows.get(RISK_CONFIG_KEY)
        state_row = rows.get(TRADING_STATE_KEY)
        return Settings(
            config=RiskConfig.from_json(config_row["value"]) if config_row else RiskConfig(),
            config_updated_by=config_row["updated_by"] if config_row else "",
            config_updated_at=from_micros(config_row["updated_at"]) if config_row else None,
            trading_state=TradingState(state_row["value"]) if state_row else TradingState.ACTIVE,
            trading_state_changed_by=state_row["updated_by"] if state_row else "",
            trading_state_changed_at=from_micros(state_row["updated_at"]) if state_row else None,
        )

    def set_risk_config(self, *, config: RiskConfig, actor: str, now: datetime) -> Settings:
        self._put_setting(
            key=RISK_CONFIG_KEY, value=config.to_json(), actor=actor, now=now, detail={}
        )
        return self.settings()

    def set_trading_state(self, *, state: TradingState, actor: str, now: datetime) -> Settings:
        self._put_setting(
            key=TRADING_STATE_KEY,
            value=state.value,
            actor=actor,
            now=now,
            detail={"state": state.value},
        )
        return self.settings()

    def _put_setting(
        self, *, key: str, value: str, actor: str, now: datetime, detail: dict[str, Any]
    ) -> None:
        with self._settings_lock, self._write() as connection:
            connection.execute(
                """
                INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                    updated_by = excluded.updated_by, updated_at = excluded.updated_at
                """,
                (key, value, actor, to_micros(now)),
            )
            self._audit(
                connection,
                at=now,
                actor=actor,
                action=f"settings.{key}",
                subject=key,
                detail={**detail, "value": json.loads(value) if key == RISK_CONFIG_KEY else value},
            )
            self._settings = None


def _evaluation(row: sqlite3.Row) -> Evaluation:
    return Evaluation(
        evaluation_id=row["evaluation_id"],
        request_id=row["request_id"],
        user_id=row["user_id"],
        symbol=row["symbol"],
        inputs=json.loads(row["inputs"]),
        score=row["score"],
        level=row["level"],
        reasons=tuple(json.loads(row["reasons"])),
        trading_state=row["trading_state"],
        config=json.loads(row["config"]),
        evaluated_at=from_micros(row["evaluated_at"]),
    )


def _approval(row: sqlite3.Row) -> Approval:
    return Approval(
        approval_id=row["approval_id"],
        order_id=row["order_id"],
        user_id=row["user_id"],
        symbol=row["symbol"],
        side=row["side"],
        quantity=row["quantity"],
        price=Decimal(row["price"]),
        notional=Decimal(row["notional"]),
        score=row["score"],
        level=row["level"],
        reasons=tuple(json.loads(row["reasons"])),
        state=row["state"],
        expires_at=from_micros(row["expires_at"]),
        created_at=from_micros(row["created_at"]),
        decided_by=row["decided_by"],
        decided_at=from_micros(row["decided_at"]) if row["decided_at"] is not None else None,
        reason=row["reason"],
    )
