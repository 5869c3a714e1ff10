"""Account-level workflows above the order services: the reset, and the market process's
equity snapshots. Cash and shares themselves change only in `portfolio.ledger`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from portfolio.ledger import account_lock, snapshot_take
from portfolio.models import Account, EquitySnapshot
from portfolio.selectors import positions_values_by_account
from trades.models import Order
from trades.services.orders import orders_cancel_all
from trading_demo.audit import audit_record
from trading_demo.models import User
from trading_demo.realtime import publish


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
