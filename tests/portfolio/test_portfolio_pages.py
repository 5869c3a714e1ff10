from __future__ import annotations

import pytest

from portfolio.models import Account
from tests.trades.conftest import order_body, set_quotes

pytestmark = pytest.mark.django_db


def test_portfolio_page_shows_positions_pnl_and_allocation(client, client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 50)])
    client_for(trader).post("/api/trades", order_body(quantity=50), format="json")
    client.force_login(trader)
    html = client.get("/portfolio/").content.decode()
    assert 'id="pos-ACME"' in html
    assert "5,000.00" in html  # market value at the 100.00 mark
    assert 'data-testid="allocation-chart"' in html and "<svg" in html
    assert "Cash" in html


def test_positions_sort_by_value(client, client_for, trader, acme):
    from tests.trades.conftest import make_symbol

    other = make_symbol("BETA", "50.00")
    set_quotes(acme, asks=[("100.00", 10)])
    set_quotes(other, asks=[("50.00", 100)])
    api = client_for(trader)
    api.post("/api/trades", order_body(), format="json")
    api.post("/api/trades", order_body(symbol="BETA", quantity=100), format="json")
    client.force_login(trader)
    by_value = client.get("/portfolio/?sort=-value").content.decode()
    assert by_value.index('id="pos-BETA"') < by_value.index('id="pos-ACME"')
    by_symbol = client.get("/portfolio/?sort=symbol").content.decode()
    assert by_symbol.index('id="pos-ACME"') < by_symbol.index('id="pos-BETA"')


@pytest.mark.parametrize("period", ["day", "week", "month", "all"])
def test_analytics_page_renders_each_period(client, trader, period):
    client.force_login(trader)
    response = client.get(f"/analytics/?period={period}", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="report"' in html and "Max drawdown" in html and "<svg" in html


def test_reset_needs_the_word_and_then_starts_over(client, client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 10)])
    client_for(trader).post("/api/trades", order_body(), format="json")
    client.force_login(trader)
    client.post("/portfolio/reset/", {"confirm_text": "nope"})
    assert Account.objects.get(user=trader).positions.filter(quantity__gt=0).exists()
    response = client.post("/portfolio/reset/", {"confirm_text": "RESET"})
    assert response.status_code == 302
    account = Account.objects.get(user=trader)
    assert account.cash == account.starting_cash
    assert not account.positions.exists()


def test_viewer_cannot_reset_from_the_page(client, viewer):
    client.force_login(viewer)
    client.post("/portfolio/reset/", {"confirm_text": "RESET"})
    assert "Reset your paper account" not in client.get("/settings/").content.decode()
