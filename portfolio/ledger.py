"""The ledger: accounts (cash and the cash open buys reserve), positions (shares and the shares
open sells reserve), and fills applied to both. Cash and shares change only here.

It sits below the order services: it imports models and the core, never trades, oversight or
metering services. Callers that hold a transaction open use one `Ledger` for it, so each row
is locked and read once however many fills touch it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.models import Account, EquitySnapshot, Position, RealizedTrade
from portfolio.selectors import positions_value_of
from trading_demo.models import User
from trading_demo.prepared import PreparedQuery, row_update, rows_insert

CENT = Decimal("0.01")

# The order path reads and locks these rows on every order (trading_demo/prepared.py says why
# they are compiled once).
_ACCOUNT = PreparedQuery(lambda user_id: Account.objects.filter(user_id=user_id), user_id=UUID)
_ACCOUNT_LOCKED = PreparedQuery(
    lambda user_id: Account.objects.select_for_update().filter(user_id=user_id), user_id=UUID
)
_POSITION = PreparedQuery(
    lambda account_id, symbol_id: Position.objects.filter(
        account_id=account_id, symbol_id=symbol_id
    ),
    account_id=UUID,
    symbol_id=str,
)
_POSITION_LOCKED = PreparedQuery(
    lambda account_id, symbol_id: Position.objects.select_for_update().filter(
        account_id=account_id, symbol_id=symbol_id
    ),
    account_id=UUID,
    symbol_id=str,
)


def account_of(*, user_id: UUID | str) -> Account | None:
    """The user's account as it is now, without a lock (None: never opened)."""
    found = _ACCOUNT.objects(user_id=user_id)
    return found[0] if found else None


def position_of(*, account_id: UUID | str, symbol_id: str) -> Position | None:
    """The account's position in the symbol as it is now, without a lock."""
    found = _POSITION.objects(account_id=account_id, symbol_id=symbol_id)
    return found[0] if found else None


def account_ensure(*, user: User) -> Account:
    """The user's account, opened with the starting cash on first use."""
    account = account_of(user_id=user.pk)
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
    found = _ACCOUNT_LOCKED.objects(user_id=user_id)
    if not found:
        raise Account.DoesNotExist(f"no account for user {user_id}")
    return found[0]


def _position_locked(*, account_id: UUID | str, symbol_id: str) -> Position | None:
    found = _POSITION_LOCKED.objects(account_id=account_id, symbol_id=symbol_id)
    return found[0] if found else None


def position_lock(*, account: Account, symbol_id: str) -> Position:
    position = _position_locked(account_id=account.pk, symbol_id=symbol_id)
    if position is None:
        position = Position.objects.create(account=account, symbol_id=symbol_id)
    return position


class Ledger:
    """The accounts and positions one transaction has locked, each locked and read once."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._positions: dict[tuple[str, str], Position] = {}

    def account(self, user_id: UUID | str) -> Account:
        key = str(user_id)
        account = self._accounts.get(key)
        if account is None:
            account = self._accounts[key] = account_lock(user_id=user_id)
        return account

    def position(self, user_id: UUID | str, symbol_id: str) -> Position:
        key = (str(user_id), symbol_id)
        position = self._positions.get(key)
        if position is None:
            position = position_lock(account=self.account(user_id), symbol_id=symbol_id)
            self._positions[key] = position
        return position

    def held(self, user_id: UUID | str, symbol_id: str) -> Position | None:
        """The position if one exists, locked (None: nothing was ever held)."""
        key = (str(user_id), symbol_id)
        if key not in self._positions:
            found = _position_locked(account_id=self.account(user_id).pk, symbol_id=symbol_id)
            if found is None:
                return None
            self._positions[key] = found
        return self._positions[key]


def cash_reserve(*, account: Account, amount: Decimal) -> None:
    account.reserved_cash += amount
    row_update(account, ["reserved_cash"])


def cash_release(*, account: Account, amount: Decimal) -> None:
    account.reserved_cash -= amount
    row_update(account, ["reserved_cash"])


def shares_reserve(*, position: Position, quantity: int) -> None:
    position.reserved_quantity += quantity
    row_update(position, ["reserved_quantity"])


def shares_release(*, position: Position, quantity: int) -> None:
    position.reserved_quantity -= quantity
    row_update(position, ["reserved_quantity"])


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
    row_update(account, ["cash", "reserved_cash"])
    now = timezone.now()
    if position.quantity == 0:
        position.opened_at = now
    position.quantity += quantity
    position.cost_basis += cost
    position.updated_at = now
    row_update(position, ["quantity", "cost_basis", "opened_at", "updated_at"])


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
    row_update(account, ["cash"])
    position.quantity -= quantity
    position.reserved_quantity -= quantity
    position.cost_basis -= sold_basis
    position.realized_pnl += realized
    position.updated_at = timezone.now()
    row_update(
        position, ["quantity", "reserved_quantity", "cost_basis", "realized_pnl", "updated_at"]
    )
    line = RealizedTrade(
        account=account,
        symbol_id=position.symbol_id,
        execution_id=execution_id,
        quantity=quantity,
        price=price,
        cost_basis=sold_basis,
        realized_pnl=realized,
    )
    rows_insert([line])
    return line


def snapshot_take(*, account: Account, at: datetime | None = None) -> EquitySnapshot:
    """Record the account's equity now: cash plus every position at its mark."""
    positions_value = positions_value_of(account_id=account.pk)
    snapshot = EquitySnapshot(
        account=account,
        at=at or timezone.now(),
        cash=account.cash,
        positions_value=positions_value,
        equity=account.cash + positions_value,
    )
    rows_insert([snapshot])
    return snapshot
