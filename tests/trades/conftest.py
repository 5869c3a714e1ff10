from __future__ import annotations

import time
from decimal import Decimal

from trades.models import Quote, Side, Symbol

D = Decimal


def make_symbol(code: str = "ACME", price: str = "100.00", volatility: str = "0.2500") -> Symbol:
    return Symbol.objects.create(
        symbol=code,
        name=f"{code} Corp",
        reference_price=D(price),
        session_open_price=D(price),
        last_price=D(price),
        volatility=D(volatility),
    )


def set_reference(symbol: Symbol, price: str) -> Symbol:
    symbol.reference_price = symbol.last_price = D(price)
    symbol.save()
    return symbol


def set_quotes(
    symbol: Symbol,
    *,
    bids: list[tuple[str, int]] = (),  # type: ignore[assignment]
    asks: list[tuple[str, int]] = (),
) -> None:  # type: ignore[assignment]
    """Replace the market maker's ladder with exactly these levels."""
    Quote.objects.filter(symbol=symbol).delete()
    seq = time.time_ns()
    for side, levels in ((Side.BUY, bids), (Side.SELL, asks)):
        for level, (price, quantity) in enumerate(levels):
            Quote.objects.create(
                symbol=symbol, side=side, level=level, price=D(price), quantity=quantity, seq=seq
            )


def order_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "symbol": "ACME",
        "type": "BUY",
        "quantity": 10,
        "order_type": "MARKET",
        "time_in_force": "IOC",
    }
    body.update(overrides)
    return body
