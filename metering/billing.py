"""What an API call costs, and when it is billed.

A user pays for answered calls only: a response with a 2xx or 3xx status. Refusals (400, 401,
403, 404, 405, 409, 422, 429 — rate limit and quota alike) and failures (5xx) are free. README
"Metering" says the same.

Each DRF view may say what one request costs: `billable = {"GET": "portfolio.get"}`; views
that say nothing bill every method as `api.call`; `billable = None` marks a view free (the
metering reads, so a trader over quota can still see why). A method mapped to `""` is billed
by its own service (orders as `trade.execute` when they execute, cancels as `trade.cancel`,
`/api/metering/track` as the tracked operation), never here. Only views that run the quota gate
are billed: a call that could not have been refused for quota (sign-in, token refresh, views
with their own throttles) is never charged for it.

Two parts, because the status is known only after the view:
- `QuotaGate`, a DRF throttle, refuses a billable call over quota before the view runs (429
  `quota_exceeded`), so no work is done for a call that will not be answered.
- `BillingMiddleware` runs the view and bills it once its status is known. A view that may
  write (POST, PUT, PATCH, DELETE) runs in one transaction with its usage record: the work
  and the bill commit together or not at all. A read is billed in its own short transaction
  after it, so reads never hold SQLite's write lock while they run. The bill counts exactly
  (`usage_record(within_quota=True)`): when concurrent calls passed the gate together and this
  one would go past the limit, it is refused with 429 after all and its work rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from metering.models import Operation
from metering.services import quota_ensure_available, usage_record
from trading_demo.errors import QuotaExceeded, error_body

if TYPE_CHECKING:
    # Not at run time: rest_framework.views loads the throttle classes from settings, this
    # module among them.
    from rest_framework.request import Request
    from rest_framework.views import APIView


def is_billed(status_code: int) -> bool:
    """The billing rule: answered calls are billed, refusals and failures are not."""
    return 200 <= status_code < 400


def _operation(view_class: type[APIView], initkwargs: dict[str, Any], method: str) -> str:
    """What one `method` call of the view costs here ("" when free or billed elsewhere)."""
    billable = initkwargs.get("billable", getattr(view_class, "billable", {}))
    if billable is None or QuotaGate not in getattr(view_class, "throttle_classes", ()):
        return ""
    return str(billable.get(method, Operation.API_CALL))


class QuotaGate(BaseThrottle):
    """Refuses billable calls over quota (429 `quota_exceeded`) before the view runs.

    A DRF throttle because throttles run after authentication and before the view, for every
    API class. It only reads: the bill is written by BillingMiddleware once the call is
    answered.
    """

    def allow_request(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user and user.is_authenticated and _operation(type(view), {}, request.method or ""):
            quota_ensure_available(user_id=user.pk)
        return True


class BillingMiddleware:
    """Bills a DRF view's answered calls (the last middleware: it runs the view itself)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        # DRF's as_view() marks its views with the class (plain Django views and pages: free).
        view_class = getattr(view_func, "cls", None)
        if view_class is None:
            return None
        method = request.method or ""
        operation = _operation(view_class, getattr(view_func, "initkwargs", {}), method)
        if not operation:
            return None
        if method in SAFE_METHODS:
            response = view_func(request, *view_args, **view_kwargs)
            return _bill(request, response, operation, with_work=False)
        with transaction.atomic():
            response = view_func(request, *view_args, **view_kwargs)
            if response.status_code >= 500:
                # The view failed half-way: nothing it wrote stays.
                transaction.set_rollback(True)
                return response
            return _bill(request, response, operation, with_work=True)


def _bill(
    request: HttpRequest, response: HttpResponse, operation: str, *, with_work: bool
) -> HttpResponse:
    """Record the call's usage (`with_work`: inside the view's transaction); a call that would
    take the month past the quota is refused after all, and the view's work rolled back."""
    user = getattr(request, "user", None)  # DRF sets the authenticated user here too
    if not (user is not None and user.is_authenticated and is_billed(response.status_code)):
        return response
    try:
        usage_record(
            user_id=user.pk,
            operation=operation,
            metadata={"path": request.path, "method": request.method or ""},
            within_quota=True,
        )
    except QuotaExceeded as exc:
        if with_work:
            transaction.set_rollback(True)  # the view's work goes with its refused bill
        return JsonResponse(error_body(exc.code, exc.message, exc.details), status=429)
    return response
