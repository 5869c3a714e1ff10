"""Calendar periods in UTC: the day, the ISO week (Monday first) and the month.

Usage is reported and quotas reset by calendar period, not by rolling windows, so that a
trader's "this month" is the same number on every screen and the reset date is predictable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _midnight(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month_start(at: datetime) -> datetime:
    start = month_start(at)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def bounds(period: Period, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the period containing `at`."""
    if period is Period.DAY:
        start = _midnight(at)
        return start, start + timedelta(days=1)
    if period is Period.WEEK:
        start = _midnight(at) - timedelta(days=at.astimezone(UTC).weekday())
        return start, start + timedelta(days=7)
    return month_start(at), next_month_start(at)
