"""How the pages word money, orders, names and alerts (trading_demo/templatetags/ui_tags.py)
and where that shows."""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from oversight.models import ApprovalState
from oversight.ui import approvals_refresh
from tests.alerts.conftest import raise_for
from tests.oversight.test_approvals_admin import hold_order
from trading_demo.templatetags.ui_tags import label, money, order_terms, signed_money


def test_money_has_the_dollar_sign_separators_and_cents():
    assert money(D("-1.92000000000000")) == "-$1.92"
    assert money(D("100000")) == "$100,000.00"
    assert money(None) == "—"
    assert signed_money(D("12")) == "+$12.00"
    assert signed_money(D("0")) == "$0.00"


@pytest.mark.parametrize(
    ("order_type", "price", "stop", "expected"),
    [
        ("MARKET", None, None, "Market · GTC"),
        ("LIMIT", D("230.78"), None, "Limit 230.78 · GTC"),
        ("STOP", None, D("230.78"), "Stop 230.78 · GTC"),
        ("STOP_LIMIT", D("230.50"), D("231.00"), "Stop 231.00, limit 230.50 · GTC"),
    ],
)
def test_order_terms_name_each_price_once(order_type, price, stop, expected):
    order = SimpleNamespace(
        order_type=order_type, price=price, stop_price=stop, time_in_force="GTC"
    )
    assert order_terms(order) == expected


def test_service_names_read_as_words():
    assert label("channel_layer") == "Channel layer"


@pytest.mark.django_db
def test_the_footer_names_the_channel_layer_in_words(client, trader):
    client.force_login(trader)
    html = client.get("/status/").content.decode()
    assert "Channel layer: up" in html and "Channel_layer" not in html


@pytest.mark.django_db
def test_an_alert_that_names_its_symbol_does_not_repeat_it(client, trader):
    raise_for(trader, message="ACME fell to 95.00", dedupe_key="a")
    raise_for(trader, message="Position is 45 % of equity", dedupe_key="b")
    client.force_login(trader)
    html = client.get("/alerts/").content.decode()
    assert "ACME</strong> ACME" not in html and "ACME fell to 95.00" in html
    assert "<strong>ACME</strong> Position is 45 % of equity" in html


@pytest.mark.django_db
def test_a_new_request_clears_the_last_decision_notice(manager, trader, acme, client_for):
    approval = hold_order(client_for, trader)
    html = approvals_refresh(manager, {"id": str(approval.pk), "state": ApprovalState.PENDING})
    assert 'id="decision-result"' in html and "decision-notice" not in html
    decided = approvals_refresh(manager, {"id": str(approval.pk), "state": "approved"})
    assert 'id="decision-result"' not in decided
