"""For any sequence of fills and marks: equity = cash + sum(quantity x mark), and
realised + unrealised P&L = equity - starting capital, to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.ledger import account_ensure, fill_apply_buy, fill_apply_sell, position_lock
from portfolio.models import Account
from portfolio.selectors import account_summary
from tests.factories import UserFactory
from tests.trades.conftest import make_symbol

pytestmark = pytest.mark.django_db

prices = st.integers(min_value=1, max_value=50_000).map(lambda cents: Decimal(cents) / 100)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.sampled_from(["AAA", "BBB"]), st.integers(1, 300), prices),
        st.tuples(st.just("sell"), st.sampled_from(["AAA", "BBB"]), st.integers(1, 300), prices),
        st.tuples(st.just("mark"), st.sampled_from(["AAA", "BBB"]), st.just(0), prices),
    ),
    min_size=1,
    max_size=40,
)


class Rollback(Exception):
    pass


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_equity_and_pnl_identities_hold(steps):
    try:
        with transaction.atomic():
            user = UserFactory()
            symbols = {code: make_symbol(code, "100.00") for code in ("AAA", "BBB")}
            account = account_ensure(user=user)
            for kind, code, quantity, price in steps:
                symbol = symbols[code]
                if kind == "mark":
                    symbol.last_price = price
                    symbol.save(update_fields=["last_price"])
                    continue
                account = Account.objects.get(pk=account.pk)
                position = position_lock(account=account, symbol_id=code)
                if kind == "buy":
                    if account.buying_power < price * quantity:
                        continue
                    fill_apply_buy(
                        account=account,
                        position=position,
                        quantity=quantity,
                        price=price,
                        reserved_per_share=Decimal("0"),
                    )
                else:
                    quantity = min(quantity, position.quantity)
                    if quantity == 0:
                        continue
                    # A sell fills shares its order had reserved.
                    position.reserved_quantity += quantity
                    fill_apply_sell(
                        account=account, position=position, quantity=quantity, price=price
                    )
            summary = account_summary(user=user)
            assert summary is not None
            marks = {code: s.last_price for code, s in symbols.items()}
            held = sum((p.quantity * marks[p.symbol] for p in summary.positions), Decimal(0))
            assert summary.equity == summary.cash + held
            assert summary.realized_pnl + summary.unrealized_pnl == (
                summary.equity - summary.starting_cash
            )
            assert summary.cash >= 0
            raise Rollback
    except Rollback:
        pass
