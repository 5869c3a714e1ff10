"""The Dashboard: quote strip, price chart, order form, order book, trade history, tape."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

import charts
from charts.series import TIMEFRAMES, bucket_start
from portfolio.selectors import account_summary
from trades.api import OrderListCreateApi
from trades.models import (
    CANCELABLE_STATUSES,
    FINISHED_STATUSES,
    OrderType,
    Side,
    Symbol,
    TimeInForce,
)
from trades.selectors import (
    OrderPreview,
    QuantityUnit,
    candles_range,
    order_book,
    order_preview,
    order_shares_for,
    orders_for,
    symbols_list,
    tape_for,
)
from trades.services.amend import order_replace, orders_cancel_open, position_close
from trades.services.orders import OrderRequest, order_cancel, order_submit
from trading_demo.errors import DomainError, NotFound, ValidationFailed
from trading_demo.models import User
from trading_demo.pages import AuthedHtmxRequest

HISTORY_ROWS = 25
TAPE_ROWS = 20
CHART_CANDLES = 90
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

WHOLE_NUMBER_RE = re.compile(r"[+-]?[0-9]{1,12}")


def _selected_symbol(request: HttpRequest) -> Symbol | None:
    code = request.GET.get("symbol") or request.POST.get("symbol") or ""
    symbols = symbols_list()
    return (symbols.filter(pk=code).first() if code else None) or symbols.first()


TIMEFRAME_NAMES = {
    "1m": "1-minute",
    "5m": "5-minute",
    "15m": "15-minute",
    "1h": "1-hour",
    "1D": "daily",
}


def chart_context(
    symbol: Symbol,
    *,
    timeframe: str = "1m",
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """The price chart in a timeframe, the last CHART_CANDLES of it or a zoomed range."""
    timeframe = timeframe if timeframe in TIMEFRAMES else "1m"
    minutes = TIMEFRAMES[timeframe]
    rows = candles_range(
        symbol=symbol,
        # The current bucket and the CHART_CANDLES - 1 before it.
        since=start
        or bucket_start(timezone.now(), minutes) - timedelta(minutes=minutes * (CHART_CANDLES - 1)),
        until=end,
    )
    candles = charts.resample(
        [charts.Candle(c.start, c.open, c.high, c.low, c.close, c.volume) for c in rows], minutes
    )
    if start is None:
        candles = candles[-CHART_CANDLES:]
    return {
        "chart": charts.candles_svg(
            candles,
            title=f"{symbol.symbol} {TIMEFRAME_NAMES[timeframe]} candles",
            chart_id=f"chart-svg-{symbol.symbol}",
        ),
        "timeframe": timeframe,
        "timeframes": list(TIMEFRAMES),
        "zoom": start is not None,
    }


def market_context(symbol: Symbol, user: User) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "can_trade": user.can_trade,
        "book": order_book(symbol=symbol, levels=8, viewer=user),
        "tape": list(tape_for(symbol=symbol)[:TAPE_ROWS]),
        **chart_context(symbol),
    }


ORDER_TABS = ("open", "history")


def history_context(user: User, *, tab: str = "") -> dict[str, Any]:
    """The orders panel: orders still working (open, partly filled, awaiting approval) and the
    finished ones, newest first, each list bounded. Its positions come from the account summary,
    which the page's account card reuses (one read, one price snapshot)."""
    summary = account_summary(user=user)
    return {
        "orders_tab": tab if tab in ORDER_TABS else "open",
        "open_orders": list(
            orders_for(user=user).filter(status__in=CANCELABLE_STATUSES)[:HISTORY_ROWS]
        ),
        "orders": list(orders_for(user=user).filter(status__in=FINISHED_STATUSES)[:HISTORY_ROWS]),
        "positions": summary.positions if summary else [],
        "summary": summary,
    }


TICKET_SESSION_KEY = "ticket"  # the trader's last order type and time in force


def _form_defaults(request: HttpRequest, symbol: Symbol) -> dict[str, str]:
    """A fresh ticket: the last order type and time in force the trader placed with, and a
    price and side taken from the book when a book level's link was followed."""
    last = request.session.get(TICKET_SESSION_KEY) or {}
    order_type = last.get("order_type", OrderType.MARKET)
    side = request.GET.get("side", "")
    price = request.GET.get("price", "")
    if price and _decimal(price) is not None:
        order_type = (
            order_type
            if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
            else (OrderType.LIMIT)
        )
    else:
        price = ""
    return {
        "symbol": symbol.symbol,
        "type": side if side in Side.values else Side.BUY,
        "quantity": "10",
        "quantity_unit": QuantityUnit.SHARES,
        "order_type": order_type if order_type in OrderType.values else OrderType.MARKET,
        "time_in_force": last.get("time_in_force", TimeInForce.IOC),
        "price": price,
        "stop_price": "",
        "client_order_id": "",
        "form_nonce": uuid.uuid4().hex,
    }


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


@login_required
def dashboard(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    symbol = _selected_symbol(request)
    if symbol is None:
        return render(request, "trades/dashboard.html", {"symbol": None})
    context = {
        "symbols": list(symbols_list()[:50]),
        "form": _form_defaults(request, symbol),
        "choices": _choices(),
        **market_context(symbol, user),
        **history_context(user, tab=request.GET.get("orders", "")),
    }
    context["ws_channels"] = ",".join(
        [f"book:{symbol.symbol}"] + [f"prices:{s.symbol}" for s in context["symbols"]]
    )
    return render(request, "trades/dashboard.html", context)


def _choices() -> dict[str, Any]:
    return {
        "sides": Side.choices,
        "order_types": OrderType.choices,
        "tifs": TimeInForce.choices,
        "units": QuantityUnit.CHOICES,
    }


def _parse_form(
    post: Any, *, user: User, symbol: Symbol | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The order form through the API's own validation, so page and API agree. A quantity in
    dollars or percent becomes whole shares (`order_shares_for`) once the rest is valid."""
    raw: dict[str, Any] = {}
    for field in FORM_FIELDS:
        value = post.get(field, "").strip()
        if value == "":
            continue
        raw[field] = value
    unit = post.get("quantity_unit", QuantityUnit.SHARES)
    if unit not in dict(QuantityUnit.CHOICES):
        return {}, {"quantity": ["Choose shares, $ or %."]}
    amount: Decimal | None = None
    if unit != QuantityUnit.SHARES and "quantity" in raw:
        amount = _decimal(raw["quantity"])
        if amount is None or (unit == QuantityUnit.PCT and amount > 100):
            limit = "from 0 to 100" if unit == QuantityUnit.PCT else "more than 0"
            return {}, {"quantity": [f"Enter a number {limit}."]}
        raw["quantity"] = 1  # validated below once the amount is in shares
    elif "quantity" in raw:
        # A form sends text: a signed whole number becomes one, so "-3" is told it must be at
        # least 1 (not that it is not a JSON integer); anything else stays text and is refused.
        text = raw["quantity"].strip()
        raw["quantity"] = int(text) if WHOLE_NUMBER_RE.fullmatch(text) else raw["quantity"]
    serializer = OrderListCreateApi.InputSerializer(data=raw)
    if not serializer.is_valid():
        return {}, {key: [str(e) for e in value] for key, value in serializer.errors.items()}
    values = dict(serializer.validated_data)
    if amount is not None and symbol is not None:
        shares = order_shares_for(
            user=user,
            symbol=symbol,
            side=values["type"],
            order_type=values["order_type"],
            amount=amount,
            unit=unit,
            price=values.get("price"),
            stop_price=values.get("stop_price"),
        )
        if shares < 1:
            return {}, {"quantity": ["That is less than one share."]}
        if shares > settings.MAX_ORDER_QUANTITY:
            return {}, {"quantity": [f"That is over {settings.MAX_ORDER_QUANTITY:,} shares."]}
        values["quantity"] = shares
    return values, {}


def _preview(values: dict[str, Any], symbol: Symbol, user: User) -> OrderPreview:
    return order_preview(
        user=user,
        symbol=symbol,
        side=values["type"],
        order_type=values["order_type"],
        quantity=values["quantity"],
        price=values.get("price"),
        stop_price=values.get("stop_price"),
    )


@login_required
@require_POST
def order_estimate(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    symbol = _selected_symbol(request)
    values, errors = _parse_form(request.POST, user=user, symbol=symbol)
    context: dict[str, Any] = {"errors": errors, "form": {"type": request.POST.get("type")}}
    if not errors and symbol is not None:
        context["estimate"] = _preview(values, symbol, user)
    return render(request, "trades/dashboard.html#estimate", context)


@login_required
@require_POST
def order_place(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    symbol = _selected_symbol(request)
    if symbol is None:
        return redirect("dashboard")
    kept = (*FORM_FIELDS, "form_nonce", "quantity_unit")
    form = {field: request.POST.get(field, "") for field in kept}
    context: dict[str, Any] = {
        "form": form,
        "choices": _choices(),
        "symbol": symbol,
        "symbols": list(symbols_list()[:50]),
        "book": order_book(symbol=symbol, levels=1),
    }
    if not user.can_trade:
        context["form_error"] = "Viewers have read-only access."
        return _form_response(request, context, status=403)
    values, errors = _parse_form(request.POST, user=user, symbol=symbol)
    if errors:
        context["errors"] = errors
        return _form_response(request, context, status=400)
    estimate = _preview(values, symbol, user)
    context["estimate"] = estimate
    if not estimate.can_place:
        # The order path would refuse it: say why, at the estimate, with no way to confirm.
        return _form_response(request, context, status=422)
    if estimate.needs_confirmation and request.POST.get("confirmed") != "1":
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
    request.session[TICKET_SESSION_KEY] = {
        "order_type": values["order_type"],
        "time_in_force": values["time_in_force"],
    }
    if not request.htmx:
        return redirect(f"{reverse('dashboard')}?symbol={symbol.symbol}")
    context["form"] = _form_defaults(request, symbol) | {
        "type": form["type"],
        "quantity_unit": form["quantity_unit"] or QuantityUnit.SHARES,
    }
    context.pop("estimate")
    context["placed"] = result.order
    return _form_response(request, context | history_context(user) | {"oob_history": True})


def _auto_id() -> str:
    return f"web-{uuid.uuid4().hex}"


def _form_response(
    request: AuthedHtmxRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    if not request.htmx:
        user = request.user
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


def _orders_response(
    request: AuthedHtmxRequest, user: User, *, tab: str = "open", **extra: Any
) -> HttpResponse:
    if not request.htmx:
        for text in (extra.get("history_notice"), extra.get("history_error")):
            if text:
                messages.info(request, text)
        return redirect(f"{reverse('dashboard')}?orders={tab}#history")
    # The feedback sits beside the panel, not in it: live updates re-render the panel and would
    # wipe a notice inside it.
    context = history_context(user, tab=tab) | extra | {"oob_history": True}
    return HttpResponse(
        render_to_string("trades/dashboard.html#orders-feedback", context, request=request)
        + render_to_string("trades/dashboard.html#history", context, request=request)
    )


@login_required
@require_POST
def order_cancel_view(request: AuthedHtmxRequest, order_id: Any) -> HttpResponse:
    user = request.user
    try:
        order = order_cancel(user=user, order_id=order_id)
    except NotFound:
        return HttpResponse("No such order.", status=404)
    except DomainError as exc:
        return _orders_response(request, user, history_error=exc.message)
    return _orders_response(
        request, user, history_notice=f"Cancelled: {order.side} {order.quantity} {order.symbol_id}."
    )


@login_required
@require_POST
def orders_cancel_all_view(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    result = orders_cancel_open(user=user)
    cancelled = sum(1 for outcome in result.outcomes if outcome.order is not None)
    failures = [o.error.message for o in result.outcomes if o.error is not None]
    notice = f"Cancelled {cancelled} open order{'s' if cancelled != 1 else ''}."
    if result.remaining:
        notice += f" {result.remaining} still open."
    return _orders_response(
        request, user, history_notice=notice, history_error=failures[0] if failures else ""
    )


@login_required
@require_POST
def order_modify_view(request: AuthedHtmxRequest, order_id: Any) -> HttpResponse:
    """Modify a working order: a replacement with a new id that points to the old one."""
    user = request.user
    changes, errors = _modify_changes(request.POST)
    if errors:
        return _orders_response(request, user, history_error=errors, modifying=str(order_id))
    try:
        result = order_replace(user=user, order_id=order_id, **changes)
    except NotFound:
        return HttpResponse("No such order.", status=404)
    except DomainError as exc:
        return _orders_response(request, user, history_error=exc.message, modifying=str(order_id))
    new = result.order
    price = f" at {new.price}" if new.price else ""
    return _orders_response(
        request,
        user,
        history_notice=f"Modified: {new.side} {new.quantity} {new.symbol_id}{price} "
        f"(new order {str(new.pk)[:8]}, {new.get_status_display().lower()}).",
    )


def _modify_changes(post: Any) -> tuple[dict[str, Any], str]:
    changes: dict[str, Any] = {}
    quantity = post.get("quantity", "").strip()
    if quantity:
        if not quantity.isdigit() or int(quantity) < 1:
            return {}, "Quantity: a whole number of shares, 1 or more."
        changes["quantity"] = int(quantity)
    for field, name in (("price", "limit_price"), ("stop_price", "stop_price")):
        text = post.get(field, "").strip()
        if text:
            value = _decimal(text)
            if value is None or value != value.quantize(Decimal("0.01")):
                return {}, f"{field.replace('_', ' ').capitalize()}: a price in dollars and cents."
            changes[name] = value
    return changes, ""


@login_required
@require_POST
def position_close_view(request: AuthedHtmxRequest, symbol: str) -> HttpResponse:
    user = request.user
    if not user.can_trade:
        return _orders_response(request, user, history_error="Viewers have read-only access.")
    try:
        result = position_close(user=user, symbol=symbol)
    except DomainError as exc:
        return _orders_response(request, user, history_error=exc.message)
    order = result.order
    filled = f", {order.filled_quantity} filled" if order.filled_quantity else ""
    return _orders_response(
        request,
        user,
        history_notice=f"Closing {order.symbol_id}: sell {order.quantity} at market, "
        f"{order.get_status_display().lower()}{filled}.",
    )


@login_required
def market_partial(request: AuthedHtmxRequest, part: str) -> HttpResponse:
    """A fragment of the dashboard for the selected symbol (used to switch symbols in place)."""
    user = request.user
    symbol = _selected_symbol(request)
    if symbol is None or part not in {"order-book", "chart", "tape"}:
        return HttpResponse(status=404)
    context = market_context(symbol, user)
    if part == "chart":
        start, end = (_moment(request.GET.get(name, "")) for name in ("start", "end"))
        if (request.GET.get("start") and start is None) or (request.GET.get("end") and end is None):
            return HttpResponse("start and end are ISO 8601 times with a zone.", status=400)
        if start is not None and end is not None and end <= start:
            return HttpResponse("end must be after start.", status=400)
        context |= chart_context(
            symbol, timeframe=request.GET.get("tf", "1m"), start=start, end=end
        )
    return render(request, f"trades/dashboard.html#{part}", context)


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
