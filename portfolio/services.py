"""Writes to accounts and positions. Cash and shares change only here, and only for fills,
reservations of open orders and their release (and the account reset)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.models import Account, Position
from trading_demo.models import User

AVERAGE_QUANTUM = Decimal("0.0001")


def account_ensure(*, user: User) -> Account:
    """The user's account, opened with the starting cash on first use."""
    account = Account.objects.filter(user=user).first()
    if account is not None:
        return account
    starting = Decimal(settings.STARTING_CASH)
    with transaction.atomic():
        account, _ = Account.objects.get_or_create(
            user=user, defaults={"cash": starting, "starting_cash": starting}
        )
    return account


def account_lock(*, user_id: UUID | str) -> Account:
    """Lock the account row for a check-then-write (PostgreSQL; SQLite's IMMEDIATE transaction
    already holds the database's write lock)."""
    return Account.objects.select_for_update().get(user_id=user_id)


def position_lock(*, account: Account, symbol_id: str) -> Position:
    position = (
        Position.objects.select_for_update().filter(account=account, symbol_id=symbol_id).first()
    )
    if position is None:
        position = Position.objects.create(account=account, symbol_id=symbol_id)
    return position


def cash_reserve(*, account: Account, amount: Decimal) -> None:
    account.reserved_cash += amount
    account.save(update_fields=["reserved_cash"])


def cash_release(*, account: Account, amount: Decimal) -> None:
    account.reserved_cash -= amount
    account.save(update_fields=["reserved_cash"])


def shares_reserve(*, position: Position, quantity: int) -> None:
    position.reserved_quantity += quantity
    position.save(update_fields=["reserved_quantity"])


def shares_release(*, position: Position, quantity: int) -> None:
    position.reserved_quantity -= quantity
    position.save(update_fields=["reserved_quantity"])


def fill_apply_buy(
    *,
    account: Account,
    position: Position,
    quantity: int,
    price: Decimal,
    reserved_per_share: Decimal,
) -> None:
    """A buy fill: pay for the shares, release what the order had reserved for them, and
    average the cost in (weighted by quantity)."""
    cost = price * quantity
    account.cash -= cost
    account.reserved_cash -= reserved_per_share * quantity
    account.save(update_fields=["cash", "reserved_cash"])
    held = position.quantity
    position.average_cost = ((position.average_cost * held + cost) / (held + quantity)).quantize(
        AVERAGE_QUANTUM, rounding=ROUND_HALF_EVEN
    )
    if held == 0:
        position.opened_at = timezone.now()
    position.quantity = held + quantity
    position.updated_at = timezone.now()
    position.save(update_fields=["quantity", "average_cost", "opened_at", "updated_at"])


def fill_apply_sell(
    *, account: Account, position: Position, quantity: int, price: Decimal
) -> Decimal:
    """A sell fill of reserved shares: receive the cash and realise quantity x (price - average
    cost). The average cost of what is left does not change. Returns the realised P&L."""
    realized = ((price - position.average_cost) * quantity).quantize(Decimal("0.01"))
    account.cash += price * quantity
    account.save(update_fields=["cash"])
    position.quantity -= quantity
    position.reserved_quantity -= quantity
    position.realized_pnl += realized
    if position.quantity == 0:
        position.average_cost = Decimal("0")
    position.updated_at = timezone.now()
    position.save(
        update_fields=[
            "quantity",
            "reserved_quantity",
            "realized_pnl",
            "average_cost",
            "updated_at",
        ]
    )
    return realized
