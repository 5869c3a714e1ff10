"""The Alerts page: the alert list (filters, acknowledge, acknowledge all), the price-alert form
with inline validation, and the trader's price alerts (delete, re-arm)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from alerts.api import PriceAlertInput
from alerts.models import AlertType, PriceCondition
from alerts.selectors import alerts_for, price_alerts_for, unread_count
from alerts.services import (
    alert_acknowledge,
    alerts_acknowledge_all,
    price_alert_create,
    price_alert_delete,
    price_alert_rearm,
)
from trades.models import Symbol
from trades.selectors import symbols_list
from trading_demo.errors import DomainError, NotFound
from trading_demo.models import Severity, User
from trading_demo.pages import AuthedHtmxRequest

PAGE = "alerts/alerts.html"
ALERTS_PER_PAGE = 50
PRICE_ALERT_ROWS = 100
FORM_FIELDS = ("symbol", "condition", "threshold", "note")


FILTER_CHOICES: dict[str, tuple[str, ...]] = {
    "acknowledged": ("false", "true"),
    "severity": tuple(Severity.values),
    "type": tuple(AlertType.values),
}


def _filters(query: QueryDict) -> dict[str, str]:
    """The list's filters as the form shows them; anything not a choice is ignored."""
    return {
        key: value
        for key, choices in FILTER_CHOICES.items()
        if (value := query.get(key, "")) in choices
    }


def alert_list_context(user: User, query: QueryDict) -> dict[str, Any]:
    filters = _filters(query)
    alerts = alerts_for(
        user=user,
        acknowledged=None if "acknowledged" not in filters else filters["acknowledged"] == "true",
        severity=filters.get("severity"),
        type=filters.get("type"),
    )
    page: Page = Paginator(alerts, ALERTS_PER_PAGE).get_page(query.get("page"))
    return {
        "alerts": list(page.object_list),
        "page_obj": page,
        "filters": filters,
        "filter_query": urlencode(filters),
        "unread": unread_count(user=user),
        "choices": {"severities": Severity.choices, "types": AlertType.choices},
    }


def price_alerts_context(user: User) -> dict[str, Any]:
    return {
        "price_alerts": list(
            price_alerts_for(user=user).select_related("symbol")[:PRICE_ALERT_ROWS]
        )
    }


def _form_defaults(symbols: list[Symbol]) -> dict[str, str]:
    first = symbols[0] if symbols else None
    return {
        "symbol": first.symbol if first else "",
        "condition": PriceCondition.ABOVE,
        "threshold": "",
        "note": "",
    }


def _form_context(form: dict[str, str]) -> dict[str, Any]:
    symbols = list(symbols_list()[:100])
    form = form or _form_defaults(symbols)
    return {
        "symbols": symbols,
        "form": form,
        "quote": next((s for s in symbols if s.symbol == form.get("symbol")), None),
        "conditions": PriceCondition.choices,
    }


@login_required
def alerts(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    context = alert_list_context(user, request.GET)
    if request.htmx and request.htmx.target == "alert-list":
        return render(request, f"{PAGE}#alert-list", context)
    context |= price_alerts_context(user) | _form_context({})
    return render(request, PAGE, context)


def _list_response(request: AuthedHtmxRequest, user: User, **extra: Any) -> HttpResponse:
    """After acknowledging: the list again, with the filters the page had, and the bell."""
    if not request.htmx:
        return redirect("alerts")
    context = alert_list_context(user, request.POST) | extra
    html = render_to_string(f"{PAGE}#alert-list", context, request=request)
    html += render_to_string(
        "alerts/bell.html#bell", {"unread": context["unread"], "oob": True}, request=request
    )
    return HttpResponse(html)


@login_required
@require_POST
def alert_acknowledge_view(request: AuthedHtmxRequest, alert_id: Any) -> HttpResponse:
    user = request.user
    try:
        alert_acknowledge(user=user, alert_id=alert_id)
    except NotFound:
        return HttpResponse("No such alert.", status=404)
    if request.htmx and (request.htmx.target or "").startswith("toast-"):
        # From a toast: it removes itself; the page socket brings the new unread count.
        return HttpResponse("")
    return _list_response(request, user)


@login_required
@require_POST
def alerts_acknowledge_all_view(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    count = alerts_acknowledge_all(user=user)
    return _list_response(request, user, acknowledged_count=count)


def _parse_form(post: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The form through the API's own validation, so page and API agree."""
    raw = {field: post.get(field, "").strip() for field in FORM_FIELDS}
    serializer = PriceAlertInput(data={key: value for key, value in raw.items() if value != ""})
    if serializer.is_valid():
        return dict(serializer.validated_data), {}
    return {}, {key: [str(e) for e in value] for key, value in serializer.errors.items()}


@login_required
@require_POST
def price_alert_validate(request: AuthedHtmxRequest) -> HttpResponse:
    """Inline validation while the trader types: the error (or none) of one field, and the
    selected symbol's last price next to the form."""
    field = request.POST.get("_field", "")
    if field not in FORM_FIELDS:
        return HttpResponse(status=400)
    _, errors = _parse_form(request.POST)
    html = render_to_string(
        f"{PAGE}#field-error", {"field": field, "message": (errors.get(field) or [""])[0]}
    )
    if field == "symbol":
        quote = Symbol.objects.filter(pk=request.POST.get("symbol", "")).first()
        html += render_to_string(f"{PAGE}#quote", {"quote": quote, "oob": True})
    return HttpResponse(html)


@login_required
@require_POST
def price_alert_create_view(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    form = {field: request.POST.get(field, "") for field in FORM_FIELDS}
    context = _form_context(form)
    status = 200
    if not user.can_trade:
        context["form_error"] = "Viewers have read-only access."
        status = 403
    else:
        values, errors = _parse_form(request.POST)
        if errors:
            context["errors"] = errors
            status = 400
        else:
            try:
                created = price_alert_create(user=user, **values)
            except DomainError as exc:
                context["form_error"] = exc.message
                context["errors"] = {
                    k: list(v) for k, v in exc.details.items() if isinstance(v, list)
                }
                status = exc.status_code
            else:
                context = _form_context(
                    _form_defaults(context["symbols"]) | {"symbol": form["symbol"]}
                )
                context["created"] = created
    if not request.htmx:
        if status == 200:
            return redirect("alerts")
        full = alert_list_context(user, QueryDict()) | price_alerts_context(user) | context
        return render(request, PAGE, full, status=status)
    # htmx swaps 2xx responses only: validation errors are part of the form.
    html = render_to_string(f"{PAGE}#price-alert-form", context, request=request)
    if "created" in context:
        html += render_to_string(
            f"{PAGE}#price-alerts", price_alerts_context(user) | {"oob": True}, request=request
        )
    return HttpResponse(html)


def _price_alerts_response(request: AuthedHtmxRequest, user: User, error: str = "") -> HttpResponse:
    if not request.htmx:
        return redirect("alerts")
    context = price_alerts_context(user) | {"price_alerts_error": error}
    return render(request, f"{PAGE}#price-alerts", context)


@login_required
@require_POST
def price_alert_delete_view(request: AuthedHtmxRequest, alert_id: Any) -> HttpResponse:
    user = request.user
    try:
        price_alert_delete(user=user, alert_id=alert_id)
    except NotFound:
        return HttpResponse("No such price alert.", status=404)
    except DomainError as exc:
        return _price_alerts_response(request, user, exc.message)
    return _price_alerts_response(request, user)


@login_required
@require_POST
def price_alert_rearm_view(request: AuthedHtmxRequest, alert_id: Any) -> HttpResponse:
    user = request.user
    try:
        price_alert_rearm(user=user, alert_id=alert_id)
    except NotFound:
        return HttpResponse("No such price alert.", status=404)
    except DomainError as exc:
        return _price_alerts_response(request, user, exc.message)
    return _price_alerts_response(request, user)
