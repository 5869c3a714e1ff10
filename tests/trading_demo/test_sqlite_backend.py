"""Our database backends: statements are not logged under DEBUG unless something asks (both),
and a statement's placeholders are converted once (SQLite)."""

from __future__ import annotations

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

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
