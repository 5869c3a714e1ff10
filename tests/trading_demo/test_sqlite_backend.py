"""Our database backends: statements are not logged under DEBUG unless something asks (both),
a statement's placeholders are converted once, and one writer per process waits on the file
lock (SQLite)."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from tests.threads import at_once
from trading_demo.models import User
from trading_demo.sqlite import base

pytestmark = pytest.mark.django_db


def sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite backend's own behaviour (this run is on PostgreSQL)")


def test_debug_logs_no_statement_unless_captured(settings):
    """Both our backends (trading_demo/sqlite, trading_demo/postgresql)."""
    assert type(connections["default"]).__module__ == f"trading_demo.{connection.vendor}.base"
    settings.DEBUG = True
    connection.queries_log.clear()
    User.objects.filter(email="nobody@example.com").exists()
    assert connection.queries == []
    with CaptureQueriesContext(connection) as captured:
        User.objects.filter(email="nobody@example.com").exists()
    assert len(captured) == 1 and '"trading_demo_user"' in captured[0]["sql"]


def test_a_statement_is_converted_once_and_runs_with_new_values(trader):
    sqlite_only()
    base._converted.clear()
    for email in (trader.email, "nobody@example.com", trader.email):
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM trading_demo_user WHERE email = %s", [email])
            found = cursor.fetchone()[0]
        assert found == (1 if email == trader.email else 0)
    sql = "SELECT COUNT(*) FROM trading_demo_user WHERE email = %s"
    assert base._converted == {sql: "SELECT COUNT(*) FROM trading_demo_user WHERE email = ?"}


@pytest.mark.django_db(transaction=True)
def test_one_writer_per_process_waits_on_the_file_lock(monkeypatch, trader):
    """The others wait on the process's own lock: the kernel wakes every waiter of a file
    lock each time it is released, and at 32 connections a dozen did per order."""
    sqlite_only()
    inside = {"now": 0, "most": 0}
    count = threading.Lock()
    real_flock = fcntl.flock

    def counting_flock(fd: int, operation: int) -> None:
        if operation != fcntl.LOCK_EX:
            real_flock(fd, operation)
            return
        with count:
            inside["now"] += 1
            inside["most"] = max(inside["most"], inside["now"])
        try:
            real_flock(fd, operation)
        finally:
            with count:
                inside["now"] -= 1

    monkeypatch.setattr(base.fcntl, "flock", counting_flock)

    def write(n: int) -> int:
        with transaction.atomic():
            User.objects.filter(pk=trader.pk).update(display_name=f"writer {n}")
            time.sleep(0.02)  # long enough for every other writer to queue behind this one
        return n

    done = at_once([lambda n=n: write(n) for n in range(8)])

    assert sorted(done) == list(range(8))
    assert inside["most"] == 1
    assert User.objects.get(pk=trader.pk).display_name.startswith("writer ")
