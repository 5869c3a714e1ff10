from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.ledger import account_ensure
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = ["/", "/portfolio/", "/analytics/", "/metering/", "/alerts/", "/settings/"]


@pytest.mark.parametrize("path", [*PAGES, "/approvals/"])
def test_pages_send_anonymous_visitors_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_a_viewer(client, viewer, path):
    client.force_login(viewer)
    response = client.get(path)
    assert response.status_code == 200
    assert b'aria-current="page"' in response.content


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("trader", 403), ("manager", 200), ("admin_user", 200)]
)
def test_approvals_page_is_for_managers(request, client, role, status):
    client.force_login(request.getfixturevalue(role))
    assert client.get("/approvals/").status_code == status


def test_navigation_shows_approvals_and_admin_only_to_managers(client, trader, manager):
    client.force_login(trader)
    html = client.get("/").content.decode()
    assert "Approvals" not in html and "/admin/" not in html
    client.force_login(manager)
    html = client.get("/").content.decode()
    assert "/approvals/" in html and "/admin/" in html


def test_login_page_signs_in_and_out(client, trader):
    response = client.post("/login/", {"username": trader.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_login_page_shows_error_for_wrong_password(client, trader):
    response = client.post("/login/", {"username": trader.email, "password": "nope"})
    assert response.status_code == 200
    assert "Wrong email or password." in response.content.decode()


def test_csp_forbids_inline_scripts_and_pages_have_none(client, trader):
    client.force_login(trader)
    for path in PAGES:
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        html = response.content.decode()
        assert "<script>" not in html and " style=" not in html
        assert html.count("<script") == html.count("<script src=")


def test_settings_page_saves_theme(client, trader):
    client.force_login(trader)
    response = client.post("/settings/", {"theme": "dark", "toast_min_severity": "high"})
    assert response.status_code == 302
    trader.refresh_from_db()
    assert (trader.theme, trader.toast_min_severity) == ("dark", "high")
    assert 'data-theme="dark"' in client.get("/").content.decode()


def test_settings_page_rejects_bad_theme_and_changes_nothing(client, trader):
    client.force_login(trader)
    client.post("/settings/", {"theme": "neon", "toast_min_severity": "high"})
    trader.refresh_from_db()
    assert (trader.theme, trader.toast_min_severity) == ("light", "low")


def test_settings_page_creates_shows_once_and_revokes_tokens(client, trader):
    client.force_login(trader)
    response = client.post("/settings/tokens/", {"name": "notebook"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    token = trader.api_tokens.get()
    key = re.search(r'<code class="secret">(td_[^<]+)</code>', html).group(1)
    assert token.key_hash == token.hash_key(key)
    assert key not in client.get("/settings/").content.decode()
    client.post(f"/settings/tokens/{token.id}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_settings_page_cannot_revoke_another_users_token(client, trader, trader2):
    client.force_login(trader)
    client.post("/settings/tokens/", {"name": "mine"})
    token = trader.api_tokens.get()
    client.force_login(trader2)
    assert client.post(f"/settings/tokens/{token.id}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_forms_require_csrf(trader):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(trader)
    assert strict.post("/settings/", {"theme": "dark"}).status_code == 403


def test_manager_can_open_django_admin_and_trader_cannot(client, manager, trader):
    client.force_login(manager)
    assert client.get("/admin/").status_code == 200
    client.force_login(trader)
    assert client.get("/admin/").status_code == 302


def test_openapi_schema_and_docs_are_served_without_a_cdn(client, trader):
    client.force_login(trader)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/auth/login", "/api/auth/refresh", "/api/auth/me"} <= set(paths)
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "/static/drf_spectacular_sidecar/" in docs


def test_the_dashboard_reads_the_account_summary_once(client, trader, acme):
    # The orders panel's positions and the sidebar's account card share one read (and so one
    # price snapshot).
    account_ensure(user=trader)
    client.force_login(trader)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    account_reads = [q for q in queries if 'FROM "portfolio_account"' in q["sql"]]
    assert len(account_reads) == 1
    # No symbol asked for: no lookup of the empty one before taking the first.
    assert not [q for q in queries if '"trades_symbol"."symbol" = \'\'' in q["sql"]]
    assert "Equity" in response.content.decode()
