"""Price alerts: created through the API with field-level validation, fired exactly once when the
simulated market crosses them, deleted while armed, re-armed after they fire."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from alerts.models import Alert, PriceAlert
from alerts.services import price_alert_create, price_alerts_evaluate
from trades.models import Symbol
from trades.services.market import market_tick
from trading_demo.errors import Forbidden

pytestmark = pytest.mark.django_db
D = Decimal


def body(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "symbol": "ACME",
        "condition": "above",
        "threshold": "100.50",
        "note": "take profit",
    }
    values.update(overrides)
    return values


def test_create_a_price_alert(client_for, trader, acme):
    response = client_for(trader).post("/api/alerts", body(), format="json")
    assert response.status_code == 201
    created = response.json()
    assert {key: created[key] for key in ("symbol", "condition", "threshold", "note", "state")} == {
        "symbol": "ACME",
        "condition": "above",
        "threshold": "100.50",
        "note": "take profit",
        "state": "armed",
    }
    assert created["triggered_at"] is None
    listed = client_for(trader).get("/api/alerts/price").json()["results"]
    assert [row["id"] for row in listed] == [created["id"]]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"symbol": "NOPE"}, "symbol"),
        ({"symbol": "acme"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"threshold": "0"}, "threshold"),
        ({"threshold": "-5"}, "threshold"),
        ({"threshold": "abc"}, "threshold"),
        ({"threshold": "100.123"}, "threshold"),
        ({"threshold": "NaN"}, "threshold"),
        ({"threshold": None}, "threshold"),
        ({"condition": "sideways"}, "condition"),
        ({"condition": "ABOVE"}, "condition"),
        ({"note": "x" * 201}, "note"),
    ],
)
def test_bad_input_is_400_naming_the_field(client_for, trader, acme, overrides, field):
    response = client_for(trader).post("/api/alerts", body(**overrides), format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "validation_failed"
    assert field in error["details"]
    assert error["message"].startswith(f"{field}:")
    assert not PriceAlert.objects.exists()


def test_missing_fields_are_named(client_for, trader, acme):
    response = client_for(trader).post("/api/alerts", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"symbol", "condition", "threshold"}


def test_viewers_cannot_create_price_alerts(client_for, viewer, acme):
    response = client_for(viewer).post("/api/alerts", body(), format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    with pytest.raises(Forbidden):
        price_alert_create(user=viewer, symbol="ACME", condition="above", threshold=D("1"))


def test_fires_exactly_once_when_the_simulated_price_crosses_it(trader, trader2, acme):
    """A price alert just above the current price, the market simulator driven tick by tick
    with a seeded random walk, each tick followed by the evaluation the market process runs."""
    threshold = acme.last_price + D("0.50")
    price_alert = price_alert_create(
        user=trader, symbol="ACME", condition="above", threshold=threshold
    )
    rng = random.Random(7)
    fired_at: list[int] = []
    crossings = 0
    for tick in range(400):
        symbol = market_tick(symbol_id="ACME", rng=rng, dt_years=1e-4)
        crossings += symbol.last_price >= threshold
        if price_alerts_evaluate(symbol_id="ACME", price=symbol.last_price):
            fired_at.append(tick)
        if crossings >= 5:
            break
    assert crossings >= 5, "the seeded walk should cross the threshold several times"
    assert len(fired_at) == 1
    price_alert.refresh_from_db()
    assert price_alert.state == "triggered"
    assert price_alert.triggered_price is not None and price_alert.triggered_price >= threshold
    alert = Alert.objects.get()
    assert (alert.owner, alert.type, alert.severity, alert.symbol) == (
        trader,
        "price",
        "medium",
        "ACME",
    )
    assert alert.message == f"ACME rose to {price_alert.triggered_price} (above {threshold})"
    assert alert.data["price_alert_id"] == str(price_alert.pk)
    assert not Alert.objects.filter(owner=trader2).exists()


def test_below_alert_and_the_message(trader, acme):
    price_alert_create(
        user=trader, symbol="ACME", condition="below", threshold=D("95.00"), note="buy the dip"
    )
    assert price_alerts_evaluate(symbol_id="ACME", price=D("95.01")) == 0
    assert price_alerts_evaluate(symbol_id="ACME", price=D("95.00")) == 1
    assert price_alerts_evaluate(symbol_id="ACME", price=D("90.00")) == 0
    assert Alert.objects.get().message == "ACME fell to 95.00 (below 95.00): buy the dip"


def test_only_the_symbols_alerts_are_evaluated(trader, acme):
    Symbol.objects.create(
        symbol="BETA",
        name="Beta",
        reference_price=D("50"),
        session_open_price=D("50"),
        last_price=D("50"),
        volatility=D("0.2"),
    )
    price_alert_create(user=trader, symbol="BETA", condition="above", threshold=D("60"))
    assert price_alerts_evaluate(symbol_id="ACME", price=D("70")) == 0
    assert price_alerts_evaluate(symbol_id="BETA", price=D("60")) == 1


def test_delete_an_armed_alert_but_not_a_triggered_one(client_for, trader, trader2, acme):
    api = client_for(trader)
    armed = api.post("/api/alerts", body(), format="json").json()
    fired = api.post("/api/alerts", body(threshold="99.00"), format="json").json()
    price_alerts_evaluate(symbol_id="ACME", price=D("99.50"))

    assert client_for(trader2).delete(f"/api/alerts/price/{armed['id']}").status_code == 404
    assert api.delete(f"/api/alerts/price/{armed['id']}").status_code == 204
    assert api.delete(f"/api/alerts/price/{armed['id']}").status_code == 404
    refused = api.delete(f"/api/alerts/price/{fired['id']}")
    assert refused.status_code == 409
    assert refused.json()["error"] == "conflict"
    assert PriceAlert.objects.filter(pk=fired["id"]).exists()


def test_delete_through_the_contract_path(client_for, trader, acme):
    api = client_for(trader)
    armed = api.post("/api/alerts", body(), format="json").json()
    assert api.delete(f"/api/alerts/{armed['id']}").status_code == 204
    assert not PriceAlert.objects.exists()


def test_rearm_fires_again_on_the_next_crossing(client_for, trader, trader2, acme):
    api = client_for(trader)
    created = api.post("/api/alerts", body(threshold="101.00"), format="json").json()
    assert price_alerts_evaluate(symbol_id="ACME", price=D("101.00")) == 1
    assert price_alerts_evaluate(symbol_id="ACME", price=D("102.00")) == 0

    assert client_for(trader2).post(f"/api/alerts/price/{created['id']}/rearm").status_code == 404
    rearmed = api.post(f"/api/alerts/price/{created['id']}/rearm")
    assert rearmed.status_code == 200
    assert rearmed.json()["state"] == "armed" and rearmed.json()["triggered_price"] is None
    assert api.post(f"/api/alerts/price/{created['id']}/rearm").json()["state"] == "armed"
    assert price_alerts_evaluate(symbol_id="ACME", price=D("101.50")) == 1
    assert Alert.objects.filter(owner=trader, type="price").count() == 2


def test_a_symbol_with_price_alerts_cannot_be_deleted(trader, acme):
    from django.db.models import ProtectedError

    price_alert_create(user=trader, symbol="ACME", condition="above", threshold=D("150"))
    with pytest.raises(ProtectedError):
        acme.delete()
