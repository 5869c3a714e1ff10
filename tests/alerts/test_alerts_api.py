"""GET /api/alerts (filters, cursor pages), PUT /api/alerts/{id}/acknowledge and
POST /api/alerts/acknowledge-all."""

from __future__ import annotations

import uuid

import pytest

from tests.alerts.conftest import raise_for, raise_for_managers

pytestmark = pytest.mark.django_db


def test_list_newest_first_with_the_contract_fields(client_for, trader, trader2):
    older = raise_for(trader, message="older")
    newer = raise_for(trader, message="newer", data={"position_pct": "45.2"})
    raise_for(trader2, message="not mine")
    response = client_for(trader).get("/api/alerts")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [str(newer.pk), str(older.pk)]
    assert rows[0] == {
        "id": str(newer.pk),
        "type": "risk",
        "severity": "medium",
        "message": "newer",
        "symbol": "ACME",
        "data": {"position_pct": "45.2"},
        "audience": "user",
        "created_at": rows[0]["created_at"],
        "acknowledged": False,
        "acknowledged_at": None,
        "acknowledged_by": None,
    }


def test_filters_and_bad_filters(client_for, trader):
    api = client_for(trader)
    low = raise_for(trader, severity="low", type="quota")
    high = raise_for(trader, severity="high", type="risk")
    api.put(f"/api/alerts/{low.pk}/acknowledge")

    def ids(query: str) -> list[str]:
        return [row["id"] for row in api.get(f"/api/alerts?{query}").json()["results"]]

    assert ids("acknowledged=false") == [str(high.pk)]
    assert ids("acknowledged=true") == [str(low.pk)]
    assert ids("severity=high") == [str(high.pk)]
    assert ids("type=quota") == [str(low.pk)]
    assert ids("type=quota&acknowledged=false") == []
    for query, field in [
        ("severity=urgent", "severity"),
        ("type=gossip", "type"),
        ("acknowledged=maybe", "acknowledged"),
    ]:
        response = api.get(f"/api/alerts?{query}")
        assert response.status_code == 400
        assert field in response.json()["details"]


def test_cursor_pages(client_for, trader):
    for n in range(5):
        raise_for(trader, message=f"alert {n}")
    api = client_for(trader)
    first = api.get("/api/alerts?limit=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    seen = {row["id"] for row in first["results"]} | {row["id"] for row in second["results"]}
    assert len(seen) == 4


def test_acknowledge_records_who_and_when_and_twice_is_the_same(client_for, trader):
    alert = raise_for(trader)
    api = client_for(trader)
    first = api.put(f"/api/alerts/{alert.pk}/acknowledge")
    assert first.status_code == 200
    body = first.json()
    assert body["acknowledged"] is True
    assert body["acknowledged_by"] == str(trader.pk)
    assert body["acknowledged_at"]
    second = api.put(f"/api/alerts/{alert.pk}/acknowledge")
    assert second.status_code == 200
    assert second.json() == body


def test_acknowledging_another_users_alert_or_an_unknown_one_is_404(client_for, trader, trader2):
    alert = raise_for(trader)
    theirs = client_for(trader2).put(f"/api/alerts/{alert.pk}/acknowledge")
    assert theirs.status_code == 404
    assert theirs.json()["error"] == "not_found"
    unknown = client_for(trader).put(f"/api/alerts/{uuid.uuid4()}/acknowledge")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    malformed = client_for(trader).put("/api/alerts/12345/acknowledge")
    assert malformed.status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_managers_alerts_in_the_api(client_for, manager, admin_user, trader):
    alert = raise_for_managers()
    assert [r["id"] for r in client_for(manager).get("/api/alerts").json()["results"]] == [
        str(alert.pk)
    ]
    assert client_for(trader).get("/api/alerts").json()["results"] == []
    assert client_for(trader).put(f"/api/alerts/{alert.pk}/acknowledge").status_code == 404
    acknowledged = client_for(admin_user).put(f"/api/alerts/{alert.pk}/acknowledge").json()
    assert acknowledged["acknowledged_by"] == str(admin_user.pk)
    seen_by_manager = client_for(manager).get("/api/alerts").json()["results"][0]
    assert seen_by_manager["acknowledged_by"] == str(admin_user.pk)


def test_acknowledge_all(client_for, trader, trader2):
    for n in range(3):
        raise_for(trader, message=f"alert {n}")
    raise_for(trader2)
    api = client_for(trader)
    assert api.post("/api/alerts/acknowledge-all").json() == {"acknowledged": 3}
    assert api.get("/api/alerts?acknowledged=false").json()["results"] == []
    assert client_for(trader2).get("/api/alerts?acknowledged=false").json()["results"] != []


def test_viewers_read_and_acknowledge_their_own_alerts(client_for, viewer):
    alert = raise_for(viewer, type="quota")
    api = client_for(viewer)
    assert api.get("/api/alerts").status_code == 200
    assert api.put(f"/api/alerts/{alert.pk}/acknowledge").status_code == 200


def test_anonymous_is_401(api):
    assert api.get("/api/alerts").status_code == 401
    assert api.post("/api/alerts/acknowledge-all").status_code == 401


def test_other_alerts_cannot_be_made_through_the_api(client_for, trader, acme):
    response = client_for(trader).post(
        "/api/alerts",
        {"type": "system", "severity": "critical", "message": "fake"},
        format="json",
    )
    assert response.status_code == 400
