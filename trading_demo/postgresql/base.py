"""Django's PostgreSQL backend, logging statements under DEBUG only on request
(trading_demo/dblog.py), with cursors that work inside `trading_demo.prepared.pipelined()`."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from trading_demo.dblog import QueriesLoggedOnRequest


class PipelineAwareCursor(base.ServerBindingCursor):  # type: ignore[misc]
    """In pipeline mode psycopg knows a statement's row count only once its answer is collected
    (-1 until then), and the ORM decides by it (an UPDATE that counts no row makes `save()`
    INSERT instead): reading it collects the answers sent so far first."""

    @property
    def rowcount(self) -> int:
        pipeline = self._conn._pipeline  # type: ignore[attr-defined]
        if pipeline is not None:
            pipeline.sync()
        count: int = super().rowcount  # type: ignore[misc]
        return count


class DatabaseWrapper(QueriesLoggedOnRequest, base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if params.get("cursor_factory") is base.ServerBindingCursor:
            params["cursor_factory"] = PipelineAwareCursor
        return params
