"""Reads of a user's usage and costs, from the local records (delivered or not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from metering.models import UsageRecord
from metering.services import month_bounds

PERIODS = ("day", "week", "month")


def period_bounds(period: str, at: datetime | None = None) -> tuple[datetime, datetime]:
    """Calendar periods in UTC, as the metering service counts them."""
    at = (at or timezone.now()).astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    return month_bounds(at)


@dataclass(frozen=True)
class UsageLine:
    type: str
    count: int
    unit_price: Decimal
    cost: Decimal


@dataclass(frozen=True)
class UsageSummary:
    period: str
    start: datetime
    end: datetime
    total_operations: int
    total_cost: Decimal
    breakdown: list[UsageLine]
    daily: list[tuple[date, int]]
    pending: int
    delivered: int


def _records(user_id: UUID, start: datetime, end: datetime) -> QuerySet[UsageRecord]:
    return UsageRecord.objects.filter(user_id=user_id, occurred_at__gte=start, occurred_at__lt=end)


def usage_summary(*, user_id: UUID, period: str, at: datetime | None = None) -> UsageSummary:
    start, end = period_bounds(period, at)
    records = _records(user_id, start, end)
    by_type = {
        row["operation"]: row["count"]
        for row in records.values("operation").annotate(count=Sum("quantity"))
    }
    breakdown = []
    for operation, price in settings.METERING_PRICES.items():
        lines = (
            records.filter(operation=operation).values("unit_price").annotate(count=Sum("quantity"))
        )
        cost = sum((Decimal(line["unit_price"]) * line["count"] for line in lines), Decimal(0))
        breakdown.append(
            UsageLine(
                operation,
                int(by_type.get(operation, 0)),
                Decimal(price),
                cost.quantize(Decimal("0.001")),
            )
        )
    status = dict(records.values_list("status").annotate(n=Count("id")))
    daily_rows = (
        records.annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("day")
        .annotate(count=Sum("quantity"))
        .order_by("day")
    )
    counts = {row["day"]: int(row["count"]) for row in daily_rows}
    days: list[tuple[date, int]] = []
    cursor = start.date()
    last = min(end, timezone.now().astimezone(UTC) + timedelta(days=1)).date()
    while cursor < last and len(days) < 62:
        days.append((cursor, counts.get(cursor, 0)))
        cursor += timedelta(days=1)
    return UsageSummary(
        period=period,
        start=start,
        end=end,
        total_operations=sum(line.count for line in breakdown),
        total_cost=sum((line.cost for line in breakdown), Decimal(0)),
        breakdown=breakdown,
        daily=days,
        pending=int(status.get(UsageRecord.Status.PENDING, 0)),
        delivered=int(status.get(UsageRecord.Status.DELIVERED, 0)),
    )


def estimated_monthly_cost(summary: UsageSummary, at: datetime | None = None) -> Decimal:
    """This month's cost so far, extended at the same pace to the whole month."""
    now = (at or timezone.now()).astimezone(UTC)
    elapsed = (now - summary.start).total_seconds()
    length = (summary.end - summary.start).total_seconds()
    if elapsed <= 0:
        return summary.total_cost
    return (summary.total_cost * Decimal(length / elapsed)).quantize(Decimal("0.01"))


def estimate(counts: dict[str, int]) -> tuple[list[UsageLine], Decimal]:
    lines = [
        UsageLine(op, counts.get(op, 0), Decimal(price), Decimal(price) * counts.get(op, 0))
        for op, price in settings.METERING_PRICES.items()
    ]
    return lines, sum((line.cost for line in lines), Decimal(0))


def usage_records_for_month(*, user_id: UUID, month_start: datetime) -> QuerySet[UsageRecord]:
    start, end = month_bounds(month_start)
    return _records(user_id, start, end).order_by("occurred_at")
