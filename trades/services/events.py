"""What order, fill and price events carry (small payloads: clients re-read for more)."""

from __future__ import annotations

from typing import Any

from trades.models import Execution, Order, Symbol
from trading_demo.realtime import publish


def order_event_data(order: Order) -> dict[str, Any]:
    return {
        "id": str(order.pk),
        "client_order_id": order.client_order_id,
        "symbol": order.symbol_id,
        "type": order.side,
        "status": order.status,
        "filled_quantity": order.filled_quantity,
        "quantity": order.quantity,
        "reason": order.status_reason,
    }


def fill_data(execution: Execution) -> dict[str, Any]:
    return {
        "id": str(execution.pk),
        "price": str(execution.price),
        "quantity": execution.quantity,
        "created_at": execution.created_at.isoformat(),
    }


def tick_data(symbol: Symbol) -> dict[str, Any]:
    return {
        "symbol": symbol.pk,
        "reference_price": str(symbol.reference_price),
        "last_price": str(symbol.last_price),
        "change_pct": str(symbol.change_pct),
    }


def order_publish(order: Order, event: str) -> None:
    data = order_event_data(order)
    if event == "trade:cancelled":
        data["tradeId"] = data["id"]  # the seed names the cancelled order `tradeId`
    publish(event, data, channel="trades", user_ids=[order.user_id])
