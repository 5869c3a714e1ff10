"""`GET /api/metering/statement?month=` takes YYYY-MM from 1970-01 to this month; anything else
is a 400 in the shared error shape, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from metering.models import UsageRecord
from metering.services import usage_record

pytestmark = pytest.mark.django_db


def next_month() -> str:
    now = datetime.now(UTC)
    return f"{(now.replace(day=1) + timedelta(days=32)):%Y-%m}"


@pytest.mark.parametrize(
    "month",
    [
        "9999-12",
        "9999-11",
        "10000-01",
        "1969-12",
        "0000-01",
        "2026-13",
        "2026-00",
        "2026-1",
        "2026-01-01",
        " 2026-01",
        "\u0662\u0660\u0662\u0666-\u0660\u0661",  # Arabic-Indic digits
        "\uff12\uff10\uff12\uff16-\uff10\uff11",  # full-width digits
        "next",
    ],
)
def test_an_out_of_range_or_ill_formed_month_is_a_400(client_for, trader, month):
    response = client_for(trader).get("/api/metering/statement", {"month": month})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_failed"
    assert body["message"].startswith("month: ")
    assert list(body["details"]) == ["month"]


def test_next_month_has_no_statement_yet(client_for, trader):
    response = client_for(trader).get("/api/metering/statement", {"month": next_month()})
    assert response.status_code == 400
    assert response.json()["details"] == {"month": ["out of range"]}


def test_a_past_month_lists_that_months_records_only(client_for, trader):
    old = usage_record(user_id=trader.pk, operation="trade.execute")
    UsageRecord.objects.filter(pk=old.pk).update(occurred_at=datetime(1970, 1, 31, 23, tzinfo=UTC))
    usage_record(user_id=trader.pk, operation="api.call")
    api = client_for(trader)

    first = api.get("/api/metering/statement", {"month": "1970-01"})
    assert first.status_code == 200
    assert first["Content-Disposition"].endswith('usage-1970-01.csv"')
    lines = b"".join(first.streaming_content).decode().strip().splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == ["trade.execute"]
    this = api.get("/api/metering/statement", {"month": f"{datetime.now(UTC):%Y-%m}"})
    lines = b"".join(this.streaming_content).decode().strip().splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == ["api.call"]
