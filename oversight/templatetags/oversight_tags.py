from __future__ import annotations

from typing import Any

from django import template

from oversight.selectors import trading_state_now

register = template.Library()

MEANINGS = {
    "HALTED": "Trading is halted: new orders are refused; cancels still work.",
    "REDUCING": "Trading is reduce-only: only sells of shares already held are accepted.",
}


@register.inclusion_tag("oversight/trading_state_banner.html")
def trading_state_banner() -> dict[str, Any]:
    """The kill switch on every page while it is on, so nobody learns of it from a refusal."""
    state = trading_state_now()
    return {"state": state, "meaning": MEANINGS.get(state or "", "")}
