from __future__ import annotations

from django.db import models


class Ticket(models.Model):
    """One row per POST: the same fields an order request carries."""

    client_order_id = models.CharField(max_length=48, unique=True)
    symbol = models.CharField(max_length=10)
    type = models.CharField(max_length=4, choices=[("BUY", "BUY"), ("SELL", "SELL")])
    quantity = models.PositiveIntegerField()
    order_type = models.CharField(max_length=10)
    time_in_force = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.client_order_id
