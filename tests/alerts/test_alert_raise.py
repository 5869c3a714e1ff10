"""Raising and acknowledging alerts: who sees them, de-duplication, the unread count, and the
system alerts made from health checks."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from alerts.models import Alert, Audience
from alerts.selectors import alerts_for, unread_count
from alerts.services import (
    alert_acknowledge,
    alert_raise,
    alerts_acknowledge_all,
    system_health_report,
)
from tests.alerts.conftest import raise_for, raise_for_managers
from tests.factories import UserFactory
from trading_demo.errors import NotFound
from trading_demo.models import Role

pytestmark = pytest.mark.django_db


def test_the_same_condition_raises_once_while_unacknowledged(trader):
    first = raise_for(trader, dedupe_key="risk:concentration:ACME")
    again = raise_for(trader, dedupe_key="risk:concentration:ACME", message="changed wording")
    assert again.pk == first.pk
    assert Alert.objects.count() == 1
    alert_acknowledge(user=trader, alert_id=first.pk)
    after = raise_for(trader, dedupe_key="risk:concentration:ACME")
    assert after.pk != first.pk
    assert Alert.objects.count() == 2


def test_dedupe_is_per_owner_and_alerts_without_a_key_always_raise(trader, trader2):
    mine = raise_for(trader, dedupe_key="quota:80")
    theirs = raise_for(trader2, dedupe_key="quota:80")
    assert mine.pk != theirs.pk
    raise_for(trader)
    raise_for(trader)
    assert alerts_for(user=trader).count() == 3


def test_managers_alerts_are_deduplicated_too(manager):
    first = raise_for_managers(dedupe_key="approval:42")
    second = raise_for_managers(dedupe_key="approval:42")
    assert first.pk == second.pk
    assert Alert.objects.filter(audience=Audience.MANAGERS).count() == 1


def test_managers_alerts_reach_every_manager_and_admin_but_no_trader(
    manager, admin_user, trader, viewer
):
    other_manager = UserFactory(role=Role.MANAGER)
    alert = raise_for_managers()
    for user in (manager, admin_user, other_manager):
        assert list(alerts_for(user=user)) == [alert]
        assert unread_count(user=user) == 1
    for user in (trader, viewer):
        assert not alerts_for(user=user).exists()
        assert unread_count(user=user) == 0
        with pytest.raises(NotFound):
            alert_acknowledge(user=user, alert_id=alert.pk)


def test_one_manager_acknowledges_for_all_and_it_records_who(manager, admin_user):
    alert = raise_for_managers()
    acknowledged = alert_acknowledge(user=manager, alert_id=alert.pk)
    assert acknowledged.acknowledged_by == manager
    assert unread_count(user=admin_user) == 0
    again = alert_acknowledge(user=admin_user, alert_id=alert.pk)
    assert again.acknowledged_by == manager
    assert again.acknowledged_at == acknowledged.acknowledged_at


def test_acknowledging_drops_the_unread_count(trader):
    alerts = [raise_for(trader, message=f"alert {n}") for n in range(3)]
    assert unread_count(user=trader) == 3
    alert_acknowledge(user=trader, alert_id=alerts[0].pk)
    assert unread_count(user=trader) == 2
    assert alerts_acknowledge_all(user=trader) == 2
    assert unread_count(user=trader) == 0
    assert alerts_acknowledge_all(user=trader) == 0


def test_acknowledge_all_by_a_manager_covers_own_and_managers_alerts(manager, trader):
    raise_for(manager)
    raise_for_managers()
    raise_for(trader)
    assert alerts_acknowledge_all(user=manager) == 2
    assert unread_count(user=trader) == 1


def test_another_users_or_an_unknown_alert_is_not_found(trader, trader2):
    alert = raise_for(trader)
    with pytest.raises(NotFound):
        alert_acknowledge(user=trader2, alert_id=alert.pk)
    with pytest.raises(NotFound):
        alert_acknowledge(user=trader, alert_id="not-a-uuid")
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_an_alert_has_one_owner_or_the_managers(trader):
    with pytest.raises(ValueError):
        alert_raise(type="risk", severity="low", message="x")
    with pytest.raises(ValueError):
        alert_raise(type="risk", severity="low", message="x", owner=trader, to_managers=True)
    with pytest.raises(ValueError):
        alert_raise(type="gossip", severity="low", message="x", owner=trader)
    with pytest.raises(ValueError):
        alert_raise(type="risk", severity="urgent", message="x", owner=trader)


def test_filters(trader):
    raise_for(trader, severity="low", type="quota")
    high = raise_for(trader, severity="high", type="risk")
    acknowledged = raise_for(trader, severity="high", type="quota")
    alert_acknowledge(user=trader, alert_id=acknowledged.pk)
    assert list(alerts_for(user=trader, severity="high", acknowledged=False)) == [high]
    assert list(alerts_for(user=trader, acknowledged=True)) == [acknowledged]
    assert alerts_for(user=trader, type="quota").count() == 2


# --- system health -------------------------------------------------------------------------


def test_a_check_going_down_and_up_alerts_the_managers_once_each_way(manager, trader):
    assert system_health_report(check="metering", ok=True, detail="SERVING") is None
    assert not Alert.objects.exists()

    down = system_health_report(check="metering", ok=False, detail="UNAVAILABLE")
    assert down is not None
    assert (down.type, down.severity, down.audience) == ("system", "high", "managers")
    assert "metering is down: UNAVAILABLE" in down.message
    assert system_health_report(check="metering", ok=False, detail="UNAVAILABLE") is None
    assert Alert.objects.count() == 1
    assert unread_count(user=manager) == 1 and unread_count(user=trader) == 0

    up = system_health_report(check="metering", ok=True, detail="SERVING")
    assert up is not None
    assert (up.severity, up.message) == ("low", "metering is back up")
    down.refresh_from_db()
    assert down.acknowledged_at is not None and down.acknowledged_by is None
    assert system_health_report(check="metering", ok=True, detail="SERVING") is None
    assert Alert.objects.count() == 2


def test_a_new_process_that_finds_the_check_up_closes_the_open_down_alert(manager):
    down = system_health_report(check="oversight", ok=False, detail="deadline exceeded")
    cache.clear()  # a restarted process knows nothing of the last state
    up = system_health_report(check="oversight", ok=True, detail="SERVING")
    assert up is not None
    down.refresh_from_db()
    assert down.acknowledged_at is not None


def test_a_check_down_again_after_acknowledgement_raises_a_new_alert(manager):
    first = system_health_report(check="database", ok=False, detail="locked")
    alert_acknowledge(user=manager, alert_id=first.pk)
    system_health_report(check="database", ok=True, detail="ok")
    second = system_health_report(check="database", ok=False, detail="locked")
    assert second is not None and second.pk != first.pk
