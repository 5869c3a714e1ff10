"""The portfolio API against real fills."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portfolio.models import Account, EquitySnapshot, RealizedTrade
from portfolio.selectors import max_drawdown, performance, volatility_and_sharpe
from tests.trades.conftest import order_body, set_quotes, set_reference
from trades.models import Order

pytestmark = pytest.mark.django_db
D = Decimal


def buy_then_sell(api, acme):
    set_quotes(acme, asks=[("100.00", 10)])
    api.post("/api/trades", order_body(), format="json")
    set_reference(acme, "110.00")
    set_quotes(acme, asks=[("110.00", 10)])
    api.post("/api/trades", order_body(), format="json")
    set_reference(acme, "120.00")
    set_quotes(acme, bids=[("120.00", 5)])
    api.post("/api/trades", order_body(type="SELL", quantity=5), format="json")


def test_seed_scenario_portfolio_to_the_cent(client_for, trader, acme):
    api = client_for(trader)
    buy_then_sell(api, acme)
    body = api.get("/api/portfolio").json()
    cash = D("100000.00") - D("2100.00") + D("600.00")
    assert body["cash"] == str(cash)
    assert body["equity"] == str(cash + 15 * D("120.00"))
    assert (body["realized_pnl"], body["unrealized_pnl"]) == ("75.00", "225.00")
    assert body["return_pct"] == "0.30"
    (position,) = body["positions"]
    assert position | {"opened_at": None} == {
        "symbol": "ACME",
        "name": "ACME Corp",
        "quantity": 15,
        "reserved_quantity": 0,
        "average_cost": "105.0000",
        "cost_basis": "1575.00",
        "current_price": "120.00",
        "market_value": "1800.00",
        "unrealized_pnl": "225.00",
        "unrealized_pnl_pct": "14.29",
        "realized_pnl": "75.00",
        "change_today": "300.00",
        "allocation_pct": "1.79",
        "opened_at": None,
    }
    statement = api.get("/api/portfolio/statement").json()["results"]
    assert [(s["quantity"], s["price"], s["cost_basis"], s["realized_pnl"]) for s in statement] == [
        (5, "120.00", "525.00", "75.00")
    ]


def test_every_fill_takes_an_equity_snapshot(client_for, trader, acme):
    buy_then_sell(client_for(trader), acme)
    snapshots = list(EquitySnapshot.objects.filter(account__user=trader).order_by("at"))
    assert len(snapshots) == 3
    last = snapshots[-1]
    assert last.equity == last.cash + last.positions_value
    assert last.positions_value == 15 * D("120.00")


def test_positions_and_statement_csv(client_for, trader, acme):
    api = client_for(trader)
    buy_then_sell(api, acme)
    positions = b"".join(api.get("/api/portfolio/positions/export").streaming_content)
    lines = positions.decode().strip().splitlines()
    assert lines[0].startswith("symbol,quantity,average_cost")
    assert lines[1].startswith("ACME,15,105.0000,1575.00,120.00,1800.00,225.00")
    statement = b"".join(api.get("/api/portfolio/statement/export").streaming_content)
    assert statement.decode().strip().splitlines()[1].endswith("ACME,5,120.00,525.00,75.00")


def test_portfolios_are_private(client_for, trader, trader2, acme):
    buy_then_sell(client_for(trader), acme)
    other = client_for(trader2).get("/api/portfolio").json()
    assert other["positions"] == [] and other["cash"] == "100000.00"
    assert client_for(trader2).get("/api/portfolio/statement").json()["results"] == []


def test_viewer_reads_own_portfolio_but_cannot_reset(client_for, viewer, acme):
    assert client_for(viewer).get("/api/portfolio").json()["cash"] == "100000.00"
    response = client_for(viewer).post("/api/portfolio/reset", {"confirm": True}, format="json")
    assert response.status_code == 403


def test_reset_starts_over_and_keeps_the_counterpartys_history(client_for, trader, trader2, acme):
    from trading_demo.models import AuditEvent

    api = client_for(trader)
    buy_then_sell(api, acme)
    api.post(
        "/api/trades",
        order_body(order_type="LIMIT", price="119.00", time_in_force="GTC"),
        format="json",
    )
    assert (
        client_for(trader)
        .post("/api/portfolio/reset", {"confirm": False}, format="json")
        .status_code
        == 400
    )
    response = api.post("/api/portfolio/reset", {"confirm": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["cash"], body["reserved_cash"], body["positions"]) == ("100000.00", "0.00", [])
    assert not Order.objects.filter(user=trader).exists()
    assert not RealizedTrade.objects.filter(account__user=trader).exists()
    assert api.get("/api/auth/me").status_code == 200
    event = AuditEvent.objects.get(action="account.reset")
    assert event.actor == trader and event.data["cancelled_orders"] == 1


def test_performance_figures_match_a_hand_computation(client_for, trader, acme):
    api = client_for(trader)
    api.get("/api/portfolio")
    account = Account.objects.get(user=trader)
    now = timezone.now().replace(second=30, microsecond=0)
    Account.objects.filter(pk=account.pk).update(created_at=now - timedelta(minutes=10))
    # Minute closes: 100000, 101000, 99990, 100989.90 (then the live equity, 100000).
    values = [D("100000.00"), D("101000.00"), D("99990.00"), D("100989.90")]
    for minutes_ago, equity in zip((4, 3, 2, 1), values, strict=True):
        EquitySnapshot.objects.create(
            account=account,
            at=now - timedelta(minutes=minutes_ago),
            cash=equity,
            positions_value=0,
            equity=equity,
        )
    result = performance(user=trader, period="day", now=now)
    assert result is not None
    assert result.start_equity == D("100000.00")
    series = [value for _, value in result.curve]
    assert series[-5:] == [*values, D("100000.00")]
    # Peak 101000 -> trough 99990: 1.00 %.
    assert result.max_drawdown_pct == D("1.00")
    assert max_drawdown([D("100"), D("80"), D("120"), D("90")])[0] == D("25.00")
    import math
    import statistics

    returns = [float(b / a - 1) for a, b in itertools.pairwise(series)]
    per_year = 365 * 24 * 60
    expected_vol = statistics.stdev(returns) * math.sqrt(per_year) * 100
    expected_sharpe = statistics.fmean(returns) / statistics.stdev(returns) * math.sqrt(per_year)
    assert result.volatility_pct == D(str(expected_vol)).quantize(D("0.01"))
    assert result.sharpe_ratio == D(str(expected_sharpe)).quantize(D("0.01"))
    assert volatility_and_sharpe([D("1")], timedelta(minutes=1)) == (None, None)


def test_win_rate_best_and_worst_trade(client_for, trader, acme):
    api = client_for(trader)
    set_quotes(acme, asks=[("100.00", 30)])
    api.post("/api/trades", order_body(quantity=30), format="json")
    for price in ("104.00", "97.00", "102.00"):
        set_reference(acme, price)
        set_quotes(acme, bids=[(price, 10)])
        api.post("/api/trades", order_body(type="SELL"), format="json")
    body = api.get("/api/portfolio/performance?period=day").json()
    assert (body["closed_trades"], body["trades"]) == (3, 4)
    assert body["win_rate_pct"] == "66.67"
    assert (body["best_trade"], body["worst_trade"]) == ("40.00", "-30.00")
    assert body["realized_pnl"] == "30.00"
    assert api.get("/api/portfolio/performance?period=year").status_code == 400
