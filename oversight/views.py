"""The Approvals page (managers): the live queue of pending requests with Approve and Reject
forms, and the most recent decisions. The forms work as plain posts; htmx swaps the queue in
place, and the page socket re-renders it whenever a request arrives or is decided
(oversight/ui.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from oversight.forms import DecisionForm
from oversight.models import ApprovalRequest, ApprovalState, DecisionChannel
from oversight.selectors import pending_queue, recent_decisions
from oversight.services.decisions import approval_decide
from trading_demo.errors import DomainError
from trading_demo.models import User
from trading_demo.pages import AuthedHtmxRequest, manager_required

PAGE = "oversight/approvals.html"
QUEUE_TARGET = "approval-queue"
QUEUE_ROWS = 100
RECENT_ROWS = 20
URGENT_SECONDS = 120


@dataclass(frozen=True)
class QueueRow:
    approval: ApprovalRequest
    seconds_left: int
    own: bool  # the manager's own order: someone else decides it

    @property
    def urgent(self) -> bool:
        return self.seconds_left < URGENT_SECONDS


def queue_context(user: User) -> dict[str, Any]:
    now = timezone.now()
    rows = [
        QueueRow(
            approval=approval,
            seconds_left=max(0, int((approval.expires_at - now).total_seconds())),
            own=approval.trader_id == user.pk,
        )
        for approval in pending_queue(limit=QUEUE_ROWS)
    ]
    return {"queue": rows, "queue_full": len(rows) == QUEUE_ROWS, "user": user}


def recent_context(user: User) -> dict[str, Any]:
    return {"recent": recent_decisions(user=user, limit=RECENT_ROWS)}


@manager_required
def approvals(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    if request.htmx and request.htmx.target == QUEUE_TARGET:
        # The queue's own refresh (its time-left column) or anything else targeting it.
        return render(request, f"{PAGE}#queue", queue_context(user))
    return render(request, PAGE, queue_context(user) | recent_context(user))


@manager_required
@require_POST
def approval_approve(request: AuthedHtmxRequest, approval_id: UUID) -> HttpResponse:
    return _decide(request, approval_id, approve=True)


@manager_required
@require_POST
def approval_reject(request: AuthedHtmxRequest, approval_id: UUID) -> HttpResponse:
    return _decide(request, approval_id, approve=False)


def _decide(request: AuthedHtmxRequest, approval_id: UUID, *, approve: bool) -> HttpResponse:
    user = request.user
    outcome: dict[str, Any] = {}
    status = 200
    form = DecisionForm(request.POST, approve=approve)
    if not form.is_valid():
        outcome = {"error": form.errors["reason"][0], "reason_error_for": approval_id}
        status = 400
    else:
        try:
            approval = approval_decide(
                approval_id=approval_id,
                manager=user,
                approve=approve,
                reason=form.cleaned_data["reason"],
                via=DecisionChannel.PAGE,
            )
        except DomainError as exc:
            outcome = {"error": exc.message}
            status = exc.status_code
        else:
            outcome = _outcome(approval, approve=approve)
    if not request.htmx:
        if status == 200:
            level = messages.SUCCESS if "notice" in outcome else messages.WARNING
            messages.add_message(request, level, outcome.get("notice") or outcome["error"])
            return redirect("approvals")
        context = queue_context(user) | recent_context(user) | outcome
        return render(request, PAGE, context, status=status)
    # htmx swaps 2xx responses only: a refusal is shown in the page, next to what it refused.
    html = render_to_string(f"{PAGE}#decision-result", outcome, request=request)
    oob = {"oob": True}
    for part, context in (
        ("queue", queue_context(user) | outcome),
        ("recent", recent_context(user)),
    ):
        html += render_to_string(f"{PAGE}#{part}", context | oob, request=request)
    return HttpResponse(html)


def _outcome(approval: ApprovalRequest, *, approve: bool) -> dict[str, str]:
    order = f"{approval.side} {approval.quantity} {approval.symbol_id}"
    trader = approval.trader.email
    if approval.state == ApprovalState.APPROVED:
        return {"notice": f"Approved {order} for {trader}."}
    if approve:
        # The pre-trade checks ran again at approval and one failed: the service rejected it.
        return {"error": f"Not approved: {order} for {trader}. {approval.decision_reason}"}
    return {"notice": f"Rejected {order} for {trader}."}
