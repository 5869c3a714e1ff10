"""The two gRPC reference servers keep their own SQLite files through one base
(trading_demo/sqlite_store.py): opened, written and closed alike, without Django."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from metering.server.store import Store as MeteringStore
from oversight.server.store import Store as OversightStore
from tests.servers import ROOT


def metering_store(tmp_path: Path) -> MeteringStore:
    return MeteringStore(tmp_path / "metering.sqlite3")


def oversight_store(tmp_path: Path) -> OversightStore:
    return OversightStore(tmp_path / "oversight.sqlite3")


STORES = pytest.mark.parametrize("open_store", [metering_store, oversight_store])


def in_thread[T](call) -> T:
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    thread.join(timeout=30)
    return result[0]


def pragmas(connection: sqlite3.Connection) -> tuple[str, int, int]:
    return (
        connection.execute("PRAGMA journal_mode").fetchone()[0],
        connection.execute("PRAGMA synchronous").fetchone()[0],
        connection.execute("PRAGMA busy_timeout").fetchone()[0],
    )


@STORES
def test_every_worker_connection_is_opened_alike(tmp_path, open_store):
    store = open_store(tmp_path)
    try:
        # WAL, synchronous=NORMAL (1), a 5 s busy timeout: on the opening thread and a worker's.
        assert pragmas(store._connection()) == ("wal", 1, 5_000)
        assert in_thread(lambda: pragmas(store._connection())) == ("wal", 1, 5_000)
    finally:
        store.close()


@STORES
def test_close_closes_every_threads_connection_and_the_store_opens_again(tmp_path, open_store):
    store = open_store(tmp_path)
    worker = in_thread(store._connection)
    mine = store._connection()

    store.close()

    for connection in (worker, mine):
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")
    again = in_thread(lambda: pragmas(store._connection()))
    assert again == ("wal", 1, 5_000)
    assert store._connection() is not mine
    store.close()


def test_a_writer_waits_for_another_instead_of_failing(tmp_path):
    store = metering_store(tmp_path)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    done: list[object] = []

    def write() -> None:
        try:
            done.append(store.set_quota(user_id="u1", limit=7))
        except Exception as exc:  # the failure is the outcome under test
            done.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=0.5)
    waiting = writer.is_alive()
    other.execute("COMMIT")
    writer.join(timeout=10)

    assert waiting  # it queued behind the lock ...
    assert [type(result).__name__ for result in done] == ["Quota"]  # ... and then succeeded
    assert store.quota(user_id="u1", at=datetime.now(UTC)).limit == 7
    other.close()
    store.close()


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    store = metering_store(tmp_path)
    with pytest.raises(RuntimeError), store._write() as tx:
        tx.execute("INSERT INTO quotas (user_id, monthly_limit, updated_at) VALUES ('u', 1, 0)")
        raise RuntimeError("half-way")
    assert store._connection().execute("SELECT COUNT(*) FROM quotas").fetchone()[0] == 0
    store.close()


def test_the_servers_and_their_shared_modules_never_load_django():
    code = (
        "import sys\n"
        "import metering.server.__main__, oversight.server.__main__\n"
        "import trading_demo.sqlite_store, metering.quota_rules\n"
        "top = {name.split('.')[0] for name in sys.modules}\n"
        "loaded = sorted(top & {'django', 'rest_framework'})\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
