"""Writes for alerts: raise (from any app), acknowledge, price alerts and their evaluation on
every market tick, system health alerts, and the Slack outbox.

Events go out with `publish` after the transaction commits; Slack messages are rows in the same
transaction (the outbox), posted later by the `deliver_slack` worker, so Slack being slow or
down never blocks or fails the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.models import (
    SEVERITY_ORDER,
    Alert,
    AlertType,
    Audience,
    PriceAlert,
    PriceAlertState,
    PriceCondition,
    SlackMessage,
    severity_at_least,
)
from alerts.selectors import alert_recipient_ids, alerts_visible_to, manager_ids, parse_id
from alerts.slack import SlackError, alert_payload, slack_enabled, slack_post
from trades.models import Symbol
from trading_demo.errors import Conflict, Forbidden, NotFound, ValidationFailed
from trading_demo.models import Severity, User
from trading_demo.realtime import publish

logger = logging.getLogger(__name__)

CHANNEL = "alerts"
MESSAGE_MAX_LENGTH = 500
MAX_ARMED_PRICE_ALERTS = 100
EVALUATE_BATCH = 500
THRESHOLD_MAX = Decimal("999999999999.99")  # what Decimal(14, 2) holds


# --- raising and acknowledging ------------------------------------------------------------


def slack_min_severity() -> str:
    """The deployment's floor for Slack (`ALERTS_SLACK_MIN_SEVERITY`, default high)."""
    value = getattr(settings, "ALERTS_SLACK_MIN_SEVERITY", Severity.HIGH)
    if value not in SEVERITY_ORDER:
        logger.warning("ALERTS_SLACK_MIN_SEVERITY=%r is not a severity; using high", value)
        return Severity.HIGH
    return str(value)


def _goes_to_slack(*, severity: str, owner: User | None) -> bool:
    """At or above the deployment's floor and, for a user's own alert, at or above what the
    user chose on the Settings page."""
    if not severity_at_least(severity, slack_min_severity()):
        return False
    return owner is None or severity_at_least(severity, owner.slack_min_severity)


def alert_event_data(alert: Alert) -> dict[str, Any]:
    return {
        "id": str(alert.pk),
        "type": alert.type,
        "severity": alert.severity,
        "message": alert.message,
        "symbol": alert.symbol,
        "audience": alert.audience,
        "created_at": alert.created_at.isoformat(),
        "acknowledged": alert.is_acknowledged,
    }


def _open_duplicate(*, owner: User | None, dedupe_key: str) -> Alert | None:
    alerts = Alert.objects.filter(dedupe_key=dedupe_key, acknowledged_at__isnull=True)
    if owner is None:
        return alerts.filter(audience=Audience.MANAGERS).first()
    return alerts.filter(audience=Audience.USER, owner=owner).first()


@transaction.atomic
def alert_raise(
    *,
    type: str,
    severity: str,
    message: str,
    owner: User | None = None,
    to_managers: bool = False,
    symbol: str = "",
    data: dict[str, Any] | None = None,
    dedupe_key: str = "",
    notify_slack: bool | None = None,
) -> Alert:
    """Tell `owner` (or, with `to_managers`, every manager and admin) about something.

    With a `dedupe_key`, the same condition raised again while its alert is unacknowledged
    returns that alert instead of a new one (a unique index makes this hold under races too).
    The alert reaches the recipients' sockets (`alert:created`) after commit and, when its
    severity is high enough (`notify_slack=None`), Slack through the outbox.
    """
    if (owner is None) == (not to_managers):
        raise ValueError("An alert goes to one owner or to the managers: give exactly one.")
    if type not in AlertType.values:
        raise ValueError(f"Unknown alert type {type!r}.")
    if severity not in SEVERITY_ORDER:
        raise ValueError(f"Unknown severity {severity!r}.")
    if dedupe_key:
        existing = _open_duplicate(owner=owner, dedupe_key=dedupe_key)
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                type=type,
                severity=severity,
                message=message[:MESSAGE_MAX_LENGTH],
                owner=owner,
                audience=Audience.MANAGERS if to_managers else Audience.USER,
                symbol=symbol,
                data=data or {},
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        # A concurrent raise of the same condition committed first: that one is the alert.
        existing = _open_duplicate(owner=owner, dedupe_key=dedupe_key) if dedupe_key else None
        if existing is None:
            raise
        return existing
    publish(
        "alert:created",
        alert_event_data(alert),
        channel=CHANNEL,
        user_ids=alert_recipient_ids(alert=alert),
    )
    if notify_slack is None:
        notify_slack = _goes_to_slack(severity=severity, owner=owner)
    if notify_slack:
        slack_enqueue(alert_payload(message=alert.message, severity=severity, type=type))
    return alert


def _publish_acknowledged(alert: Alert) -> None:
    publish(
        "alert:acknowledged",
        {
            "id": str(alert.pk),
            "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
            "acknowledged_by": str(alert.acknowledged_by_id) if alert.acknowledged_by_id else None,
        },
        channel=CHANNEL,
        user_ids=alert_recipient_ids(alert=alert),
    )


@transaction.atomic
def alert_acknowledge(*, user: User, alert_id: object) -> Alert:
    """Record who acknowledged it and when. Twice is fine: the first acknowledgement stands.
    An alert the user cannot see (another user's, or none) is not found."""
    pk = parse_id(alert_id)
    alert = (
        alerts_visible_to(user=user).select_for_update().filter(pk=pk).first()
        if pk is not None
        else None
    )
    if alert is None:
        raise NotFound("No such alert.")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        _publish_acknowledged(alert)
    return alert


@transaction.atomic
def alerts_acknowledge_all(*, user: User) -> int:
    """Acknowledge every unacknowledged alert the user sees; returns how many."""
    unread = alerts_visible_to(user=user).filter(acknowledged_at__isnull=True)
    managers_too = user.is_manager and unread.filter(audience=Audience.MANAGERS).exists()
    count = unread.update(acknowledged_at=timezone.now(), acknowledged_by=user)
    if count:
        recipients: set[object] = {user.pk}
        if managers_too:
            recipients |= set(manager_ids())
        publish(
            "alert:acknowledged",
            {"all": True, "count": count, "acknowledged_by": str(user.pk)},
            channel=CHANNEL,
            user_ids=sorted(recipients, key=str),
        )
    return count


# --- price alerts -------------------------------------------------------------------------


def _threshold(value: object) -> Decimal | None:
    try:
        threshold = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not threshold.is_finite() or threshold <= 0 or threshold > THRESHOLD_MAX:
        return None
    if threshold != threshold.quantize(Decimal("0.01")):
        return None
    return threshold.quantize(Decimal("0.01"))


def _armed_limit_check(*, user: User) -> None:
    armed = PriceAlert.objects.filter(user=user, state=PriceAlertState.ARMED).count()
    if armed >= MAX_ARMED_PRICE_ALERTS:
        raise ValidationFailed(
            f"You have {armed} armed price alerts, the most allowed; delete some first.",
            details={"non_field_errors": [f"at most {MAX_ARMED_PRICE_ALERTS} armed alerts"]},
        )


@transaction.atomic
def price_alert_create(
    *, user: User, symbol: str, condition: str, threshold: Decimal, note: str = ""
) -> PriceAlert:
    """Arm a price alert. It fires on the first market tick at which the price is at or above
    (or at or below) the threshold — at once if it already is."""
    if not user.can_trade:
        raise Forbidden("Viewers have read-only access.")
    errors: dict[str, list[str]] = {}
    found = Symbol.objects.filter(pk=symbol).first() if isinstance(symbol, str) else None
    if found is None:
        errors["symbol"] = [f"Unknown symbol {symbol}."]
    if condition not in PriceCondition.values:
        errors["condition"] = ['Use "above" or "below".']
    amount = _threshold(threshold)
    if amount is None:
        errors["threshold"] = ["A price above 0 with at most 2 decimal places."]
    if len(note) > 200:
        errors["note"] = ["At most 200 characters."]
    if errors:
        field, messages = next(iter(errors.items()))
        raise ValidationFailed(f"{field}: {messages[0]}", details=errors)
    assert found is not None and amount is not None
    _armed_limit_check(user=user)
    return PriceAlert.objects.create(
        user=user, symbol=found, condition=condition, threshold=amount, note=note.strip()
    )


def _price_alert_locked(*, user: User, alert_id: object) -> PriceAlert:
    pk = parse_id(alert_id)
    price_alert = (
        PriceAlert.objects.select_for_update().filter(user=user, pk=pk).first()
        if pk is not None
        else None
    )
    if price_alert is None:
        raise NotFound("No such price alert.")
    return price_alert


@transaction.atomic
def price_alert_delete(*, user: User, alert_id: object) -> None:
    """Delete an armed price alert. A triggered one stays: it is what its price alert in the
    list refers to; re-arm it to use it again."""
    price_alert = _price_alert_locked(user=user, alert_id=alert_id)
    if price_alert.state == PriceAlertState.TRIGGERED:
        raise Conflict(
            "This price alert has triggered and stays in your history; re-arm it to use it again.",
            details={"state": price_alert.state},
        )
    price_alert.delete()


@transaction.atomic
def price_alert_rearm(*, user: User, alert_id: object) -> PriceAlert:
    """Arm a triggered price alert again (an armed one stays as it is)."""
    price_alert = _price_alert_locked(user=user, alert_id=alert_id)
    if price_alert.state == PriceAlertState.ARMED:
        return price_alert
    _armed_limit_check(user=user)
    price_alert.state = PriceAlertState.ARMED
    price_alert.triggered_at = None
    price_alert.triggered_price = None
    price_alert.save(update_fields=["state", "triggered_at", "triggered_price"])
    return price_alert


def _crossed(price: Decimal) -> Q:
    return Q(condition=PriceCondition.ABOVE, threshold__lte=price) | Q(
        condition=PriceCondition.BELOW, threshold__gte=price
    )


def price_alerts_evaluate(*, symbol_id: str, price: Decimal) -> int:
    """Fire every armed price alert of the symbol that `price` crosses; returns how many.

    The market process calls this for each symbol on every tick. Each alert fires exactly once:
    it is locked and switched to triggered in the transaction that raises its alert, so a
    second evaluation (another tick, another process) finds it no longer armed.
    """
    price = Decimal(price).quantize(Decimal("0.01"))
    armed = PriceAlert.objects.filter(
        _crossed(price), symbol_id=symbol_id, state=PriceAlertState.ARMED
    )
    # The common case, nothing crossed, costs one indexed read and takes no write lock.
    if not armed.exists():
        return 0
    fired = 0
    with transaction.atomic():
        due = list(
            armed.select_for_update(of=("self",))
            .select_related("user")
            .order_by("created_at")[:EVALUATE_BATCH]
        )
        now = timezone.now()
        for price_alert in due:
            price_alert.state = PriceAlertState.TRIGGERED
            price_alert.triggered_at = now
            price_alert.triggered_price = price
            price_alert.save(update_fields=["state", "triggered_at", "triggered_price"])
            rose = price_alert.condition == PriceCondition.ABOVE
            message = (
                f"{symbol_id} {'rose' if rose else 'fell'} to {price} "
                f"({price_alert.condition} {price_alert.threshold})"
            )
            if price_alert.note:
                message += f": {price_alert.note}"
            alert_raise(
                type=AlertType.PRICE,
                severity=Severity.MEDIUM,
                message=message,
                owner=price_alert.user,
                symbol=symbol_id,
                data={
                    "price_alert_id": str(price_alert.pk),
                    "condition": price_alert.condition,
                    "threshold": str(price_alert.threshold),
                    "price": str(price),
                    "note": price_alert.note,
                },
            )
            fired += 1
    return fired


# --- system health -------------------------------------------------------------------------

HEALTH_CACHE_PREFIX = "alerts:health:"
_health_fallback: dict[str, bool] = {}


def _last_known(check: str) -> bool | None:
    try:
        value = cache.get(HEALTH_CACHE_PREFIX + check)
    except Exception:  # the cache may be the Redis that is down: keep going on local memory
        value = _health_fallback.get(check)
    return value if isinstance(value, bool) else None


def _remember(check: str, ok: bool) -> None:
    _health_fallback[check] = ok
    try:
        cache.set(HEALTH_CACHE_PREFIX + check, ok, timeout=None)
    except Exception:  # as above: the local copy is enough until the cache is back
        logger.warning("could not store the health of %s in the cache", check)


def system_health_report(*, check: str, ok: bool, detail: str = "") -> Alert | None:
    """Report one health check's result (database, channel layer, a gRPC service).

    A check going down raises a high system alert for the managers (one while it stays
    unacknowledged); coming back acknowledges that alert and raises a low "recovered" one.
    Reporting the state it already had does nothing: the last known state per check is kept in
    the cache, so every process may report as often as it checks.
    """
    known = _last_known(check)
    if known is ok:
        return None
    if not ok:
        alert = _system_down(check, detail)
    else:
        try:
            alert = _system_up(check, detail, seen_down=known is False)
        except DatabaseError:
            logger.exception("could not record that %s is back up; will try again", check)
            return None  # not remembered: the next report tries again
    _remember(check, ok)
    return alert


def _system_down(check: str, detail: str) -> Alert | None:
    message = f"{check} is down" + (f": {detail}" if detail else "")
    try:
        return alert_raise(
            type=AlertType.SYSTEM,
            severity=Severity.HIGH,
            message=message,
            to_managers=True,
            data={"check": check, "ok": False, "detail": detail},
            dedupe_key=f"system:{check}",
        )
    except DatabaseError:
        # The database itself may be what is down, and the outbox lives in it: tell Slack
        # directly, once (this runs in a health loop, where a 5 s wait blocks nobody).
        logger.exception("could not store the system alert %r", message)
        if slack_enabled() and severity_at_least(Severity.HIGH, slack_min_severity()):
            try:
                slack_post(alert_payload(message=message, severity=Severity.HIGH, type="system"))
            except SlackError:
                logger.warning("Slack did not take the system alert either")
        return None


def _system_up(check: str, detail: str, *, seen_down: bool) -> Alert | None:
    with transaction.atomic():
        down = (
            Alert.objects.select_for_update()
            .filter(
                audience=Audience.MANAGERS,
                dedupe_key=f"system:{check}",
                acknowledged_at__isnull=True,
            )
            .first()
        )
        if down is None and not seen_down:
            return None  # first report of this process, and nothing was down
        data: dict[str, Any] = {"check": check, "ok": True, "detail": detail}
        if down is not None:
            down.acknowledged_at = timezone.now()
            down.save(update_fields=["acknowledged_at"])
            _publish_acknowledged(down)
            data["down_since"] = down.created_at.isoformat()
        # One "back up" per outage: keyed on the outage's own alert (a manager may have
        # acknowledged it already), so a second outage's recovery is never taken for the
        # first one's still-unread notice, while two processes seeing the same recovery still
        # raise it once.
        outage = down or (
            Alert.objects.filter(audience=Audience.MANAGERS, dedupe_key=f"system:{check}")
            .order_by("-created_at")
            .first()
        )
        return alert_raise(
            type=AlertType.SYSTEM,
            severity=Severity.LOW,
            message=f"{check} is back up",
            to_managers=True,
            data=data,
            dedupe_key=f"system:{check}:recovered:{outage.pk if outage else 'unrecorded'}",
            # Whoever was told it went down on Slack is told it is back.
            notify_slack=severity_at_least(Severity.HIGH, slack_min_severity()),
        )


# --- the Slack outbox ----------------------------------------------------------------------

BACKOFF_SECONDS = (5, 15, 60, 300)
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
CLAIM_SECONDS = 60
KEEP_DELIVERED_DAYS = 7


def slack_enqueue(payload: dict[str, Any], *, url: str = "") -> SlackMessage | None:
    """Queue a message for Slack in the caller's transaction (any payload the webhook takes:
    attachments, Block Kit). `url` is a reply's `response_url`; without one the message goes to
    the webhook, and is not queued (None) when that is off (no SLACK_WEBHOOK_URL)."""
    if not url and not slack_enabled():
        return None
    return SlackMessage.objects.create(payload=payload, url=url)


def slack_backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: 5 s, 15 s, 1 min, then every 5 min."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


@dataclass(frozen=True)
class SlackDeliveryRun:
    delivered: int
    failed: int


def slack_messages_deliver(*, now: datetime | None = None, limit: int = 50) -> SlackDeliveryRun:
    """Post the due messages, oldest first. A failure reschedules that message with backoff and
    ends the pass (Slack is probably down; the rest wait for the next pass)."""
    now = now or timezone.now()
    pending = SlackMessage.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
    if not slack_enabled():
        # Replies to button clicks carry their own URL; the webhook's messages wait for one.
        pending = pending.exclude(url="")
    due = list(pending.order_by("created_at")[:limit])
    delivered = failed = 0
    for message in due:
        # Claim it first, so two workers never post the same message; no transaction stays
        # open while Slack is called.
        claimed = SlackMessage.objects.filter(
            pk=message.pk, delivered_at__isnull=True, next_attempt_at=message.next_attempt_at
        ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        if not claimed:
            continue
        try:
            slack_post(message.payload, url=message.url)
        except SlackError as exc:
            if message.url and now - message.created_at > RESPONSE_URL_LIFETIME:
                # Slack honours a click's response_url for 30 minutes: past that, a retry can
                # never succeed. The decision itself is stored; only this reply is dropped.
                SlackMessage.objects.filter(pk=message.pk).delete()
                logger.warning(
                    "dropped reply %s: its response_url has expired (%s)", message.pk, exc
                )
                failed += 1
                continue
            attempts = message.attempts + 1
            wait = slack_backoff(attempts)
            if exc.retry_after:
                wait = max(wait, timedelta(seconds=exc.retry_after))
            SlackMessage.objects.filter(pk=message.pk).update(
                attempts=attempts, next_attempt_at=now + wait, last_error=str(exc)[:500]
            )
            logger.warning("Slack message %s failed (attempt %d): %s", message.pk, attempts, exc)
            failed += 1
            break
        SlackMessage.objects.filter(pk=message.pk).update(
            attempts=F("attempts") + 1, delivered_at=timezone.now(), last_error=""
        )
        delivered += 1
    return SlackDeliveryRun(delivered, failed)


def slack_messages_retry_now(*, message_ids: Iterable[UUID | str]) -> int:
    """Make undelivered messages due at once (the admin's "retry now")."""
    return SlackMessage.objects.filter(pk__in=message_ids, delivered_at__isnull=True).update(
        next_attempt_at=timezone.now()
    )


def slack_messages_prune(*, older_than_days: int = KEEP_DELIVERED_DAYS) -> int:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = SlackMessage.objects.filter(delivered_at__lt=cutoff).delete()
    return deleted
