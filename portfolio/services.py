"""Writes to accounts and positions. Cash and shares change only here, and only for fills,
reservations of open orders and their release (and the account reset)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.models import Account, EquitySnapshot, Position, RealizedTrade
from portfolio.selectors import positions_value_of, positions_values_by_account
from trading_demo.audit import audit_record
from trading_demo.models import User
from trading_demo.realtime import publish

CENT = Decimal("0.01")


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
    """A buy fill: pay for the shares, release what the order had reserved for them, and add
    their cost to the position's cost basis."""
    cost = price * quantity
    account.cash -= cost
    account.reserved_cash -= reserved_per_share * quantity
    account.save(update_fields=["cash", "reserved_cash"])
    if position.quantity == 0:
        position.opened_at = timezone.now()
    position.quantity += quantity
    position.cost_basis += cost
    position.updated_at = timezone.now()
    position.save(update_fields=["quantity", "cost_basis", "opened_at", "updated_at"])


def fill_apply_sell(
    *,
    account: Account,
    position: Position,
    quantity: int,
    price: Decimal,
    execution_id: UUID | None = None,
) -> RealizedTrade:
    """A sell fill of reserved shares: receive the cash and realise the proceeds minus the
    sold shares' share of the cost basis (so the average cost of what is left is unchanged).
    Records the line in the realised P&L statement."""
    proceeds = price * quantity
    sold_basis = (position.cost_basis * quantity / position.quantity).quantize(
        CENT, rounding=ROUND_HALF_EVEN
    )
    realized = proceeds - sold_basis
    account.cash += proceeds
    account.save(update_fields=["cash"])
    position.quantity -= quantity
    position.reserved_quantity -= quantity
    position.cost_basis -= sold_basis
    position.realized_pnl += realized
    position.updated_at = timezone.now()
    position.save(
        update_fields=["quantity", "reserved_quantity", "cost_basis", "realized_pnl", "updated_at"]
    )
    return RealizedTrade.objects.create(
        account=account,
        symbol_id=position.symbol_id,
        execution_id=execution_id,
        quantity=quantity,
        price=price,
        cost_basis=sold_basis,
        realized_pnl=realized,
    )


def snapshot_take(*, account: Account, at: datetime | None = None) -> EquitySnapshot:
    """Record the account's equity now: cash plus every position at its mark."""
    positions_value = positions_value_of(account_id=account.pk)
    return EquitySnapshot.objects.create(
        account=account,
        at=at or timezone.now(),
        cash=account.cash,
        positions_value=positions_value,
        equity=account.cash + positions_value,
    )


def snapshots_take_all(*, at: datetime | None = None) -> int:
    """One snapshot for every account (the market process, once a minute)."""
    at = at or timezone.now()
    values = positions_values_by_account()
    snapshots = [
        EquitySnapshot(
            account_id=account_id,
            at=at,
            cash=cash,
            positions_value=values.get(account_id, Decimal("0")),
            equity=cash + values.get(account_id, Decimal("0")),
        )
        for account_id, cash in Account.objects.values_list("id", "cash").iterator()
    ]
    EquitySnapshot.objects.bulk_create(snapshots, batch_size=500)
    return len(snapshots)


@transaction.atomic
def account_reset(*, user: User) -> Account:
    """Start over: cancel open orders, clear positions, fills, the statement and snapshots of
    this account, and restore the starting cash. Logins and API tokens stay. Audited."""
    from trades.models import Order
    from trades.services import orders_cancel_all

    account = account_lock(user_id=user.pk)
    cancelled = orders_cancel_all(user=user, reason="Cancelled by an account reset.")
    before = {
        "cash": str(account.cash),
        "positions": account.positions.filter(quantity__gt=0).count(),
    }
    Order.objects.filter(user=user).delete()
    account.positions.all().delete()
    account.realized.all().delete()
    account.snapshots.all().delete()
    account.cash = account.starting_cash
    account.reserved_cash = Decimal("0")
    account.save(update_fields=["cash", "reserved_cash"])
    snapshot_take(account=account)
    audit_record(
        actor=user,
        action="account.reset",
        target=account,
        data={**before, "cancelled_orders": cancelled},
    )
    publish("portfolio:updated", {"reset": True}, channel="portfolio", user_ids=[user.pk])
    return account
