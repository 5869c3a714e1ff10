"""The Dashboard: quote strip, price chart, order form, order book, trade history, tape."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

import charts
from oversight import client as oversight
from portfolio.selectors import account_summary
from trades.api import OrderListCreateApi
from trades.models import Symbol
from trades.selectors import candles_for, order_book, orders_for, symbols_list, tape_for
from trades.services.orders import OrderRequest, order_cancel, order_submit
from trading_demo.errors import DomainError, ValidationFailed
from trading_demo.models import User

HISTORY_ROWS = 25
TAPE_ROWS = 20
CHART_MINUTES = 90
FORM_FIELDS = (
    "symbol",
    "type",
    "quantity",
    "order_type",
    "price",
    "stop_price",
    "time_in_force",
    "client_order_id",
)


def _selected_symbol(request: HttpRequest) -> Symbol | None:
    code = request.GET.get("symbol") or request.POST.get("symbol") or ""
    symbols = symbols_list()
    return symbols.filter(pk=code).first() or symbols.first()


def chart_context(symbol: Symbol) -> dict[str, Any]:
    candles = [
        charts.Candle(c.start, c.open, c.high, c.low, c.close, c.volume)
        for c in candles_for(symbol=symbol, minutes=CHART_MINUTES)
    ]
    return {
        "chart": charts.candles_svg(
            candles,
            title=f"{symbol.symbol} 1-minute candles",
            chart_id=f"chart-svg-{symbol.symbol}",
        )
    }


def market_context(symbol: Symbol, user: User) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "book": order_book(symbol=symbol, levels=8, viewer=user),
        "tape": list(tape_for(symbol=symbol)[:TAPE_ROWS]),
        **chart_context(symbol),
    }


def history_context(user: User) -> dict[str, Any]:
    return {"orders": list(orders_for(user=user)[:HISTORY_ROWS])}


def _form_defaults(symbol: Symbol) -> dict[str, str]:
    return {
        "symbol": symbol.symbol,
        "type": "BUY",
        "quantity": "10",
        "order_type": "MARKET",
        "time_in_force": "IOC",
        "price": "",
        "stop_price": "",
        "client_order_id": "",
        "form_nonce": uuid.uuid4().hex,
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    symbol = _selected_symbol(request)
    if symbol is None:
        return render(request, "trades/dashboard.html", {"symbol": None})
    context = {
        "symbols": list(symbols_list()[:50]),
        "form": _form_defaults(symbol),
        "choices": _choices(),
        **market_context(symbol, user),
        **history_context(user),
    }
    context["ws_channels"] = ",".join(
        [f"book:{symbol.symbol}"] + [f"prices:{s.symbol}" for s in context["symbols"]]
    )
    return render(request, "trades/dashboard.html", context)


def _choices() -> dict[str, Any]:
    from trades.models import OrderType, Side, TimeInForce

    return {"sides": Side.choices, "order_types": OrderType.choices, "tifs": TimeInForce.choices}


def _parse_form(post: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The order form through the API's own validation, so page and API agree."""
    raw: dict[str, Any] = {}
    for field in FORM_FIELDS:
        value = post.get(field, "").strip()
        if value == "":
            continue
        raw[field] = value
    if "quantity" in raw:
        raw["quantity"] = int(raw["quantity"]) if raw["quantity"].isdigit() else raw["quantity"]
    serializer = OrderListCreateApi.InputSerializer(data=raw)
    if serializer.is_valid():
        return dict(serializer.validated_data), {}
    return {}, {key: [str(e) for e in value] for key, value in serializer.errors.items()}


def _estimate(values: dict[str, Any], symbol: Symbol, user: User) -> dict[str, Any]:
    summary = account_summary(user=user)
    price = values.get("price") or values.get("stop_price") or symbol.last_price
    notional = (price * values["quantity"]).quantize(Decimal("0.01"))
    equity = summary.equity if summary else Decimal(settings.STARTING_CASH)
    buying_power = summary.buying_power if summary else equity
    after = buying_power - notional if values["type"] == "BUY" else buying_power
    share = (notional / equity * 100).quantize(Decimal("0.1")) if equity else Decimal("0")
    approval_above = _approval_threshold()
    return {
        "notional": notional,
        "buying_power_after": after,
        "equity_share": share,
        "needs_confirmation": share > settings.CONFIRM_ORDER_EQUITY_PCT,
        "approval_above": approval_above,
        "needs_approval": approval_above is not None and notional > approval_above,
    }


def _approval_threshold() -> Decimal | None:
    """The notional over which the oversight service holds an order for a manager (None while
    the service is down: the order itself would be refused with 503 then)."""
    try:
        return oversight.get_risk_config().config.approval_notional_above
    except oversight.OversightUnavailable:
        return None


@login_required
@require_POST
def order_estimate(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    symbol = _selected_symbol(request)
    values, errors = _parse_form(request.POST)
    context: dict[str, Any] = {"errors": errors, "form": {"type": request.POST.get("type")}}
    if not errors and symbol is not None:
        context["estimate"] = _estimate(values, symbol, user)
    return render(request, "trades/dashboard.html#estimate", context)


@login_required
@require_POST
def order_place(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    symbol = _selected_symbol(request)
    if symbol is None:
        return redirect("dashboard")
    form = {field: request.POST.get(field, "") for field in (*FORM_FIELDS, "form_nonce")}
    context: dict[str, Any] = {
        "form": form,
        "choices": _choices(),
        "symbol": symbol,
        "symbols": list(symbols_list()[:50]),
    }
    if not user.can_trade:
        context["form_error"] = "Viewers have read-only access."
        return _form_response(request, context, status=403)
    values, errors = _parse_form(request.POST)
    if errors:
        context["errors"] = errors
        return _form_response(request, context, status=400)
    estimate = _estimate(values, symbol, user)
    if estimate["needs_confirmation"] and request.POST.get("confirmed") != "1":
        context["confirm"] = estimate
        return _form_response(request, context)
    values["side"] = values.pop("type")
    # The form carries a fresh nonce each time it is rendered: a double-submitted form places
    # one order (idempotency on client_order_id), a new form places a new one.
    nonce = request.POST.get("form_nonce", "")
    values.setdefault("client_order_id", f"web-{nonce}" if nonce.isalnum() else _auto_id())
    try:
        result = order_submit(user=user, request=OrderRequest(**values))
    except ValidationFailed as exc:
        context["errors"] = {k: list(v) for k, v in exc.details.items() if isinstance(v, list)}
        context["form_error"] = exc.message
        return _form_response(request, context, status=400)
    except DomainError as exc:
        context["form_error"] = exc.message
        return _form_response(request, context, status=exc.status_code)
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(f"{reverse('dashboard')}?symbol={symbol.symbol}")
    context["form"] = _form_defaults(symbol) | {"type": form["type"]}
    context["placed"] = result.order
    return _form_response(request, context | history_context(user) | {"oob_history": True})


def _auto_id() -> str:
    return f"web-{uuid.uuid4().hex}"


def _form_response(
    request: HttpRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    if not request.htmx:  # type: ignore[attr-defined]
        user: User = request.user  # type: ignore[assignment]
        symbol = context["symbol"]
        full = {
            "symbols": list(symbols_list()[:50]),
            **market_context(symbol, user),
            **history_context(user),
            **context,
        }
        return render(request, "trades/dashboard.html", full, status=status)
    # htmx swaps 2xx responses only by default; validation errors are part of the form.
    return render(request, "trades/dashboard.html#order-form", context)


@login_required
@require_POST
def order_cancel_view(request: HttpRequest, order_id: Any) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context = {}
    try:
        order_cancel(user=user, order_id=order_id)
    except DomainError as exc:
        if exc.code == "not_found":
            return HttpResponse("No such order.", status=404)
        context["history_error"] = exc.message
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("dashboard")
    return render(request, "trades/dashboard.html#history", context | history_context(user))


@login_required
def market_partial(request: HttpRequest, part: str) -> HttpResponse:
    """A fragment of the dashboard for the selected symbol (used to switch symbols in place)."""
    user: User = request.user  # type: ignore[assignment]
    symbol = _selected_symbol(request)
    if symbol is None or part not in {"order-book", "chart", "tape"}:
        return HttpResponse(status=404)
    return render(request, f"trades/dashboard.html#{part}", market_context(symbol, user))
