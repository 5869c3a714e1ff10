"""The Alerts page (list, filters, acknowledge, the price-alert form with inline validation,
delete and re-arm), the header bell, and the admin."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from alerts.models import PriceAlert, SlackMessage
from alerts.selectors import unread_count
from alerts.services import price_alert_create, price_alerts_evaluate, slack_messages_deliver
from tests.alerts.conftest import raise_for, raise_for_managers

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_page_shows_alerts_and_price_alerts(client, trader, acme):
    raise_for(trader, message="Position in ACME is 45 % of equity")
    price_alert_create(user=trader, symbol="ACME", condition="above", threshold=Decimal("120"))
    client.force_login(trader)
    response = client.get("/alerts/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Position in ACME is 45 % of equity" in html
    assert 'data-testid="price-alerts"' in html and "above 120.00" in html
    assert "1 unread" in html
    assert "<script>" not in html and "style=" not in html


def test_the_page_for_a_user_with_nothing(client, viewer, acme):
    client.force_login(viewer)
    html = client.get("/alerts/").content.decode()
    assert "You have no alerts." in html
    assert "price alerts are for traders" in html
    assert 'action="/alerts/price/"' not in html


def test_filters_return_the_list_partial_for_htmx(client, trader):
    raise_for(trader, severity="low", message="a low one")
    raise_for(trader, severity="high", message="a high one")
    client.force_login(trader)
    response = client.get("/alerts/?severity=high", HTTP_HX_TARGET="alert-list", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="alert-list"')
    assert "a high one" in html and "a low one" not in html
    full = client.get("/alerts/?severity=bogus").content.decode()
    assert "a high one" in full and "a low one" in full


def test_acknowledge_from_the_page(client, trader, trader2):
    alert = raise_for(trader)
    client.force_login(trader)
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acknowledged by tess@example.com" in html
    assert 'id="alert-bell"' in html and 'data-count="0"' in html
    assert unread_count(user=trader) == 0
    other = raise_for(trader2)
    assert client.post(f"/alerts/{other.pk}/acknowledge/").status_code == 404
    # Without JavaScript: a plain form post and a redirect back.
    third = raise_for(trader)
    plain = client.post(f"/alerts/{third.pk}/acknowledge/")
    assert plain.status_code == 302 and plain["Location"] == "/alerts/"


def test_acknowledge_from_a_toast(client, trader):
    alert = raise_for(trader)
    client.force_login(trader)
    response = client.post(
        f"/alerts/{alert.pk}/acknowledge/", HTTP_HX_TARGET=f"toast-{alert.pk}", **HTMX
    )
    assert response.status_code == 200 and response.content == b""
    assert unread_count(user=trader) == 0


def test_acknowledge_keeps_the_page_of_the_list(client, trader):
    alerts = [raise_for(trader, message=f"alert {n}") for n in range(55)]
    client.force_login(trader)
    html = client.post(
        f"/alerts/{alerts[0].pk}/acknowledge/", {"page": "2", "severity": "medium"}, **HTMX
    ).content.decode()
    assert "Page 2 of 2" in html and 'id="alert-list-page" name="page" value="2"' in html
    assert "alert 0" in html  # the oldest, now acknowledged, is on the second page


def test_acknowledge_all_from_the_page(client, manager):
    raise_for(manager)
    raise_for_managers()
    client.force_login(manager)
    html = client.post("/alerts/acknowledge-all/", **HTMX).content.decode()
    assert "acknowledged 2" in html and "0 unread" in html
    assert unread_count(user=manager) == 0


def test_create_a_price_alert_from_the_page(client, trader, acme):
    client.force_login(trader)
    response = client.post(
        "/alerts/price/",
        {"symbol": "ACME", "condition": "below", "threshold": "95.50", "note": "add more"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Armed: ACME below 95.50." in html
    assert 'id="price-alerts" hx-swap-oob="true"' in html
    price_alert = PriceAlert.objects.get()
    assert (price_alert.condition, price_alert.threshold, price_alert.note) == (
        "below",
        Decimal("95.50"),
        "add more",
    )


def test_the_form_shows_errors_inline(client, trader, acme):
    client.force_login(trader)
    response = client.post(
        "/alerts/price/", {"symbol": "ACME", "condition": "above", "threshold": "-1"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps 2xx only; the errors are in the form
    error = re.search(r'id="pa-threshold-error"[^>]*>([^<]*)<', html)
    assert error is not None and "0.01" in error.group(1)
    assert not PriceAlert.objects.exists()
    plain = client.post("/alerts/price/", {"symbol": "ACME", "condition": "up", "threshold": "1"})
    assert plain.status_code == 400
    assert "&quot;up&quot; is not a valid choice." in plain.content.decode()


def test_inline_validation_while_typing(client, trader, acme):
    client.force_login(trader)
    bad = client.post(
        "/alerts/price/validate/",
        {"_field": "threshold", "symbol": "ACME", "condition": "above", "threshold": "1.234"},
        **HTMX,
    ).content.decode()
    assert 'id="pa-threshold-error"' in bad and "2 decimal places" in bad
    good = client.post(
        "/alerts/price/validate/",
        {"_field": "threshold", "symbol": "ACME", "condition": "above", "threshold": "101"},
        **HTMX,
    ).content.decode()
    assert re.search(r'id="pa-threshold-error"[^>]*></p>', good)
    symbol = client.post(
        "/alerts/price/validate/",
        {"_field": "symbol", "symbol": "ACME", "condition": "above", "threshold": ""},
        **HTMX,
    ).content.decode()
    assert 'id="pa-quote" class="muted small-print" hx-swap-oob="true"' in symbol
    assert "ACME is at 100.00." in symbol
    assert client.post("/alerts/price/validate/", {"_field": "owner"}).status_code == 400


def test_viewers_cannot_create_from_the_page(client, viewer, acme):
    client.force_login(viewer)
    response = client.post(
        "/alerts/price/", {"symbol": "ACME", "condition": "above", "threshold": "101"}
    )
    assert response.status_code == 403
    assert not PriceAlert.objects.exists()


def test_delete_and_rearm_from_the_page(client, trader, trader2, acme):
    armed = price_alert_create(
        user=trader, symbol="ACME", condition="above", threshold=Decimal("120")
    )
    fired = price_alert_create(
        user=trader, symbol="ACME", condition="above", threshold=Decimal("101")
    )
    price_alerts_evaluate(symbol_id="ACME", price=Decimal("101"))
    client.force_login(trader)
    html = client.get("/alerts/").content.decode()
    assert f'action="/alerts/price/{armed.pk}/delete/"' in html
    assert f'action="/alerts/price/{fired.pk}/rearm/"' in html
    assert f'action="/alerts/price/{fired.pk}/delete/"' not in html

    response = client.post(f"/alerts/price/{armed.pk}/delete/", **HTMX)
    assert response.status_code == 200 and not PriceAlert.objects.filter(pk=armed.pk).exists()
    conflict = client.post(f"/alerts/price/{fired.pk}/delete/", **HTMX).content.decode()
    assert "re-arm it to use it again" in conflict
    client.post(f"/alerts/price/{fired.pk}/rearm/", **HTMX)
    fired.refresh_from_db()
    assert fired.state == "armed"
    client.force_login(trader2)
    assert client.post(f"/alerts/price/{fired.pk}/delete/").status_code == 404
    assert client.post(f"/alerts/price/{fired.pk}/rearm/").status_code == 404


def test_the_bell_and_toast_container_tags(trader):
    raise_for(trader)
    raise_for(trader)
    request = RequestFactory().get("/")
    request.user = trader
    html = Template("{% load alerts_tags %}{% alert_bell %}{% alert_toasts %}").render(
        Context({"request": request})
    )
    assert 'id="alert-bell"' in html and 'data-count="2"' in html
    assert "hx-swap-oob" not in html
    assert '<div id="toasts"' in html and 'aria-live="polite"' in html


# --- admin ----------------------------------------------------------------------------------


def test_admin_lists_and_acknowledges_only_what_the_user_may(client, admin_user, trader):
    managers_alert = raise_for_managers()
    traders_alert = raise_for(trader)
    client.force_login(admin_user)
    assert client.get("/admin/alerts/alert/").status_code == 200
    assert client.get(f"/admin/alerts/alert/{managers_alert.pk}/change/").status_code == 200
    response = client.post(
        "/admin/alerts/alert/",
        {
            "action": "acknowledge",
            "_selected_action": [str(managers_alert.pk), str(traders_alert.pk)],
        },
        follow=True,
    )
    assert "Acknowledged 1 alert(s). Skipped 1 that belong to other users." in (
        response.content.decode()
    )
    managers_alert.refresh_from_db()
    traders_alert.refresh_from_db()
    assert managers_alert.acknowledged_by == admin_user
    assert traders_alert.acknowledged_at is None


def test_admin_price_alerts_and_slack_retry(client, admin_user, trader, acme, slack):
    price_alert_create(user=trader, symbol="ACME", condition="above", threshold=Decimal("120"))
    slack.down = True
    raise_for_managers()
    slack_messages_deliver()
    slack.down = False
    message = SlackMessage.objects.get()
    client.force_login(admin_user)
    assert client.get("/admin/alerts/pricealert/").status_code == 200
    assert client.get("/admin/alerts/slackmessage/").status_code == 200
    client.post(
        "/admin/alerts/slackmessage/",
        {"action": "retry_now", "_selected_action": [str(message.pk)]},
    )
    assert slack_messages_deliver().delivered == 1
    assert len(slack.received) == 1
