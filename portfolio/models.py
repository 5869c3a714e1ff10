from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from trading_demo.ids import uuid7


class Account(models.Model):
    """A user's paper account. Cash changes only through fills (and a reset)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account"
    )
    cash = models.DecimalField(max_digits=16, decimal_places=2)
    reserved_cash = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    starting_cash = models.DecimalField(max_digits=16, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cash__gte=0), name="account_cash_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(reserved_cash__gte=0)
                & models.Q(reserved_cash__lte=models.F("cash")),
                name="account_reserved_within_cash",
            ),
        ]

    def __str__(self) -> str:
        return f"account of {self.user}"

    @property
    def buying_power(self) -> Decimal:
        return self.cash - self.reserved_cash


class Position(models.Model):
    """Shares held in one symbol. `cost_basis` is what the held shares cost, to the cent; the
    average cost is derived from it, so realised + unrealised P&L add up exactly."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="positions")
    symbol = models.ForeignKey("trades.Symbol", on_delete=models.PROTECT, related_name="positions")
    quantity = models.IntegerField(default=0)
    reserved_quantity = models.IntegerField(default=0)
    cost_basis = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    realized_pnl = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="position_no_short"),
            models.CheckConstraint(
                condition=models.Q(reserved_quantity__gte=0)
                & models.Q(reserved_quantity__lte=models.F("quantity")),
                name="position_reserved_within_held",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.symbol_id}"

    @property
    def available_quantity(self) -> int:
        return self.quantity - self.reserved_quantity

    @property
    def average_cost(self) -> Decimal:
        if not self.quantity:
            return Decimal("0")
        return (self.cost_basis / self.quantity).quantize(Decimal("0.0001"))


class RealizedTrade(models.Model):
    """One line of the realised P&L statement: a sell fill and what it realised."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="realized")
    symbol = models.ForeignKey("trades.Symbol", on_delete=models.PROTECT, related_name="+")
    execution = models.ForeignKey(
        "trades.Execution", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=14, decimal_places=2)
    cost_basis = models.DecimalField(max_digits=16, decimal_places=2)
    realized_pnl = models.DecimalField(max_digits=16, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="realized_recent_idx")]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.quantity} @ {self.price}: {self.realized_pnl}"


class EquitySnapshot(models.Model):
    """The account's value at a moment: on every fill and every minute while the market runs.
    The equity and P&L curves are drawn from these."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="snapshots")
    at = models.DateTimeField(default=timezone.now)
    cash = models.DecimalField(max_digits=16, decimal_places=2)
    positions_value = models.DecimalField(max_digits=16, decimal_places=2)
    equity = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["account", "at"], name="snapshot_account_at_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.at:%Y-%m-%d %H:%M} {self.equity}"
