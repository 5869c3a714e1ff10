"""PostgreSQL binds parameters on the server and keeps a pooled connection's repeated statements
prepared (trading_demo/settings.py): the order path runs the same two dozen statements for
every order, and parsing and planning each again cost most of PostgreSQL's CPU per order."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.trades.conftest import make_symbol
from trades.services.matching import symbol_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="PostgreSQL only (CI's second run sets DATABASE_URL)",
    ),
]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_run_again_is_prepared_on_the_server():
    make_symbol()
    before = set(_prepared_statements())
    for _ in range(3):
        assert symbol_of("ACME") is not None
    new = [s for s in set(_prepared_statements()) - before if '"trades_symbol"' in s]
    assert len(new) == 1
    # Bound by the server: the statement holds a placeholder, not the quoted value.
    assert "$1" in new[0] and "ACME" not in new[0]
