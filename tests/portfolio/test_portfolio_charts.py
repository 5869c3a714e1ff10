"""The account against an equal-weight basket on Analytics, and the equity history on the
Portfolio page, from real snapshots and candles."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portfolio.ledger import account_ensure
from portfolio.models import EquitySnapshot
from tests.trades.conftest import make_symbol
from trades.models import Candle

D = Decimal
pytestmark = pytest.mark.django_db


def _history(trader):
    account = account_ensure(user=trader)
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    account.created_at = start - timedelta(minutes=1)
    account.cash = D("103000.00")  # what the account holds now: the curve's last point
    account.save(update_fields=["created_at", "cash"])
    aaa, bbb = make_symbol("AAA", "100.00"), make_symbol("BBB", "50.00")
    for i in range(31):
        at = start + timedelta(minutes=i)
        EquitySnapshot.objects.create(
            account=account,
            at=at,
            cash=D("100000.00"),
            positions_value=D(0),
            equity=D("100000.00") + D(100) * i,  # +3 % over the half hour
        )
        # AAA +10 %, BBB -10 % over the same half hour: the basket ends flat.
        for symbol, first, step in ((aaa, D(100), D("0.33333")), (bbb, D(50), D("-0.166666"))):
            close = (first + step * i).quantize(D("0.01"))
            Candle.objects.create(
                symbol=symbol, start=at, open=close, high=close, low=close, close=close
            )


def test_analytics_compares_the_account_with_an_equal_weight_basket(client, trader):
    _history(trader)
    client.force_login(trader)
    page = client.get("/analytics/?period=day").content.decode()
    assert 'data-testid="benchmark"' in page
    assert "Account vs equal-weight basket (both start at 100)" in page
    assert "Your account (solid line) +3.00 %" in page
    assert "equal-weight basket of 2 symbols (dashed) 0.00 %" in page
    assert 'class="line line-compare"' in page
    # The drawdown chart names its units on the axis.
    assert "Drawdown from the running peak (%)" in page and " %</text>" in page


def test_the_portfolio_page_shows_the_equity_history(client, trader):
    _history(trader)
    client.force_login(trader)
    page = client.get("/portfolio/").content.decode()
    assert 'data-testid="equity-history"' in page
    assert "Equity, last 24 hours (USD)" in page
    assert "last $103,000" in page  # the chart's description: its last value


def test_without_candles_the_comparison_says_what_it_needs(client, trader):
    account_ensure(user=trader)
    client.force_login(trader)
    page = client.get("/analytics/?period=day").content.decode()
    assert "The comparison needs candles of the symbols" in page
