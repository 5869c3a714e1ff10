"""Usage: record billable operations (outbox), check quotas, deliver to the metering service."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from metering import client
from metering.models import Quota, QuotaThreshold, UsageCounter, UsageRecord
from metering.quota_rules import QuotaState, QuotaThresholds, utilization_pct
from trading_demo.errors import Forbidden, QuotaExceeded, ValidationFailed
from trading_demo.models import User
from trading_demo.prepared import rows_insert
from trading_demo.realtime import publish

logger = logging.getLogger(__name__)
RETRY_DELAYS = (1, 2, 5, 10, 30, 60)
DELIVERY_BATCH = 200


def unit_price(operation: str) -> Decimal:
    try:
        return Decimal(settings.METERING_PRICES[operation])
    except KeyError:
        raise ValidationFailed(
            f"operation: unknown operation {operation!r}; one of "
            f"{', '.join(settings.METERING_PRICES)}.",
            details={"operation": ["unknown"]},
        ) from None


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    start = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


@dataclass(frozen=True)
class QuotaView:
    limit: int
    used: int
    remaining: int
    utilization_pct: Decimal
    state: str
    reset_at: datetime
    # The counts at which the month turns warning and critical (the page's gauge bands).
    warning_at: int
    critical_at: int


# Every billable request and every order reads the counter and the limit, and every record
# bumps the counter and reads the limit back: these run as two plain statements (the ORM's
# query building costs ten times the statement itself on this hot path, measured with
# `make bench-load`).
_USAGE_SQL = (
    f"SELECT (SELECT used FROM {UsageCounter._meta.db_table} WHERE user_id = %s AND month = %s),"  # noqa: S608  # nosec  # B608: model table names only, values bound
    f" (SELECT monthly_limit FROM {Quota._meta.db_table} WHERE user_id = %s)"
)
_COUNTER_ADD_SQL = (
    f"UPDATE {UsageCounter._meta.db_table} SET used = used + %s"  # noqa: S608  # nosec  # B608: model table names only, values bound
    " WHERE user_id = %s AND month = %s"
    f" RETURNING used, (SELECT monthly_limit FROM {Quota._meta.db_table} WHERE user_id = %s)"
)


def _user_param(user_id: UUID | str) -> str | UUID:
    value: str | UUID = UsageCounter._meta.get_field("user").get_db_prep_value(user_id, connection)
    return value


def _used_and_limit(*, user_id: UUID, month: str) -> tuple[int, int]:
    """The month's count so far and the user's limit, in one read."""
    user = _user_param(user_id)
    with connection.cursor() as cursor:
        cursor.execute(_USAGE_SQL, [user, month, user])
        used, limit = cursor.fetchone()
    return int(used or 0), _limit_or_default(limit)


def _limit_or_default(limit: int | None) -> int:
    return settings.METERING_DEFAULT_QUOTA if limit is None else int(limit)


def _thresholds() -> QuotaThresholds:
    thresholds: QuotaThresholds = settings.METERING_QUOTA_THRESHOLDS
    return thresholds


def month_key(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m}"


def quota_status(*, user_id: UUID, at: datetime | None = None) -> QuotaView:
    """The month's usage from the local counter (it includes what is not delivered yet), so the
    check on the order path needs no call to the service."""
    at = at or timezone.now()
    _, end = month_bounds(at)
    used, limit = _used_and_limit(user_id=user_id, month=month_key(at))
    return _quota_view(used=used, limit=limit, reset_at=end)


def _quota_view(*, used: int, limit: int, reset_at: datetime) -> QuotaView:
    rules = _thresholds()
    return QuotaView(
        limit=limit,
        used=used,
        remaining=max(0, limit - used),
        utilization_pct=utilization_pct(used=used, limit=limit),
        state=rules.state(used=used, limit=limit),
        reset_at=reset_at,
        warning_at=rules.starts_at(limit=limit, pct=rules.warning_pct),
        critical_at=rules.starts_at(limit=limit, pct=rules.critical_pct),
    )


def quota_ensure_available(*, user_id: UUID) -> None:
    status = quota_status(user_id=user_id)
    if status.state == QuotaState.EXCEEDED:
        raise _quota_exceeded(limit=status.limit, used=status.used, reset_at=status.reset_at)


def _quota_exceeded(*, limit: int, used: int, reset_at: datetime) -> QuotaExceeded:
    return QuotaExceeded(
        f"Monthly quota of {limit} billable operations used up; it resets "
        f"{reset_at:%Y-%m-%d %H:%M} UTC.",
        details={"limit": limit, "used": used, "reset_at": reset_at.isoformat()},
    )


def usage_record(
    *,
    user_id: UUID,
    operation: str,
    quantity: int = 1,
    metadata: dict[str, Any] | None = None,
    within_quota: bool = False,
) -> UsageRecord:
    """Record a billable operation in the caller's transaction, count it in the month's
    counter, and announce a quota threshold the first time this month it is crossed.

    `within_quota`: refuse with QuotaExceeded when this record takes the month past the limit.
    The counter's UPDATE queues concurrent writers on its row, so each sees the total with the
    others' records in it: a check made before the work (`quota_ensure_available`) can be
    passed by several requests at once, this one cannot."""
    price = unit_price(operation)
    record = UsageRecord(
        user_id=user_id,
        operation=operation,
        quantity=quantity,
        unit_price=price,
        metadata=metadata or {},
    )
    month = month_key(record.occurred_at)
    # Part of the caller's transaction when there is one, without a savepoint of its own. The
    # counter first: a refusal takes its units back under the row lock the UPDATE holds and
    # writes nothing else, and is raised outside the block, so the caller's transaction stays
    # usable (the caller decides whether its work stays: BillingMiddleware rolls it back).
    refused = None
    with transaction.atomic(savepoint=False):
        used, limit = _counter_add(user_id=user_id, month=month, by=quantity)
        if within_quota and used > limit:
            _counter_add(user_id=user_id, month=month, by=-quantity)
            refused = _quota_exceeded(
                limit=limit, used=used - quantity, reset_at=month_bounds(record.occurred_at)[1]
            )
        else:
            rows_insert([record])  # every order and call writes one (trading_demo/prepared.py)
            _thresholds_check(user_id=user_id, used=used, limit=limit, at=record.occurred_at)
    if refused is not None:
        raise refused
    return record


def usage_track(*, user: User, operation: str, quantity: int = 1) -> UsageRecord:
    """A user records a billable operation of their own (scripts that meter their own work).
    Viewers never write; the quota is checked before and counted exactly (`within_quota`)."""
    if not user.can_trade:
        raise Forbidden("Viewers have read-only access: they do not record usage.")
    quota_ensure_available(user_id=user.pk)
    return usage_record(
        user_id=user.pk,
        operation=operation,
        quantity=quantity,
        within_quota=True,
    )


def _counter_add(*, user_id: UUID, month: str, by: int) -> tuple[int, int]:
    """Add to the user's counter of the month in one statement (concurrent writers queue on
    the row); the new total and the user's limit."""
    user = _user_param(user_id)
    with connection.cursor() as cursor:
        cursor.execute(_COUNTER_ADD_SQL, [by, user, month, user])
        row = cursor.fetchone()
    if row is not None:
        return int(row[0]), _limit_or_default(row[1])
    try:
        with transaction.atomic():
            UsageCounter.objects.create(user_id=user_id, month=month, used=by)
    except IntegrityError:  # another writer opened the month first
        return _counter_add(user_id=user_id, month=month, by=by)
    return _used_and_limit(user_id=user_id, month=month)


def _thresholds_check(*, user_id: UUID, used: int, limit: int, at: datetime) -> None:
    """Announce each threshold reached for the first time this month (QuotaThreshold keeps
    which were; below the lowest threshold this costs nothing)."""
    crossed = _thresholds().reached(used=used, limit=limit)
    if not crossed:
        return
    _, end = month_bounds(at)
    status = _quota_view(used=used, limit=limit, reset_at=end)
    for threshold in crossed:
        try:
            with transaction.atomic():
                _, created = QuotaThreshold.objects.get_or_create(
                    user_id=user_id, month=month_key(at), threshold=threshold
                )
        except IntegrityError:
            created = False
        if created:
            _threshold_crossed(user_id=user_id, threshold=threshold, status=status)


def _threshold_crossed(*, user_id: UUID, threshold: int, status: QuotaView) -> None:
    from alerts.services import alert_raise

    message = (
        f"You have used {status.used} of your {status.limit} billable operations this month "
        f"({threshold} %)."
        + (" Billable calls are refused until the quota resets." if threshold >= 100 else "")
    )
    alert_raise(
        type="quota",
        severity=_thresholds().severity(threshold),
        message=message,
        owner=User.objects.get(pk=user_id),
        data={"threshold": threshold, "used": status.used, "limit": status.limit},
        dedupe_key=f"quota:{threshold}:{status.reset_at:%Y-%m}",
    )
    publish(
        "quota:warning",
        {
            "threshold": threshold,
            "used": status.used,
            "limit": status.limit,
            "state": status.state,
            "reset_at": status.reset_at.isoformat(),
        },
        channel="metering",
        user_ids=[user_id],
    )


def quota_set(*, user: User, limit: int) -> Quota:
    if limit < 0:
        raise ValidationFailed("monthly_limit: 0 or more.", details={"monthly_limit": ["min 0"]})
    quota, _ = Quota.objects.update_or_create(
        user=user,
        defaults={"monthly_limit": limit, "updated_at": timezone.now(), "synced_at": None},
    )
    quotas_sync(quotas=[quota])
    return quota


def quotas_sync(*, quotas: list[Quota] | None = None) -> int:
    """Forward quota changes to the service; unsynced ones are retried by the worker."""
    pending = (
        quotas if quotas is not None else list(Quota.objects.filter(synced_at__isnull=True)[:100])
    )
    synced = 0
    for quota in pending:
        try:
            client.set_quota(user_id=str(quota.user_id), limit=quota.monthly_limit)
        except client.MeteringUnavailable:
            return synced
        Quota.objects.filter(pk=quota.pk, updated_at=quota.updated_at).update(
            synced_at=timezone.now()
        )
        synced += 1
    return synced


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int
    error: str = ""


def usage_deliver_pending(
    *, now: datetime | None = None, batch: int = DELIVERY_BATCH
) -> DeliveryReport:
    """Send due records to the service. A record is marked delivered only after the service
    acknowledged it; the service counts each event id once, so a record whose acknowledgement
    was lost is simply sent again. The first failure ends the pass and backs the rest off."""
    now = now or timezone.now()
    due = list(
        UsageRecord.objects.filter(
            status=UsageRecord.Status.PENDING, next_attempt_at__lte=now
        ).order_by("occurred_at")[: min(batch, client.MAX_BATCH)]
    )
    if not due:
        return DeliveryReport(0, 0)
    try:
        results = client.track_usage_batch(
            [
                client.UsageEvent(
                    event_id=str(record.pk),
                    user_id=str(record.user_id),
                    operation=record.operation,
                    quantity=record.quantity,
                    occurred_at=record.occurred_at,
                    metadata={k: str(v) for k, v in record.metadata.items()},
                )
                for record in due
            ],
            status="completed",
        )
    except client.MeteringUnavailable as exc:
        _back_off(due, now=now, error=str(exc))
        return DeliveryReport(0, len(due), str(exc))
    refused = {result.event_id: result for result in results if result.error}
    _mark_delivered([record.pk for record in due if str(record.pk) not in refused])
    if refused:
        # The service will not take these as they are (an operation it has no price for, say):
        # they stay pending, backed off, with its reason, for an operator to see.
        rejected = [record for record in due if str(record.pk) in refused]
        for record in rejected:
            logger.warning(
                "metering refused usage record %s: %s", record.pk, refused[str(record.pk)].error
            )
        _back_off(rejected, now=now, error="; ".join(sorted({r.error for r in refused.values()})))
    return DeliveryReport(len(due) - len(refused), len(refused))


def _mark_delivered(record_ids: list[UUID]) -> None:
    """One write for the whole pass: the web processes wait for every write on SQLite."""
    if record_ids:
        with transaction.atomic():
            UsageRecord.objects.filter(pk__in=record_ids).update(
                status=UsageRecord.Status.DELIVERED,
                delivered_at=timezone.now(),
                attempts=F("attempts") + 1,
                last_error="",
            )


def _back_off(records: list[UsageRecord], *, now: datetime, error: str) -> None:
    with transaction.atomic():
        for record in records:
            delay = RETRY_DELAYS[min(record.attempts, len(RETRY_DELAYS) - 1)]
            UsageRecord.objects.filter(pk=record.pk).update(
                attempts=record.attempts + 1,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=error[:300],
            )
