"""Approval requests for HIGH-risk orders, and who a Slack user is here.

The oversight service keeps its own record of every evaluation and decision; these rows are the
Django side's copy that the order flow, admin, the API, the page and Slack work from. Decisions
are written once (first one wins) and never edited: the admin shows them read-only.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from trading_demo.ids import uuid7


class ApprovalState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"  # the order was cancelled before anyone decided


class DecisionChannel(models.TextChoices):
    ADMIN = "admin", "Django admin"
    API = "api", "API"
    PAGE = "page", "Approvals page"
    SLACK = "slack", "Slack"
    SYSTEM = "system", "System"
    OVERSIGHT = "oversight", "Oversight service"  # decided on the service itself


class ApprovalRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    order = models.OneToOneField(
        "trades.Order", on_delete=models.CASCADE, related_name="approval_request"
    )
    trader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approval_requests"
    )
    symbol = models.ForeignKey("trades.Symbol", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="The order's estimated execution price."
    )
    notional = models.DecimalField(max_digits=16, decimal_places=2)
    risk_level = models.CharField(max_length=8)
    risk_score = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list)
    evaluation_id = models.CharField(max_length=64, blank=True)
    # The trader's account when the order was scored: cash, equity, the position in the symbol.
    portfolio_snapshot = models.JSONField(default=dict)
    state = models.CharField(
        max_length=10, choices=ApprovalState.choices, default=ApprovalState.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approval_decisions",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    decided_via = models.CharField(max_length=10, choices=DecisionChannel.choices, blank=True)
    # What the decision saw: the current price, the re-run pre-trade checks, the risk facts.
    decision_snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "expires_at"], name="approval_state_expiry"),
            models.Index(fields=["trader", "-created_at"], name="approval_trader_recent"),
        ]
        permissions = [("decide_approvalrequest", "Can approve or reject approval requests")]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol_id} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state == ApprovalState.PENDING

    def is_due(self, now: datetime | None = None) -> bool:
        return self.is_pending and self.expires_at <= (now or timezone.now())


class SlackManager(models.Model):
    """A Slack user who may decide approvals from Slack's buttons, as this manager."""

    slack_user_id = models.CharField(
        max_length=32, unique=True, help_text="Slack's member id, like U024BE7LH."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_identities"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slack_user_id"]
        verbose_name = "Slack manager"

    def __str__(self) -> str:
        return f"{self.slack_user_id} → {self.user}"
