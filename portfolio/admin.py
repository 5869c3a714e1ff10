from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portfolio.models import Account, Position


class PositionInline(admin.TabularInline):
    model = Position
    extra = 0
    fields = (
        "symbol",
        "quantity",
        "reserved_quantity",
        "cost_basis",
        "average_cost",
        "realized_pnl",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Read-only: cash and positions change only through fills."""

    list_display = ["user", "cash", "reserved_cash", "starting_cash", "created_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "cash", "reserved_cash", "starting_cash", "created_at"]
    inlines = [PositionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
