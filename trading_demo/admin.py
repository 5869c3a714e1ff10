from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from trading_demo.admin_readonly import ReadOnlyAdmin
from trading_demo.models import ApiToken, AuditEvent, User
from trading_demo.services import user_set_role

admin.site.site_header = "Trading Demo administration"
admin.site.site_title = "Trading Demo admin"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "display_name"]
    readonly_fields = ["last_login", "date_joined", "is_staff", "is_superuser"]
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name")}),
        ("Access", {"fields": ("role", "is_active", "is_staff", "is_superuser")}),
        ("Preferences", {"fields": ("theme", "toast_min_severity", "slack_min_severity")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),
    )
    filter_horizontal = ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Staff flags and group membership follow the role (one write path for roles).
        user_set_role(user=obj, role=obj.role)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "hint", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__email"]
    readonly_fields = ["user", "name", "hint", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log (approval decisions, expiries, risk-rule and kill-switch changes, account
    resets): read-only, newest first."""

    list_display = ["at", "action", "actor", "target_type", "target_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["action", "target_id", "actor__email"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
