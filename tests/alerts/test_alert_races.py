"""Races: the same condition raised by many threads at once is one alert; a price alert
evaluated by many ticks at once fires once. Real threads, each with its own connection."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alerts.models import Alert, PriceAlert
from alerts.services import price_alert_create, price_alerts_evaluate
from tests.alerts.conftest import raise_for, raise_for_managers
from tests.threads import at_once
from tests.trades.conftest import make_symbol

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 12


def test_the_same_condition_raised_at_once_is_one_alert(trader, manager):
    mine = at_once([lambda: raise_for(trader, dedupe_key="quota:95").pk] * THREADS)
    theirs = at_once([lambda: raise_for_managers(dedupe_key="system:metering").pk] * THREADS)
    assert len(set(mine)) == 1 and len(mine) == THREADS
    assert len(set(theirs)) == 1 and len(theirs) == THREADS
    assert Alert.objects.count() == 2


def test_a_price_alert_evaluated_by_simultaneous_ticks_fires_once(trader):
    make_symbol()
    price_alert_create(user=trader, symbol="ACME", condition="above", threshold=Decimal("101"))
    fired = at_once(
        [lambda: price_alerts_evaluate(symbol_id="ACME", price=Decimal("101.50"))] * THREADS
    )
    assert sum(fired) == 1  # type: ignore[arg-type]
    assert Alert.objects.filter(type="price").count() == 1
    assert PriceAlert.objects.get().state == "triggered"
