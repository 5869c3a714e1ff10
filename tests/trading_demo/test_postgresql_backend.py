"""PostgreSQL binds parameters on the server and keeps a pooled connection's repeated statements
prepared (trading_demo/settings.py): the order path runs the same two dozen statements for
every order, and parsing and planning each again cost most of PostgreSQL's CPU per order. An
order's locked transaction is pipelined (trading_demo.prepared.pipelined)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from tests.trades.conftest import make_symbol, set_quotes
from trades.models import Symbol
from trades.services import orders
from trades.services.matching import symbol_of
from trades.services.orders import OrderRequest, order_submit
from trading_demo.prepared import pipelined, row_update

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


def test_pipelined_writes_are_read_back_and_a_save_still_updates():
    symbol = make_symbol()
    with transaction.atomic(), pipelined():
        assert connection.connection._pipeline is not None
        symbol.name = "Pipelined Corp"
        row_update(symbol, ["name"])  # sent, its answer not waited for
        assert Symbol.objects.get(pk="ACME").name == "Pipelined Corp"  # a read collects it
        symbol.name = "Saved Corp"
        symbol.save()  # the ORM reads the UPDATE's row count: it must not INSERT instead
    assert Symbol.objects.filter(pk="ACME").count() == 1
    assert Symbol.objects.get(pk="ACME").name == "Saved Corp"


def test_an_order_is_written_in_one_pipeline(trader, monkeypatch):
    seen = []
    original = orders.order_work

    def spy(**kwargs):
        seen.append(connection.connection._pipeline is not None)
        return original(**kwargs)

    symbol = make_symbol()
    set_quotes(symbol, bids=[("99.95", 1000)], asks=[("100.05", 1000)])
    monkeypatch.setattr(orders, "order_work", spy)
    result = order_submit(
        user=trader, request=OrderRequest("ACME", "BUY", "MARKET", 3, "IOC", "pipe-1")
    )
    assert seen == [True]
    assert result.order.filled_quantity == 3
