"""Modify (replace) an order, close a position, cancel all: POST /api/trades/{id}/replace,
POST /api/portfolio/positions/{symbol}/close, POST /api/trades/cancel-all, against the real
intake, matching and oversight server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from metering.models import UsageRecord
from oversight.models import ApprovalRequest
from portfolio.models import Account, Position
from tests.trades.conftest import order_body, set_quotes
from trades.models import Order

pytestmark = pytest.mark.django_db
D = Decimal


def resting_buy(api, **overrides: object) -> dict:
    fields: dict[str, object] = {
        "quantity": 10,
        "order_type": "LIMIT",
        "price": "99.00",
        "time_in_force": "GTC",
    }
    body = order_body(**(fields | overrides))
    response = api.post("/api/trades", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "open"
    return response.json()


def account(user) -> Account:
    return Account.objects.get(user=user)


def test_replace_moves_the_limit_and_keeps_one_reservation(client_for, trader, acme):
    api = client_for(trader)
    old = resting_buy(api)
    assert account(trader).reserved_cash == D("990.00")

    response = api.post(
        f"/api/trades/{old['id']}/replace", {"price": "98.50", "quantity": 20}, format="json"
    )

    assert response.status_code == 201, response.json()
    new = response.json()
    assert new["id"] != old["id"] and new["replaces"] == old["id"]
    assert (new["status"], new["price"], new["quantity"]) == ("open", "98.50", 20)
    assert new["risk_level"] == "LOW" and new["risk_score"] is not None
    shown = api.get(f"/api/trades/{old['id']}").json()
    assert shown["status"] == "replaced" and shown["replaced_by"] == new["id"]
    # Only the new order reserves cash: the old reservation was released, not added to.
    assert account(trader).reserved_cash == D("1970.00")
    assert UsageRecord.objects.filter(user=trader, operation="trade.cancel").count() == 1


def test_a_refused_replacement_leaves_the_old_order_resting(client_for, trader, acme):
    api = client_for(trader)
    old = resting_buy(api)
    before = Order.objects.get(pk=old["id"])

    outside_collar = api.post(
        f"/api/trades/{old['id']}/replace", {"price": "150.00"}, format="json"
    )
    too_big = api.post(f"/api/trades/{old['id']}/replace", {"quantity": 5000}, format="json")

    assert outside_collar.status_code == 400
    assert outside_collar.json()["error"] == "validation_failed"
    assert too_big.status_code == 422 and too_big.json()["error"] == "insufficient_funds"
    after = Order.objects.get(pk=old["id"])
    assert (after.status, after.price, after.seq) == ("open", before.price, before.seq)
    assert Order.objects.filter(user=trader).count() == 1
    assert account(trader).reserved_cash == D("990.00")
    assert not UsageRecord.objects.filter(user=trader, operation="trade.cancel").exists()


def test_replacement_is_checked_against_the_released_reservation(client_for, trader, acme):
    """9,000 of 10,000 cash reserved by the old order: a 9,500 replacement fits once it is
    released, and is scored like any order of that size (over the line: held for approval)."""
    api = client_for(trader)
    old = resting_buy(api, quantity=90)
    Account.objects.filter(user=trader).update(cash=D("10000.00"))
    assert account(trader).reserved_cash == D("8910.00")

    response = api.post(
        f"/api/trades/{old['id']}/replace", {"quantity": 95, "price": "100.00"}, format="json"
    )

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending_approval" and body["risk_level"] == "HIGH"
    assert ApprovalRequest.objects.filter(order_id=body["id"], state="pending").exists()
    assert account(trader).reserved_cash == D("9500.00")


def test_only_open_orders_of_your_own_can_be_replaced(client_for, trader, trader2, acme):
    set_quotes(acme, asks=[("100.00", 50)])
    api = client_for(trader)
    filled = api.post("/api/trades", order_body(), format="json").json()
    assert filled["status"] == "filled"
    mine = resting_buy(api)

    not_open = api.post(f"/api/trades/{filled['id']}/replace", {"quantity": 5}, format="json")
    theirs = client_for(trader2).post(
        f"/api/trades/{mine['id']}/replace", {"quantity": 5}, format="json"
    )
    nothing = api.post(f"/api/trades/{mine['id']}/replace", {}, format="json")

    assert not_open.status_code == 409 and not_open.json()["error"] == "not_cancelable"
    assert theirs.status_code == 404
    assert nothing.status_code == 400
    assert Order.objects.get(pk=mine["id"]).status == "open"


def test_close_position_sells_the_free_quantity_at_market(client_for, trader, acme):
    api = client_for(trader)
    set_quotes(acme, asks=[("100.00", 50)])
    assert api.post("/api/trades", order_body(quantity=30), format="json").status_code == 201
    resting_sell = api.post(
        "/api/trades",
        order_body(
            type="SELL", quantity=10, order_type="LIMIT", price="105.00", time_in_force="GTC"
        ),
        format="json",
    )
    assert resting_sell.status_code == 201
    set_quotes(acme, bids=[("99.50", 100)])

    response = api.post("/api/portfolio/positions/ACME/close", format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["type"], body["order_type"], body["quantity"]) == ("SELL", "MARKET", 20)
    assert body["status"] == "filled" and body["fills"][0]["price"] == "99.50"
    held = Position.objects.get(account__user=trader, symbol_id="ACME")
    assert (held.quantity, held.reserved_quantity) == (10, 10)

    again = api.post("/api/portfolio/positions/ACME/close", format="json")
    assert again.status_code == 422 and again.json()["error"] == "insufficient_position"
    none = api.post("/api/portfolio/positions/ZZZ/close", format="json")
    assert none.status_code == 404


def test_cancel_all_cancels_every_open_order_and_bills_each(client_for, trader, trader2, acme):
    api = client_for(trader)
    first = resting_buy(api)
    second = resting_buy(api, price="98.00")
    other = resting_buy(client_for(trader2))

    response = api.post("/api/trades/cancel-all", format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["cancelled"], body["remaining"]) == (2, 0)
    assert {r["id"] for r in body["results"]} == {first["id"], second["id"]}
    assert {r["status"] for r in body["results"]} == {"cancelled"}
    assert Order.objects.get(pk=other["id"]).status == "open"
    assert account(trader).reserved_cash == 0
    assert UsageRecord.objects.filter(user=trader, operation="trade.cancel").count() == 2


def test_viewers_cannot_amend(client_for, viewer, trader, acme):
    order = resting_buy(client_for(trader))
    api = client_for(viewer)
    assert (
        api.post(f"/api/trades/{order['id']}/replace", {"quantity": 5}, format="json").status_code
        == 403
    )
    assert api.post("/api/trades/cancel-all", format="json").status_code == 403
    assert api.post("/api/portfolio/positions/ACME/close", format="json").status_code == 403
