"""The Analytics page reads as money, and its periods agree with each other."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from portfolio.models import Account, EquitySnapshot, RealizedTrade
from portfolio.selectors import performance
from tests.trades.conftest import order_body, set_quotes

pytestmark = pytest.mark.django_db


def snapshot(account: Account, at, equity: str) -> None:
    EquitySnapshot.objects.create(
        account=account, at=at, cash=D(equity), positions_value=0, equity=D(equity)
    )


def test_a_dip_inside_one_hour_counts_for_every_period(client_for, trader, acme):
    client_for(trader).get("/api/portfolio")
    account = Account.objects.get(user=trader)
    now = timezone.now().replace(minute=30, second=0, microsecond=0)
    Account.objects.filter(pk=account.pk).update(created_at=now - timedelta(days=3))
    # Back to 100,000 within the same hour: "all" samples hourly closes, which never see it.
    snapshot(account, now - timedelta(minutes=20), "100000.00")
    snapshot(account, now - timedelta(minutes=15), "99740.00")
    snapshot(account, now - timedelta(minutes=10), "100000.00")
    day = performance(user=trader, period="day", now=now)
    everything = performance(user=trader, period="all", now=now)
    assert day is not None and everything is not None
    assert day.max_drawdown_pct == D("0.26")
    assert everything.max_drawdown_pct >= day.max_drawdown_pct


def test_figures_are_dollars_with_separators(client, client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 50)])
    client_for(trader).post("/api/trades", order_body(quantity=50), format="json")
    account = Account.objects.get(user=trader)
    RealizedTrade.objects.create(
        account=account,
        symbol=acme,
        quantity=1,
        price=D("98.08"),
        cost_basis=D("100.00"),
        realized_pnl=D("-1.92"),
    )
    client.force_login(trader)
    html = client.get("/analytics/?period=day").content.decode()
    assert 'data-testid="realised">-$1.92<' in html
    assert "-1.920000" not in html
    assert 'data-testid="start-equity">$100,000.00<' in html
    assert 'data-testid="end-equity">$100,000.00<' in html
