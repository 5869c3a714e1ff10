"""Two managers deciding the same request at the same moment: exactly one decision, the other
gets 409 already_decided. Real threads with their own connections, on SQLite here and on
PostgreSQL in CI's second run; a real oversight server behind both."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oversight import client as oversight
from oversight.models import ApprovalRequest, ApprovalState
from oversight.services.decisions import approval_decide
from portfolio.models import Account, Position
from tests.factories import UserFactory
from tests.threads import at_once, outcome
from tests.trades.conftest import set_quotes
from trades.models import Execution, Order
from trades.services.orders import OrderRequest, order_submit
from trading_demo.models import Role

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def decide_at_once(approval_id, deciders: list[tuple]) -> list[str]:
    def decide(manager, approve: bool) -> object:
        return approval_decide(
            approval_id=approval_id, manager=manager, approve=approve, reason="race"
        )

    return at_once(
        [
            outcome(lambda m=m, a=a: decide(m, a), "approved" if a else "rejected")
            for m, a in deciders
        ]
    )


def pending_high_order(trader, acme) -> ApprovalRequest:
    result = order_submit(
        user=trader,
        request=OrderRequest(
            symbol="ACME",
            side="BUY",
            order_type="LIMIT",
            quantity=150,
            price=D("100.00"),
            time_in_force="GTC",
            client_order_id="big",
        ),
    )
    assert result.order.status == "pending_approval"
    return ApprovalRequest.objects.get(order=result.order)


@pytest.mark.parametrize("second_approves", [True, False])
def test_two_managers_at_once_make_exactly_one_decision(trader, acme, second_approves):
    managers = [UserFactory(role=Role.MANAGER) for _ in range(2)]
    set_quotes(acme, asks=[("100.00", 1000)])
    approval = pending_high_order(trader, acme)
    outcomes = decide_at_once(approval.pk, [(managers[0], True), (managers[1], second_approves)])
    assert sorted(outcomes).count("already_decided") == 1, outcomes
    approval.refresh_from_db()
    decided = next(o for o in outcomes if o != "already_decided")
    assert approval.state == decided
    remote = oversight.approval_status(approval_id=approval.pk)
    assert remote.state.value.lower() == decided
    assert remote.decided_by == str(approval.decided_by_id)
    order = Order.objects.get(pk=approval.order_id)
    account = Account.objects.get(user=trader)
    assert account.reserved_cash == 0
    if decided == ApprovalState.APPROVED:
        # Filled once, never twice.
        assert Execution.objects.filter(buy_order=order).count() == 1
        assert Position.objects.get(account=account).quantity == 150
        assert account.cash == D("85000.00")
    else:
        assert order.status == "rejected" and account.cash == D("100000.00")


def test_many_managers_at_once_one_decision(trader, acme):
    managers = [UserFactory(role=Role.MANAGER) for _ in range(6)]
    approval = pending_high_order(trader, acme)
    outcomes = decide_at_once(approval.pk, [(m, n % 2 == 0) for n, m in enumerate(managers)])
    assert outcomes.count("already_decided") == 5, outcomes
