from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from alerts.models import Alert, PriceAlert, SlackMessage
from alerts.selectors import alerts_visible_to
from alerts.services import alert_acknowledge, slack_messages_retry_now
from trading_demo.admin_readonly import ReadOnlyAdmin


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "severity",
        "type",
        "message",
        "symbol",
        "owner",
        "audience",
        "acknowledged_at",
        "acknowledged_by",
    ]
    list_filter = [
        ("acknowledged_at", admin.EmptyFieldListFilter),
        "severity",
        "type",
        "audience",
    ]
    search_fields = ["message", "symbol", "owner__email", "dedupe_key"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "acknowledged_by"]
    actions = ["acknowledge"]

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.action(description="Acknowledge the selected alerts", permissions=["acknowledge"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        # The same rule as everywhere: you acknowledge the managers' alerts and your own, not
        # a trader's on their behalf.
        user = request.user
        mine = alerts_visible_to(user=user).filter(pk__in=queryset.values("pk"))  # type: ignore[arg-type]
        done = 0
        for alert_id in mine.filter(acknowledged_at__isnull=True).values_list("pk", flat=True):
            alert_acknowledge(user=user, alert_id=alert_id)  # type: ignore[arg-type]
            done += 1
        skipped = queryset.count() - mine.count()
        text = f"Acknowledged {done} alert(s)."
        if skipped:
            text += f" Skipped {skipped} that belong to other users."
        messages.success(request, text)


@admin.register(PriceAlert)
class PriceAlertAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "user",
        "symbol",
        "condition",
        "threshold",
        "state",
        "triggered_at",
        "triggered_price",
    ]
    list_filter = ["state", "condition", "symbol"]
    search_fields = ["user__email", "symbol__symbol", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "symbol"]


@admin.register(SlackMessage)
class SlackMessageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "__str__",
        "url",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    ]
    list_filter = [("delivered_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("alerts.change_slackmessage")

    @admin.action(description="Retry the selected messages now", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[SlackMessage]) -> None:
        count = slack_messages_retry_now(message_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} undelivered message(s) will be sent on the next pass.")
