"""One trader's orders are placed one at a time, across every web process.

An order is scored by the oversight service before any database lock is taken, and placed
only if the account figures it was scored on still hold. A trader's own concurrent orders are
what would move those figures, so each trader's intake is serialised by this lock, which is
held across the remote call but is not a database write lock: other traders, and every read,
go on meanwhile.

PostgreSQL: a session advisory lock (one per trader) with `lock_timeout`, so it works across
machines. SQLite (one machine): an exclusive `flock` on a file per trader in DATA_DIR; the
waiting happens in a helper thread so the wait can have a deadline.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from django.conf import settings
from django.db import OperationalError, connection

from trading_demo.errors import ServiceUnavailable

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for lock_timeout


class OrderIntakeBusy(ServiceUnavailable):
    """The trader's earlier orders held the intake past this order's deadline."""


def _busy() -> OrderIntakeBusy:
    return OrderIntakeBusy(
        "Your earlier orders are still being placed; send this one again in a moment.",
        details={"service": "order_intake"},
    )


@contextmanager
def trader_lock(user_id: UUID, *, timeout: float) -> Iterator[None]:
    """Hold the trader's intake lock; OrderIntakeBusy if it is not free within `timeout`."""
    if connection.vendor == "postgresql":
        with _advisory_lock(user_id, timeout=timeout):
            yield
    else:
        with _file_lock(user_id, timeout=timeout):
            yield


@contextmanager
def _advisory_lock(user_id: UUID, *, timeout: float) -> Iterator[None]:
    key = int.from_bytes(user_id.bytes[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:  # held: wait for it, at most `timeout`
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, false)", [f"{int(timeout * 1000)}"]
            )
            try:
                cursor.execute("SELECT pg_advisory_lock(%s)", [key])
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                raise _busy() from exc
            finally:
                cursor.execute("SELECT set_config('lock_timeout', '0', false)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def _file_lock(user_id: UUID, *, timeout: float) -> Iterator[None]:
    folder = settings.DATA_DIR / "locks"
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / f"orders-{user_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if not _wait_for_flock(fd, timeout):
            raise _busy() from None
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _wait_for_flock(fd: int, timeout: float) -> bool:
    """Block on the lock in a helper thread (a blocking flock cannot time out by itself). If
    the deadline passes first, the helper lets go of the lock as soon as it gets it and closes
    the descriptor; the caller must then not touch `fd`."""
    state = threading.Lock()
    acquired = threading.Event()
    abandoned = False

    def wait() -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with state:
            if abandoned:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            else:
                acquired.set()

    threading.Thread(target=wait, name="trader-lock", daemon=True).start()
    if acquired.wait(timeout):
        return True
    with state:
        if acquired.is_set():
            return True
        abandoned = True
    return False
