"""Which API requests are billable, and the quota gate in front of them.

Each DRF view may say what one request costs: `billable = {"GET": "portfolio.get"}`; views
that say nothing bill every method as `api.call`; `billable = None` marks a view free (auth,
the metering reads, so a trader can still see why they were refused). Order placement and
cancels are billed as `trade.execute` / `trade.cancel` by the order services themselves.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from metering.models import Operation
from metering.services import quota_ensure_available, usage_record


def operation_for(request: Request, view: Any) -> str | None:
    billable = getattr(view, "billable", {})
    if billable is None:
        return None
    return billable.get(request.method, Operation.API_CALL)  # type: ignore[no-any-return]


class BillableRequest(BaseThrottle):
    """Refuses billable requests over quota (429 `quota_exceeded`) and records the others.

    A DRF throttle because throttles run after authentication and before the view, for every
    API class, which is exactly where a per-request charge belongs.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return True
        operation = operation_for(request, view)
        if not operation:
            # Free, or billed by its own service, which checks the quota itself (orders check
            # it under their lock, so concurrent orders cannot overspend it).
            return True
        quota_ensure_available(user_id=user.pk)
        usage_record(
            user_id=user.pk,
            operation=operation,
            metadata={"path": request.path, "method": request.method or ""},
        )
        return True
