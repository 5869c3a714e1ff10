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
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="positions")
    symbol = models.ForeignKey("trades.Symbol", on_delete=models.PROTECT, related_name="positions")
    quantity = models.IntegerField(default=0)
    reserved_quantity = models.IntegerField(default=0)
    average_cost = models.DecimalField(max_digits=16, decimal_places=4, default=Decimal("0"))
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
