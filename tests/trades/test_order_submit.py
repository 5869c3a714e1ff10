"""POST /api/trades and the order life cycle, against the real matching path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolio.models import Account, Position
from tests.trades.conftest import order_body, set_quotes, set_reference
from trades.models import Execution, Order, Quote

pytestmark = pytest.mark.django_db
D = Decimal


def account(user) -> Account:
    return Account.objects.get(user=user)


def position(user, code="ACME") -> Position:
    return Position.objects.get(account__user=user, symbol_id=code)


def test_seed_scenario_to_the_cent(client_for, trader, acme):
    api = client_for(trader)
    set_quotes(acme, asks=[("100.00", 10)])
    assert api.post("/api/trades", order_body(), format="json").status_code == 201
    set_reference(acme, "110.00")
    set_quotes(acme, asks=[("110.00", 10)])
    assert api.post("/api/trades", order_body(), format="json").status_code == 201
    held = position(trader)
    assert (held.quantity, held.average_cost) == (20, D("105.0000"))
    assert account(trader).cash == D("100000.00") - D("2100.00")

    set_reference(acme, "120.00")
    set_quotes(acme, bids=[("120.00", 5)])
    sold = api.post("/api/trades", order_body(type="SELL", quantity=5), format="json")
    assert sold.status_code == 201
    assert sold.json()["fills"][0]["price"] == "120.00"
    held.refresh_from_db()
    assert (held.quantity, held.average_cost, held.realized_pnl) == (15, D("105.0000"), D("75.00"))
    assert account(trader).cash == D("100000.00") - D("2100.00") + D("600.00")
    assert account(trader).reserved_cash == 0


def test_market_order_walks_levels_and_reports_fills(client_for, trader, acme):
    set_quotes(acme, asks=[("100.05", 3), ("100.10", 4), ("100.20", 100)])
    response = client_for(trader).post("/api/trades", order_body(quantity=10), format="json")
    body = response.json()
    assert body["status"] == "filled" and body["filled_quantity"] == 10
    assert [(f["price"], f["quantity"]) for f in body["fills"]] == [
        ("100.05", 3),
        ("100.10", 4),
        ("100.20", 3),
    ]
    assert body["average_fill_price"] == str(
        ((D("100.05") * 3 + D("100.10") * 4 + D("100.20") * 3) / 10).quantize(D("0.0001"))
    )
    assert Quote.objects.get(price=D("100.20")).quantity == 97


def test_limit_order_rests_reserves_cash_and_shows_in_book(client_for, trader, acme):
    api = client_for(trader)
    response = api.post(
        "/api/trades",
        order_body(order_type="LIMIT", price="99.50", time_in_force="GTC"),
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "open"
    assert account(trader).reserved_cash == D("995.00")
    book = api.get("/api/market/ACME/book").json()
    assert book["bids"][0] == {"price": "99.50", "quantity": 10, "orders": 1, "own_quantity": 10}


def test_resting_limit_fills_against_another_traders_order(client_for, trader, trader2, acme):
    client_for(trader).post(
        "/api/trades",
        order_body(order_type="LIMIT", price="101.00", time_in_force="GTC", quantity=10),
        format="json",
    )
    set_quotes(acme, bids=[("100.00", 1000)])
    # trader2 has no shares: buys first from the market maker at the resting order's price.
    set_quotes(acme, asks=[("100.50", 20)])
    client_for(trader2).post("/api/trades", order_body(quantity=20), format="json")
    set_quotes(acme)
    sell = (
        client_for(trader2)
        .post(
            "/api/trades",
            order_body(
                type="SELL", quantity=15, order_type="LIMIT", price="100.90", time_in_force="GTC"
            ),
            format="json",
        )
        .json()
    )
    # Executes at the resting buyer's price (101.00), 10 shares; 5 rest on the book.
    assert [(f["price"], f["quantity"]) for f in sell["fills"]] == [("101.00", 10)]
    assert sell["status"] == "partially_filled"
    assert position(trader).quantity == 10
    assert position(trader2).reserved_quantity == 5
    resting = Order.objects.get(user=trader)
    assert resting.status == "filled" and account(trader).reserved_cash == 0


def test_ioc_cancels_the_rest_and_releases_cash(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 4)])
    body = (
        client_for(trader)
        .post(
            "/api/trades",
            order_body(order_type="LIMIT", price="100.00", time_in_force="IOC"),
            format="json",
        )
        .json()
    )
    assert (body["status"], body["filled_quantity"]) == ("cancelled", 4)
    assert "Immediate or cancel" in body["status_reason"]
    assert account(trader).reserved_cash == 0
    assert account(trader).cash == D("100000.00") - D("400.00")


def test_fok_is_all_or_nothing(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 4)])
    body = (
        client_for(trader)
        .post("/api/trades", order_body(time_in_force="FOK"), format="json")
        .json()
    )
    assert (body["status"], body["filled_quantity"], body["fills"]) == ("cancelled", 0, [])
    assert Quote.objects.get().quantity == 4
    assert account(trader).cash == D("100000.00")
    set_quotes(acme, asks=[("100.00", 4), ("100.01", 6)])
    body = (
        client_for(trader)
        .post("/api/trades", order_body(time_in_force="FOK"), format="json")
        .json()
    )
    assert (body["status"], body["filled_quantity"]) == ("filled", 10)


def test_market_order_with_no_liquidity_is_cancelled(client_for, trader, acme):
    body = client_for(trader).post("/api/trades", order_body(), format="json").json()
    assert body["status"] == "cancelled" and body["filled_quantity"] == 0
    assert Execution.objects.count() == 0


def test_self_trade_prevention_cancels_the_older_order(client_for, trader, acme):
    api = client_for(trader)
    set_quotes(acme, asks=[("100.00", 10)])
    api.post("/api/trades", order_body(), format="json")
    set_quotes(acme)
    older = api.post(
        "/api/trades",
        order_body(
            type="SELL", quantity=5, order_type="LIMIT", price="100.50", time_in_force="GTC"
        ),
        format="json",
    ).json()
    newer = api.post(
        "/api/trades",
        order_body(type="BUY", quantity=5, order_type="LIMIT", price="100.50", time_in_force="GTC"),
        format="json",
    ).json()
    assert newer["fills"] == [] and newer["status"] == "open"
    older_now = api.get(f"/api/trades/{older['id']}").json()
    assert older_now["status"] == "cancelled"
    assert "self-trade" in older_now["status_reason"]
    assert position(trader).reserved_quantity == 0


def test_stop_order_triggers_on_last_price_and_fills_as_market(client_for, trader, acme):
    from trades.services.matching import trigger_stops

    body = (
        client_for(trader)
        .post(
            "/api/trades",
            order_body(order_type="STOP", stop_price="102.00", time_in_force="GTC"),
            format="json",
        )
        .json()
    )
    assert body["status"] == "open" and body["fills"] == []
    # Reserved at the collar from the stop price: 10 x 112.20.
    assert account(trader).reserved_cash == D("1122.00")
    set_reference(acme, "102.10")
    set_quotes(acme, asks=[("102.20", 50)])
    trigger_stops(symbol=acme)
    order = Order.objects.get(pk=body["id"])
    assert order.status == "filled" and order.triggered_at is not None
    assert order.average_fill_price == D("102.2000")
    assert account(trader).reserved_cash == 0


def test_cancel_releases_reservation_and_second_cancel_is_409(client_for, trader, acme):
    api = client_for(trader)
    order = api.post(
        "/api/trades",
        order_body(order_type="LIMIT", price="99.00", time_in_force="GTC"),
        format="json",
    ).json()
    cancelled = api.delete(f"/api/trades/{order['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert account(trader).reserved_cash == 0
    again = api.delete(f"/api/trades/{order['id']}")
    assert again.status_code == 409
    assert again.json()["error"] == "not_cancelable"


def test_another_users_order_is_404(client_for, trader, trader2, acme):
    order = (
        client_for(trader)
        .post(
            "/api/trades",
            order_body(order_type="LIMIT", price="99.00", time_in_force="GTC"),
            format="json",
        )
        .json()
    )
    assert client_for(trader2).get(f"/api/trades/{order['id']}").status_code == 404
    assert client_for(trader2).delete(f"/api/trades/{order['id']}").status_code == 404
    assert Order.objects.get(pk=order["id"]).status == "open"


def test_idempotency_same_body_returns_original_different_body_conflicts(client_for, trader, acme):
    api = client_for(trader)
    set_quotes(acme, asks=[("100.00", 100)])
    body = order_body(client_order_id="my-order-1")
    first = api.post("/api/trades", body, format="json")
    again = api.post("/api/trades", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1 and Execution.objects.count() == 1
    other = api.post("/api/trades", {**body, "quantity": 11}, format="json")
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_conflict"
    assert Order.objects.count() == 1


def test_insufficient_funds_is_422_with_buying_power(client_for, trader, acme):
    response = client_for(trader).post(
        "/api/trades",
        order_body(quantity=2000, order_type="LIMIT", price="100.00", time_in_force="GTC"),
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"] == "insufficient_funds"
    assert response.json()["details"]["buying_power"] == "100000.00"
    assert Order.objects.count() == 0 and account(trader).reserved_cash == 0


def test_selling_more_than_held_is_422_with_held_quantity(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 3)])
    client_for(trader).post("/api/trades", order_body(quantity=3), format="json")
    response = client_for(trader).post(
        "/api/trades", order_body(type="SELL", quantity=4), format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"] == "insufficient_position"
    assert response.json()["details"]["held_quantity"] == 3
    assert Order.objects.count() == 1


def test_halted_symbol_is_422(client_for, trader, acme):
    acme.halted = True
    acme.save()
    response = client_for(trader).post("/api/trades", order_body(), format="json")
    assert response.status_code == 422
    assert response.json()["error"] == "symbol_halted"
    assert Order.objects.count() == 0


def test_viewer_cannot_trade_but_can_read(client_for, viewer, acme):
    api = client_for(viewer)
    response = api.post("/api/trades", order_body(), format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert api.get("/api/trades").status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": "10"}, "quantity"),
        ({"quantity": 1_000_001}, "quantity"),
        ({"symbol": "acme"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": "ABCDEFGHIJK"}, "symbol"),
        ({"symbol": "NOPE"}, "symbol"),
        ({"type": "HOLD"}, "type"),
        ({"order_type": "ICEBERG"}, "order_type"),
        ({"time_in_force": "FOREVER"}, "time_in_force"),
        ({"order_type": "LIMIT"}, "price"),
        ({"order_type": "STOP_LIMIT", "stop_price": "101.00"}, "price"),
        ({"order_type": "STOP"}, "stop_price"),
        ({"order_type": "STOP_LIMIT", "price": "101.00"}, "stop_price"),
        ({"order_type": "LIMIT", "price": "0"}, "price"),
        ({"order_type": "LIMIT", "price": "-1"}, "price"),
        ({"order_type": "LIMIT", "price": "100.123"}, "price"),
        ({"price": "100.00"}, "price"),
        ({"order_type": "LIMIT", "price": "111.00"}, "price"),
        ({"order_type": "LIMIT", "price": "89.99"}, "price"),
        ({"client_order_id": "x" * 49}, "client_order_id"),
        ({"client_order_id": "has spaces"}, "client_order_id"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    client_for, trader, acme, changes, field
):
    response = client_for(trader).post("/api/trades", order_body(**changes), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "validation_failed"
    assert field in response.json()["details"]
    assert Order.objects.count() == 0


def test_missing_fields_are_named(client_for, trader, acme):
    response = client_for(trader).post("/api/trades", {}, format="json")
    assert response.status_code == 400
    assert {"symbol", "type", "quantity"} <= set(response.json()["details"])


def test_list_is_paged_filtered_and_bounded(client_for, trader, acme):
    api = client_for(trader)
    for price in ("99.00", "99.10", "99.20"):
        api.post(
            "/api/trades",
            order_body(order_type="LIMIT", price=price, time_in_force="GTC"),
            format="json",
        )
    first = api.get("/api/trades?limit=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert [o["price"] for o in first["results"] + second["results"]] == ["99.20", "99.10", "99.00"]
    assert api.get("/api/trades?status=filled").json()["results"] == []
    assert len(api.get("/api/trades?limit=100000").json()["results"]) == 3
    assert api.get("/api/trades?status=bogus").status_code == 400


def test_csv_export_lists_fills(client_for, trader, acme):
    set_quotes(acme, asks=[("100.00", 4), ("100.50", 10)])
    client_for(trader).post("/api/trades", order_body(quantity=6), format="json")
    response = client_for(trader).get("/api/trades/export")
    assert response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("order_id,client_order_id")
    assert [line.split(",")[-2:] for line in lines[1:]] == [["4", "100.00"], ["2", "100.50"]]


def test_market_endpoints(client_for, trader, acme):
    api = client_for(trader)
    set_quotes(acme, bids=[("99.90", 100)], asks=[("100.10", 200)])
    quote = api.get("/api/market/ACME/quote").json()
    assert (quote["bid"], quote["ask"], quote["last_price"]) == ("99.90", "100.10", "100.00")
    assert api.get("/api/market/symbols").json()["results"][0]["symbol"] == "ACME"
    for path in ("quote", "book", "candles", "trades"):
        assert api.get(f"/api/market/NOPE/{path}").status_code == 404
        assert api.get(f"/api/market/acme/{path}").status_code == 404
    api.post("/api/trades", order_body(quantity=5), format="json")
    tape = api.get("/api/market/ACME/trades").json()["results"]
    assert [(t["price"], t["quantity"], t["aggressor_side"]) for t in tape] == [
        ("100.10", 5, "BUY")
    ]
    candle = api.get("/api/market/ACME/candles").json()["results"][-1]
    assert (candle["close"], candle["volume"]) == ("100.10", 5)
    assert api.get("/api/market/ACME/book?levels=0").status_code == 400
