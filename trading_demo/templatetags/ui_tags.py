"""How the pages write money, order terms and names: one place, so every page agrees."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import dateformat, timezone

register = template.Library()

CENT = Decimal("0.01")


@register.filter
def money(value: Any) -> str:
    """Dollars to the cent with thousands separators, the sign before the $: "-$1,234.50".
    None (nothing to measure yet) is a dash."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@register.filter
def signed_money(value: Any) -> str:
    """`money` with a + on gains, for changes: "+$12.00", "-$3.40", "$0.00"."""
    text = money(value)
    try:
        positive = value is not None and Decimal(str(value)).quantize(CENT) > 0
    except (InvalidOperation, ValueError):
        positive = False
    return f"+{text}" if positive else text


@register.filter
def label(value: Any) -> str:
    """A machine name as a person reads it: "channel_layer" -> "Channel layer"."""
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def order_terms(order: Any) -> str:
    """An order's type and prices as a trader says them: "Market", "Limit 230.78",
    "Stop 230.78", "Stop 231.00, limit 230.78", then the time in force: "… · GTC"."""
    kind = str(order.order_type)
    if kind == "LIMIT":
        terms = f"Limit {order.price}"
    elif kind == "STOP":
        terms = f"Stop {order.stop_price}"
    elif kind == "STOP_LIMIT":
        terms = f"Stop {order.stop_price}, limit {order.price}"
    else:
        terms = "Market"
    return f"{terms} · {order.time_in_force}"


@register.filter
def without_prefix(message: Any, prefix: Any) -> bool:
    """True when `message` does not already start with `prefix` (an alert's text that names
    its symbol first needs no symbol in front of it)."""
    return not (prefix and str(message).startswith(str(prefix)))


@register.filter
def local(value: Any, fmt: str = "Y-m-d H:i") -> str:
    """A moment in the page's time zone (the user's, see trading_demo/timezones.py), with the
    zone's abbreviation so nobody mistakes it for another: "2026-12-02 14:26 EST"."""
    if not value:
        return "—"
    moment = timezone.localtime(value)
    return f"{dateformat.format(moment, fmt)} {dateformat.format(moment, 'T')}"
