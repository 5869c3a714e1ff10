from __future__ import annotations

import pytest

from tests.trades.conftest import order_body, set_quotes
from trades.models import Quote

pytestmark = pytest.mark.django_db


def test_admin_halts_and_resumes_a_symbol(client, admin_user, acme, client_for, trader):
    set_quotes(acme, asks=[("100.10", 100)])
    client.force_login(admin_user)
    response = client.post(
        "/admin/trades/symbol/",
        {
            "action": "halt",
            "_selected_action": ["ACME"],
        },
    )
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.halted
    assert Quote.objects.get().quantity == 0
    refused = client_for(trader).post("/api/trades", order_body(), format="json")
    assert refused.status_code == 422
    client.post("/admin/trades/symbol/", {"action": "resume", "_selected_action": ["ACME"]})
    acme.refresh_from_db()
    assert not acme.halted


def test_orders_are_read_only_in_admin(client, admin_user, acme, client_for, trader):
    set_quotes(acme, asks=[("100.10", 100)])
    order = client_for(trader).post("/api/trades", order_body(), format="json").json()
    client.force_login(admin_user)
    assert client.get("/admin/trades/order/").status_code == 200
    page = client.get(f"/admin/trades/order/{order['id']}/change/")
    assert page.status_code == 200 and b'name="quantity"' not in page.content


def test_manager_sees_orders_but_cannot_halt(client, manager, acme):
    from trading_demo.services import roles_sync

    roles_sync()
    client.force_login(manager)
    assert client.get("/admin/trades/order/").status_code == 200
    client.post("/admin/trades/symbol/", {"action": "halt", "_selected_action": ["ACME"]})
    acme.refresh_from_db()
    assert not acme.halted
