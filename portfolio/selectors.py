"""Reads for accounts and positions, valued at each symbol's mark (its last price)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portfolio.models import Account, Position
from trading_demo.models import User

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PositionView:
    symbol: str
    quantity: int
    reserved_quantity: int
    average_cost: Decimal
    mark: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True)
class AccountSummary:
    cash: Decimal
    reserved_cash: Decimal
    buying_power: Decimal
    positions_value: Decimal
    equity: Decimal
    starting_cash: Decimal
    positions: list[PositionView]


def positions_for(*, account: Account, include_closed: bool = False) -> list[PositionView]:
    rows = Position.objects.filter(account=account).select_related("symbol").order_by("symbol")
    if not include_closed:
        rows = rows.filter(quantity__gt=0)
    views = []
    for row in rows[:500]:
        mark = row.symbol.last_price
        value = (mark * row.quantity).quantize(CENT)
        views.append(
            PositionView(
                symbol=row.symbol_id,
                quantity=row.quantity,
                reserved_quantity=row.reserved_quantity,
                average_cost=row.average_cost,
                mark=mark,
                market_value=value,
                unrealized_pnl=((mark - row.average_cost) * row.quantity).quantize(CENT),
                realized_pnl=row.realized_pnl,
            )
        )
    return views


def account_summary(*, user: User) -> AccountSummary | None:
    account = Account.objects.filter(user=user).first()
    if account is None:
        return None
    positions = positions_for(account=account)
    positions_value = sum((p.market_value for p in positions), Decimal("0"))
    return AccountSummary(
        cash=account.cash,
        reserved_cash=account.reserved_cash,
        buying_power=account.buying_power,
        positions_value=positions_value,
        equity=account.cash + positions_value,
        starting_cash=account.starting_cash,
        positions=positions,
    )
