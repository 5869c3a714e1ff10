"""SQLite with one queue of writers across every process on this machine.

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps 1, 2, 5,
… up to 100 ms between tries. Under load those sleeps, not the work, set the pace (measured with
`make bench-load`: p99 of 3 s for orders at 4 connections). Here every write transaction first
takes an exclusive `flock` on a file beside the database: the kernel wakes the next writer the
moment one commits, and SQLite's own lock is then always free (the busy timeout stays as the
safety net for writes outside a transaction). Only one writer per process waits on that file
lock; the process's other writers wait on a thread lock in front of it. The kernel wakes every
waiter of a file lock each time it is released, and at 32 connections a dozen did per order
(measured: 213 -> 244 orders/s at 32 connections, four alternating 8 s rows).

Two costs of Django's backend are left out of each statement, because they were a fifth of the
CPU an order spends while it holds the queue (py-spy, `make bench-load`'s soak): the
placeholder conversion (`%s` to `?`, a regex behind a lazy object) is done once per distinct
statement, and under `DEBUG=1` (`make run`) statements are logged only on request
(trading_demo/dblog.py).
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

from django.db.backends.sqlite3 import base

from trading_demo.dblog import QueriesLoggedOnRequest

CONVERTED_KEPT = 4096
_converted: dict[str, str] = {}
# One writer per process waits on the file lock; the process's other writers wait here.
_process_gates: dict[str, threading.Lock] = {}


class CursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is not None:
            return str(super().convert_query(query, param_names=param_names))
        converted = _converted.get(query)
        if converted is None:
            converted = str(super().convert_query(query))
            if len(_converted) >= CONVERTED_KEPT:
                _converted.clear()
            _converted[query] = converted
        return converted


class DatabaseWrapper(QueriesLoggedOnRequest, base.DatabaseWrapper):
    _queue_fd: int | None = None
    _queue_held = False
    _queue_gate: threading.Lock

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=CursorWrapper)

    def _queue_path(self) -> str | None:
        name = str(self.settings_dict["NAME"])
        if self.is_in_memory_db() or not name:
            return None
        return f"{name}.writers"

    def _queue_take(self) -> None:
        path = self._queue_path()
        if path is None:
            return
        if self._queue_fd is None:
            self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        gate = _process_gates.setdefault(path, threading.Lock())
        gate.acquire()
        try:
            fcntl.flock(self._queue_fd, fcntl.LOCK_EX)
        except BaseException:
            gate.release()
            raise
        self._queue_gate = gate
        self._queue_held = True

    def _queue_leave(self) -> None:
        if self._queue_held and self._queue_fd is not None:
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)
            self._queue_gate.release()
        self._queue_held = False

    def _start_transaction_under_autocommit(self) -> None:
        self._queue_take()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._queue_leave()
            raise

    def _commit(self) -> Any:
        try:
            if self.run_on_commit:
                # The transaction's events ride in it (trading_demo/realtime.py says why).
                from trading_demo.realtime import relay_before_commit

                relay_before_commit(self)
            return super()._commit()  # type: ignore[misc]
        finally:
            self._queue_leave()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._queue_leave()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._queue_leave()
            if self._queue_fd is not None:
                os.close(self._queue_fd)
                self._queue_fd = None
