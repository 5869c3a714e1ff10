"""Reads: which alerts a user sees, the unread count, a trader's price alerts."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from alerts.models import Alert, Audience, PriceAlert
from trading_demo.models import Role, User


def parse_id(value: object) -> uuid.UUID | None:
    """An id from a URL or a caller; anything that is not a UUID matches nothing."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def alerts_visible_to(*, user: User) -> QuerySet[Alert]:
    """The user's own alerts, and the managers' alerts when the user is a manager or admin.
    Another user's alert is simply not in here (so it is a 404, not a 403)."""
    visible = Q(owner=user)
    if user.is_manager:
        visible |= Q(audience=Audience.MANAGERS)
    return Alert.objects.filter(visible)


def alerts_for(
    *,
    user: User,
    acknowledged: bool | None = None,
    severity: str | None = None,
    type: str | None = None,
) -> QuerySet[Alert]:
    """Newest first."""
    alerts = alerts_visible_to(user=user)
    if acknowledged is not None:
        alerts = alerts.filter(acknowledged_at__isnull=not acknowledged)
    if severity:
        alerts = alerts.filter(severity=severity)
    if type:
        alerts = alerts.filter(type=type)
    return alerts.select_related("acknowledged_by").order_by("-created_at")


def alert_get(*, user: User, alert_id: object) -> Alert | None:
    pk = parse_id(alert_id)
    if pk is None:
        return None
    return alerts_for(user=user).filter(pk=pk).first()


def unread_count(*, user: User) -> int:
    return alerts_visible_to(user=user).filter(acknowledged_at__isnull=True).count()


def alert_recipient_ids(*, alert: Alert) -> list[object]:
    """Whose sockets hear about this alert: its owner, or every active manager and admin.

    Managers' alerts go to each manager's own group rather than the managers' group: a socket
    joins that group only for the approvals channel, and a page socket is in both (it would
    get every event twice)."""
    if alert.owner_id is not None:
        return [alert.owner_id]
    return manager_ids()


def manager_ids() -> list[object]:
    return list(
        User.objects.filter(is_active=True, role__in=(Role.MANAGER, Role.ADMIN))
        .order_by("id")
        .values_list("id", flat=True)
    )


def price_alerts_for(*, user: User) -> QuerySet[PriceAlert]:
    """Armed ones first, then newest first."""
    return PriceAlert.objects.filter(user=user).order_by("state", "-created_at")


def price_alert_get(*, user: User, alert_id: object) -> PriceAlert | None:
    pk = parse_id(alert_id)
    if pk is None:
        return None
    return PriceAlert.objects.filter(user=user, pk=pk).first()
