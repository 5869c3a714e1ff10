"""The base of the gRPC reference servers' own SQLite stores (`metering/server/store.py`,
`oversight/server/store.py`); not the Django database, which has its own backend.

Django-free: the servers are separate processes that never load Django. One file per server,
opened by that process only:
- WAL, so readers never wait for the writer;
- `synchronous=NORMAL`: with WAL a crash of the process loses nothing, only an OS crash or
  power loss can drop the last commits, and it spares an fsync on every call;
- a busy timeout, so a writer queues behind another instead of failing with "database is
  locked";
- one connection per gRPC worker thread (sqlite3 connections are not shared across threads),
  autocommit mode, every write one `BEGIN IMMEDIATE` transaction that takes the write lock
  before it reads, so a check-and-write never interleaves with another writer;
- `close()` closes every thread's connection; a later call opens a fresh one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 5.0


class SqliteStore:
    """Subclasses give their `SCHEMA` (idempotent DDL, run on open) and their queries."""

    SCHEMA = ""

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connection()
        connection.execute("PRAGMA journal_mode=WAL")  # kept by the file from now on
        connection.executescript(self.SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # isolation_level=None: no implicit transactions, _write() and _read() open them.
            # check_same_thread=False only so that close() can close every thread's connection.
            connection = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so that the queries of a report see the same snapshot."""
        connection = self._connection()
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
            # Every thread's next call opens a new connection instead of using a closed one.
            self._local = threading.local()
