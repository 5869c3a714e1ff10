"""Alerts (what a user or the managers are told), traders' price alerts, and the Slack outbox."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from trading_demo.ids import uuid7
from trading_demo.models import Severity

# Severities in rising order: "at or above medium" compares positions in this tuple.
SEVERITY_ORDER: tuple[str, ...] = tuple(Severity.values)


def severity_at_least(severity: str, minimum: str) -> bool:
    return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(minimum)


class AlertType(models.TextChoices):
    PRICE = "price", "Price"
    RISK = "risk", "Risk"
    QUOTA = "quota", "Quota"
    APPROVAL = "approval", "Approval"
    SYSTEM = "system", "System"


class Audience(models.TextChoices):
    USER = "user", "One user"
    MANAGERS = "managers", "Managers"


class Alert(models.Model):
    """Something a user (the owner) or every manager and admin (audience "managers", no owner)
    should notice. A managers' alert is one row: whoever acknowledges it does so for all."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    type = models.CharField(max_length=16, choices=AlertType.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    message = models.CharField(max_length=500)
    symbol = models.CharField(
        max_length=10, blank=True, help_text="A symbol code; not a key, so alerts outlive symbols."
    )
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
    )
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.USER)
    dedupe_key = models.CharField(
        max_length=200,
        blank=True,
        help_text="The condition this alert reports; it is not raised again while unacknowledged.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="alert_owner_recent"),
            models.Index(fields=["audience", "-created_at"], name="alert_audience_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(audience="user") & Q(owner__isnull=False))
                | (Q(audience="managers") & Q(owner__isnull=True)),
                name="alert_owner_matches_audience",
            ),
            # Two partial unique indexes rather than one on (owner, audience, dedupe_key):
            # managers' alerts have no owner, and a NULL never equals another NULL in a unique
            # index (SQLite has no NULLS NOT DISTINCT), so one index would never dedupe them.
            models.UniqueConstraint(
                fields=["owner", "dedupe_key"],
                condition=Q(audience="user", acknowledged_at__isnull=True) & ~Q(dedupe_key=""),
                name="alert_open_dedupe_user",
            ),
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(audience="managers", acknowledged_at__isnull=True) & ~Q(dedupe_key=""),
                name="alert_open_dedupe_managers",
            ),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.message}"

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def is_high(self) -> bool:
        return severity_at_least(self.severity, Severity.HIGH)


class PriceCondition(models.TextChoices):
    ABOVE = "above", "At or above"
    BELOW = "below", "At or below"


class PriceAlertState(models.TextChoices):
    ARMED = "armed", "Armed"
    TRIGGERED = "triggered", "Triggered"


class PriceAlert(models.Model):
    """A trader's "tell me when AAPL crosses 231": fires once, then waits to be re-armed."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="price_alerts"
    )
    symbol = models.ForeignKey("trades.Symbol", on_delete=models.PROTECT, related_name="+")
    condition = models.CharField(max_length=8, choices=PriceCondition.choices)
    threshold = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    state = models.CharField(
        max_length=12, choices=PriceAlertState.choices, default=PriceAlertState.ARMED
    )
    created_at = models.DateTimeField(default=timezone.now)
    triggered_at = models.DateTimeField(null=True, blank=True)
    triggered_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The market process asks "which armed alerts of this symbol" on every tick.
            models.Index(fields=["symbol", "state"], name="pricealert_symbol_state"),
            models.Index(fields=["user", "-created_at"], name="pricealert_user_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gt=0), name="pricealert_threshold_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.condition} {self.threshold}"

    @property
    def is_armed(self) -> bool:
        return self.state == PriceAlertState.ARMED


class SlackMessage(models.Model):
    """The Slack outbox: written in the transaction of what it announces, posted later by the
    `deliver_slack` worker, retried with backoff until Slack takes it."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    payload = models.JSONField()
    # Where to post it: blank is the channel's webhook; a reply to a button click goes to the
    # `response_url` Slack gave with the click.
    url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["delivered_at", "next_attempt_at"], name="slack_pending_due"),
        ]

    def __str__(self) -> str:
        return str(self.payload.get("text", ""))[:80] or str(self.pk)

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at is not None
