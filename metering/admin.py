from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from metering.models import Quota, UsageRecord
from metering.services import quota_set
from trading_demo.admin_readonly import ReadOnlyAdmin


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    """Managers set a user's monthly quota here; it is forwarded to the metering service."""

    list_display = ["user", "monthly_limit", "updated_at", "synced_at"]
    search_fields = ["user__email"]
    readonly_fields = ["updated_at", "synced_at"]
    autocomplete_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        quota_set(user=obj.user, limit=obj.monthly_limit)


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "user",
        "operation",
        "quantity",
        "unit_price",
        "status",
        "attempts",
    ]
    list_filter = ["status", "operation"]
    search_fields = ["user__email", "id"]
    date_hierarchy = "occurred_at"
