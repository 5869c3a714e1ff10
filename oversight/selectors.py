"""Reads of approval requests: the managers' queue and one request."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.core.cache import cache
from django.db.models import QuerySet

from oversight import client as oversight
from oversight.models import ApprovalRequest, ApprovalState
from trading_demo.models import User


def approvals_for(
    *,
    user: User,
    state: str | None = None,
    symbol: str | None = None,
    trader_id: UUID | None = None,
    since: datetime | None = None,
) -> QuerySet[ApprovalRequest]:
    """Requests `user` may see, newest first: managers and admins see all; anyone else only
    the requests for their own orders."""
    approvals = ApprovalRequest.objects.select_related("order", "trader", "decided_by")
    if not user.is_manager:
        approvals = approvals.filter(trader=user)
    if state:
        approvals = approvals.filter(state=state)
    if symbol:
        approvals = approvals.filter(symbol_id=symbol)
    if trader_id:
        approvals = approvals.filter(trader_id=trader_id)
    if since:
        approvals = approvals.filter(created_at__gte=since)
    return approvals.order_by("-created_at", "-id")


def approval_get(*, user: User, approval_id: UUID | str) -> ApprovalRequest | None:
    return approvals_for(user=user).filter(pk=approval_id).first()


def pending_queue(*, limit: int = 100) -> list[ApprovalRequest]:
    """The pending requests, the ones expiring soonest first (the managers' work list)."""
    return list(
        ApprovalRequest.objects.select_related("order", "trader")
        .filter(state=ApprovalState.PENDING)
        .order_by("expires_at")[:limit]
    )


def recent_decisions(*, user: User, limit: int = 20) -> list[ApprovalRequest]:
    """The requests no longer pending (decided, expired, withdrawn), latest decision first."""
    return list(
        approvals_for(user=user)
        .exclude(state=ApprovalState.PENDING)
        .order_by("-decided_at", "-created_at")[:limit]
    )


TRADING_STATE_CACHE_KEY = "oversight:trading_state"
TRADING_STATE_CACHE_SECONDS = 5


def trading_state_now() -> str | None:
    """The kill switch as the pages show it (ACTIVE, REDUCING, HALTED), or None while the
    oversight service cannot say. Cached for a few seconds: every page shows it, and one
    page view must not cost a gRPC round trip; a change made here clears the cache
    (oversight/services/rules.py)."""
    state = cache.get(TRADING_STATE_CACHE_KEY)
    if state is None:
        try:
            state = oversight.get_risk_config().trading_state.value
        except oversight.OversightUnavailable:
            # Remembered too ("" = unknown): a service that is down must not cost every page
            # the call's deadline. The footer's status lights say that it is down.
            state = ""
        cache.set(TRADING_STATE_CACHE_KEY, state, TRADING_STATE_CACHE_SECONDS)
    return str(state) or None
