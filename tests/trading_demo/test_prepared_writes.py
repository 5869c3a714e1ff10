"""`rows_insert` and `rows_update` (trading_demo/prepared.py): rows written without the ORM's
compiler read back as the ORM wrote them, and each statement is built once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from metering.models import UsageRecord
from trading_demo.prepared import row_update, rows_insert, rows_update

pytestmark = pytest.mark.django_db


def record(user, n: int) -> UsageRecord:
    return UsageRecord(
        user=user,
        operation="api.call",
        unit_price=Decimal("0.000125"),
        occurred_at=datetime(2026, 12, 2, 15, 0, 0, n, tzinfo=UTC),
        metadata={"n": n, "path": "/api/auth/me"},
    )


@pytest.mark.parametrize("count", [1, 3, 20])  # 20: more rows than a kept statement has
def test_rows_read_back_as_written(trader, count):
    rows = [record(trader, n) for n in range(count)]
    rows_insert(rows)
    rows_insert(record(trader, 50 + n) for n in range(count))  # the kept statement again

    stored = {r.pk: r for r in UsageRecord.objects.filter(user=trader)}
    assert len(stored) == 2 * count
    for row in rows:
        back = stored[row.pk]
        assert (back.unit_price, back.occurred_at, back.metadata) == (
            Decimal("0.000125"),
            row.occurred_at,
            row.metadata,
        )
        assert not row._state.adding

    for row in rows:
        row.status, row.attempts = UsageRecord.Status.DELIVERED, 2
    rows_update(rows, ["status", "attempts"])
    rows[0].last_error = "x"
    row_update(rows[0], ["last_error"])
    back = UsageRecord.objects.filter(pk__in=[r.pk for r in rows])
    assert {(r.status, r.attempts) for r in back} == {("delivered", 2)}
    assert UsageRecord.objects.get(pk=rows[0].pk).last_error == "x"


def test_each_statement_is_built_once(trader, monkeypatch):
    rows_insert([record(trader, 0)])
    record_saved = UsageRecord.objects.get(user=trader)
    row_update(record_saved, ["attempts"])
    built = []
    quote = connection.ops.quote_name
    monkeypatch.setattr(
        connection.ops, "quote_name", lambda name: built.append(name) or quote(name)
    )

    rows_insert([record(trader, 1)])
    record_saved.attempts = 3
    row_update(record_saved, ["attempts"])

    assert built == []
    assert UsageRecord.objects.get(pk=record_saved.pk).attempts == 3
