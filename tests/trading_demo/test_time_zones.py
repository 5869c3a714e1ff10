"""Each user's time zone: chosen in Settings or reported once by the browser; pages show their
times in it with the zone named, the API stays in UTC."""

from __future__ import annotations

import pytest

from tests.alerts.conftest import raise_for
from trading_demo.errors import ValidationFailed
from trading_demo.services import preferences_update, time_zone_report

pytestmark = pytest.mark.django_db


def test_a_zone_that_does_not_exist_is_refused_and_changes_nothing(trader):
    with pytest.raises(ValidationFailed):
        preferences_update(user=trader, time_zone="Mars/Olympus_Mons")
    trader.refresh_from_db()
    assert trader.time_zone == ""


def test_the_browser_zone_is_kept_only_until_the_user_chooses_one(trader):
    assert time_zone_report(user=trader, time_zone="America/New_York") is True
    preferences_update(user=trader, time_zone="Europe/Berlin")
    assert time_zone_report(user=trader, time_zone="Asia/Tokyo") is False
    trader.refresh_from_db()
    assert trader.time_zone == "Europe/Berlin"


def test_the_report_endpoint(client, trader):
    client.force_login(trader)
    assert client.post("/settings/time-zone/", {"time_zone": "Nowhere/Land"}).status_code == 400
    assert client.post("/settings/time-zone/", {"time_zone": "America/New_York"}).status_code == 204
    assert client.post("/settings/time-zone/", {"time_zone": "Asia/Tokyo"}).status_code == 200
    trader.refresh_from_db()
    assert trader.time_zone == "America/New_York"


def test_pages_show_the_users_zone_and_the_api_stays_utc(client, trader):
    alert = raise_for(trader, message="Position is 45 % of equity")
    preferences_update(user=trader, time_zone="America/New_York")
    client.force_login(trader)
    html = client.get("/alerts/").content.decode()
    eastern = alert.created_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    abbreviation = eastern.strftime("%Z")  # EST or EDT
    assert f"{eastern:%Y-%m-%d %H:%M:%S} {abbreviation}" in html
    body = client.get("/api/alerts").json()
    stamp = body["results"][0]["created_at"] if "results" in body else body[0]["created_at"]
    assert stamp.endswith(("Z", "+00:00"))


def test_settings_saves_the_zone(client, trader):
    client.force_login(trader)
    response = client.post("/settings/", {"time_zone": "Asia/Kolkata"})
    assert response.status_code == 302
    trader.refresh_from_db()
    assert trader.time_zone == "Asia/Kolkata"
    assert '<option value="Asia/Kolkata" selected>' in client.get("/settings/").content.decode()
