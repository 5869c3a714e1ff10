"""Approval requests in the Django admin: the managers' list, a read-only detail page with
Approve and Reject buttons, and bulk Approve / Reject actions that ask for a reason first.

Every decision goes through `approval_decide` / `approvals_decide` (via ADMIN), which also
enforce who may decide what; the admin only reports what they said.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from oversight import client as oversight
from oversight.forms import DecisionForm
from oversight.models import ApprovalRequest, ApprovalState, DecisionChannel, SlackManager
from oversight.services.decisions import approval_decide, approvals_decide
from trading_demo.admin_readonly import ReadOnlyAdmin
from trading_demo.errors import DomainError
from trading_demo.models import Role, User

DECIDE_TEMPLATE = "admin/oversight/approvalrequest/decide_selected.html"

SNAPSHOT_LABELS = {
    "cash": "Cash",
    "equity": "Equity",
    "position_quantity": "Position in the symbol (shares)",
    "reference_price": "Reference price",
    "recent_order_count": "Orders in the last minute",
}
DECISION_SNAPSHOT_LABELS = {
    "pre_trade_check": "Pre-trade check at decision",
    "reference_price": "Reference price",
    "last_price": "Last price",
    "halted": "Symbol halted",
    "risk_level": "Risk level",
    "risk_score": "Risk score",
    "reasons": "Risk reasons",
}


def _order_text(approval: ApprovalRequest) -> str:
    return f"{approval.side} {approval.quantity} {approval.symbol_id} @ {approval.price}"


def _label(approval: ApprovalRequest) -> str:
    return f"{_order_text(approval)} for {approval.trader.email}"


def _duration(delta: timedelta) -> str:
    """Short enough for a list column: 45 s, 14 min, 2 h 5 min."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _key_values(data: dict[str, Any], labels: dict[str, str]) -> SafeString | str:
    """A JSON snapshot as a small table: known keys first with their labels, then the rest."""
    if not data:
        return "—"
    keys = [key for key in labels if key in data] + [key for key in data if key not in labels]

    def shown(value: Any) -> str:
        if isinstance(value, list):
            return "; ".join(str(item) for item in value) or "—"
        return str(value)

    rows = format_html_join(
        "",
        "<tr><th scope='row'>{}</th><td>{}</td></tr>",
        ((labels.get(key, key), shown(data[key])) for key in keys),
    )
    return format_html("<table class='approval-snapshot'><tbody>{}</tbody></table>", rows)


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "order_summary",
        "trader",
        "notional_usd",
        "risk",
        "age",
        "expires",
        "state",
        "decided_by",
    ]
    list_filter = [
        "state",
        "risk_level",
        ("symbol", admin.RelatedOnlyFieldListFilter),
        ("trader", admin.RelatedOnlyFieldListFilter),
        "decided_via",
    ]
    search_fields = ["trader__email", "symbol__symbol"]
    date_hierarchy = "created_at"
    list_select_related = ["trader", "decided_by"]
    actions = ["approve_selected", "reject_selected"]
    fieldsets = [
        (
            "Order",
            {
                "fields": [
                    "order_link",
                    "order_status",
                    "trader",
                    "notional_usd",
                    "created_at",
                    "expires",
                ]
            },
        ),
        ("Risk", {"fields": ["risk", "reason_list", "evaluation_id"]}),
        ("Trader's portfolio at submission", {"fields": ["portfolio_at_submission"]}),
        (
            "Decision",
            {"fields": ["state", "decided_by", "decided_at", "decided_via", "decision_reason"]},
        ),
        ("Decision audit snapshot", {"fields": ["decision_audit"]}),
        (
            "The oversight service's record",
            {"fields": ["service_request", "service_evaluation"]},
        ),
    ]
    # Everything is read-only: a decision is made by the actions, never by editing fields.
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalRequest]:
        return super().get_queryset(request).select_related("order", "trader", "decided_by")

    # --- columns and fields --------------------------------------------------------------

    @admin.display(description="Order")
    def order_summary(self, obj: ApprovalRequest) -> str:
        return _order_text(obj)

    @admin.display(description="Order")
    def order_link(self, obj: ApprovalRequest) -> str:
        url = reverse("admin:trades_order_change", args=[obj.order_id])
        return format_html(
            "<a href='{}'>{} {} {} {}</a> <span class='quiet'>({}, estimated at {})</span>",
            url,
            obj.side,
            obj.quantity,
            obj.symbol_id,
            obj.order.get_order_type_display(),
            obj.order.time_in_force,
            obj.price,
        )

    @admin.display(description="Order status")
    def order_status(self, obj: ApprovalRequest) -> str:
        return obj.order.get_status_display()

    @admin.display(description="Notional (USD)", ordering="notional")
    def notional_usd(self, obj: ApprovalRequest) -> Decimal:
        return obj.notional

    @admin.display(description="Score / level", ordering="risk_score")
    def risk(self, obj: ApprovalRequest) -> str:
        return f"{obj.risk_score} · {obj.risk_level}"

    @admin.display(description="Age", ordering="-created_at")
    def age(self, obj: ApprovalRequest) -> str:
        return _duration(timezone.now() - obj.created_at)

    @admin.display(description="Expires", ordering="expires_at")
    def expires(self, obj: ApprovalRequest) -> str:
        at = timezone.localtime(obj.expires_at).strftime("%H:%M:%S")
        if not obj.is_pending:
            return f"at {at}"
        if obj.is_due():
            return f"overdue (at {at})"
        return f"in {_duration(obj.expires_at - timezone.now())} (at {at})"

    @admin.display(description="Risk reasons")
    def reason_list(self, obj: ApprovalRequest) -> SafeString | str:
        if not obj.reasons:
            return "—"
        items = format_html_join("", "<li>{}</li>", ((reason,) for reason in obj.reasons))
        return format_html("<ul class='approval-reasons'>{}</ul>", items)

    @admin.display(description="Snapshot")
    def portfolio_at_submission(self, obj: ApprovalRequest) -> SafeString | str:
        return _key_values(obj.portfolio_snapshot, SNAPSHOT_LABELS)

    @admin.display(description="What the decision saw")
    def decision_audit(self, obj: ApprovalRequest) -> SafeString | str:
        return _key_values(obj.decision_snapshot, DECISION_SNAPSHOT_LABELS)

    @admin.display(description="Approval request")
    def service_request(self, obj: ApprovalRequest) -> SafeString | str:
        """The service's own copy, read live: it should say what this page says."""
        try:
            remote = oversight.approval_status(approval_id=obj.pk)
        except DomainError as exc:
            return f"Not available: {exc.message}"
        return _key_values(
            {
                "state": remote.state,
                "decided_by": remote.decided_by or "—",
                "decided_at": remote.decided_at.isoformat() if remote.decided_at else "—",
                "reason": remote.reason or "—",
                "score": f"{remote.score} ({remote.level})",
                "expires_at": remote.expires_at.isoformat() if remote.expires_at else "—",
            },
            {},
        )

    @admin.display(description="Evaluation, with the inputs it scored")
    def service_evaluation(self, obj: ApprovalRequest) -> SafeString | str:
        if not obj.evaluation_id:
            return "—"
        try:
            stored = oversight.get_evaluation(evaluation_id=obj.evaluation_id)
        except DomainError as exc:
            return f"Not available: {exc.message}"
        evaluated_at = stored.evaluated_at.isoformat() if stored.evaluated_at else "—"
        return _key_values({"evaluated_at": evaluated_at, **stored.inputs}, {})

    # --- who may decide ------------------------------------------------------------------

    def has_decide_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("oversight.decide_approvalrequest")

    # --- bulk actions --------------------------------------------------------------------

    @admin.action(description="Approve the selected requests", permissions=["decide"])
    def approve_selected(
        self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]
    ) -> HttpResponse | None:
        return self._decide_selected(request, queryset, approve=True)

    @admin.action(description="Reject the selected requests", permissions=["decide"])
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]
    ) -> HttpResponse | None:
        return self._decide_selected(request, queryset, approve=False)

    def _decide_selected(
        self, request: HttpRequest, queryset: QuerySet[ApprovalRequest], *, approve: bool
    ) -> HttpResponse | None:
        """First an intermediate page (the requests, a reason field); its form posts back to
        this action with `post=yes`, like Django's own delete confirmation."""
        approvals = list(queryset.select_related("trader", "order"))
        pending = [approval for approval in approvals if approval.is_pending]
        if not pending:
            messages.warning(request, "None of the selected requests is pending: nothing to do.")
            return None
        form = DecisionForm(approve=approve)
        if request.POST.get("post") == "yes":
            form = DecisionForm(request.POST, approve=approve)
            if form.is_valid():
                skipped = len(approvals) - len(pending)
                if skipped:
                    messages.info(request, f"Skipped {skipped} request(s) that were not pending.")
                self._decide_many(request, pending, approve, form.cleaned_data["reason"])
                return None
            messages.error(request, "Nothing was decided: see the reason field.")
        verb = "Approve" if approve else "Reject"
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} {len(pending)} approval request(s)",
            "opts": self.opts,
            "approvals": approvals,
            "pending_count": len(pending),
            "form": form,
            "approve": approve,
            "verb": verb,
            "action": "approve_selected" if approve else "reject_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, DECIDE_TEMPLATE, context)

    def _decide_many(
        self, request: HttpRequest, approvals: list[ApprovalRequest], approve: bool, reason: str
    ) -> None:
        manager: User = request.user  # type: ignore[assignment]
        decided, failures = approvals_decide(
            approval_ids=[approval.pk for approval in approvals],
            manager=manager,
            approve=approve,
            reason=reason,
            via=DecisionChannel.ADMIN,
        )
        labels = {str(approval.pk): _label(approval) for approval in approvals}
        for approval in decided:
            self._report(request, approval, approve=approve, label=labels[str(approval.pk)])
        for approval_id, message in failures.items():
            messages.error(request, f"{labels[approval_id]}: {message}")
        untried = len(approvals) - len(decided) - len(failures)
        if untried:
            messages.warning(request, f"{untried} request(s) were not tried: nothing changed.")

    @staticmethod
    def _report(
        request: HttpRequest, approval: ApprovalRequest, *, approve: bool, label: str
    ) -> None:
        if approval.state == ApprovalState.APPROVED:
            messages.success(request, f"Approved: {label}.")
        elif approve:
            # The pre-trade checks ran again at approval and one failed: the service rejected it.
            messages.warning(request, f"Not approved: {label}. {approval.decision_reason}")
        else:
            messages.success(request, f"Rejected: {label}.")

    # --- Approve / Reject buttons on the change page -------------------------------------

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        own = [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(require_POST(self.approve_view)),
                name="{}_{}_approve".format(*info),
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(require_POST(self.reject_view)),
                name="{}_{}_reject".format(*info),
            ),
        ]
        # Before the defaults: their "<path:object_id>/" catch-all would take these.
        return own + super().get_urls()

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._decide_one(request, object_id, approve=True)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._decide_one(request, object_id, approve=False)

    def _decide_one(self, request: HttpRequest, object_id: str, *, approve: bool) -> HttpResponse:
        approval = self.get_object(request, unquote(object_id))
        if approval is None:
            messages.warning(request, "No such approval request.")
            return HttpResponseRedirect(reverse("admin:oversight_approvalrequest_changelist"))
        if not self.has_decide_permission(request, approval):
            raise PermissionDenied
        change_url = reverse("admin:oversight_approvalrequest_change", args=[approval.pk])
        form = DecisionForm(request.POST, approve=approve)
        if not form.is_valid():
            messages.error(request, f"Nothing was decided. {form.errors['reason'][0]}")
            return HttpResponseRedirect(change_url)
        manager: User = request.user  # type: ignore[assignment]
        try:
            decided = approval_decide(
                approval_id=approval.pk,
                manager=manager,
                approve=approve,
                reason=form.cleaned_data["reason"],
                via=DecisionChannel.ADMIN,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            self._report(request, decided, approve=approve, label=_label(approval))
        return HttpResponseRedirect(change_url)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "decision": self._decision_panel(request, object_id),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _decision_panel(self, request: HttpRequest, object_id: str) -> dict[str, Any] | None:
        """What the change page offers: the two forms for a pending request and a manager who
        may decide it, a note when it is their own order, nothing once it is decided."""
        approval = self.get_object(request, unquote(object_id))
        if approval is None or not approval.is_pending or not self.has_decide_permission(request):
            return None
        return {
            "own": approval.trader_id == request.user.pk,
            "approve_url": reverse("admin:oversight_approvalrequest_approve", args=[approval.pk]),
            "reject_url": reverse("admin:oversight_approvalrequest_reject", args=[approval.pk]),
            "approve_form": DecisionForm(approve=True, auto_id="id_approve_%s"),
            "reject_form": DecisionForm(approve=False, auto_id="id_reject_%s"),
        }


@admin.register(SlackManager)
class SlackManagerAdmin(admin.ModelAdmin):
    """Which Slack member decides as which manager. Managers see the list; admins edit it."""

    list_display = ["slack_user_id", "user", "user_role", "created_at"]
    search_fields = ["slack_user_id", "user__email"]
    list_select_related = ["user"]
    fields = ["slack_user_id", "user", "created_at"]
    readonly_fields = ["created_at"]

    @admin.display(description="Role", ordering="user__role")
    def user_role(self, obj: SlackManager) -> str:
        return obj.user.get_role_display()

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.name == "user":
            # Only someone who may decide in the app may decide from Slack.
            kwargs["queryset"] = User.objects.filter(
                role__in=[Role.MANAGER, Role.ADMIN], is_active=True
            ).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
