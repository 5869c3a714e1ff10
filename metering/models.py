from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from trading_demo.ids import uuid7


class Operation(models.TextChoices):
    TRADE_EXECUTE = "trade.execute", "Trade executed"
    TRADE_CANCEL = "trade.cancel", "Trade cancelled"
    PORTFOLIO_GET = "portfolio.get", "Portfolio read"
    API_CALL = "api.call", "API call"


class UsageRecord(models.Model):
    """One billable operation, written in the same transaction as the operation itself (the
    outbox). The delivery worker sends it to the metering service; its id is the event id, so
    a resend after a lost acknowledgement is counted once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage"
    )
    operation = models.CharField(max_length=32, choices=Operation.choices)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=6)
    occurred_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["user", "occurred_at"], name="usage_user_time_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="usage_delivery_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} x{self.quantity} ({self.status})"

    @property
    def cost(self) -> Decimal:
        return self.unit_price * self.quantity


class UsageCounter(models.Model):
    """A user's billable operations in one month (UTC), kept with every record so a quota check
    reads one row instead of summing the month's records."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.CharField(max_length=7, help_text="YYYY-MM, UTC")
    used = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "month"], name="usage_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.month}: {self.used}"


class Quota(models.Model):
    """A user's monthly limit of billable operations, when it differs from the default.
    Managers set it in admin; it is forwarded to the metering service (`synced_at`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota"
    )
    monthly_limit = models.PositiveIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)
    synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.monthly_limit}/month"


class QuotaThreshold(models.Model):
    """An alert level (metering/quota_rules.py: warning, critical, 100 %) a user reached in a
    month: one alert each, per month."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.CharField(max_length=7)
    threshold = models.PositiveSmallIntegerField()
    crossed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "month", "threshold"], name="quota_threshold_once_per_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.month} {self.threshold} %"
