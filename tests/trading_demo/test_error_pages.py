"""403, 404 and 500 are pages a person can read, /favicon.ico is found, and the browsable API
names its views in words."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_not_found_is_a_styled_page(client, trader):
    client.force_login(trader)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Page not found</h1>" in html and "css/app.css" in html
    assert 'href="/"' in html


def test_forbidden_says_why(client, trader):
    client.force_login(trader)
    response = client.get("/approvals/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Not allowed</h1>" in html and "Managers only." in html


def test_a_server_error_is_a_styled_page(settings):
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "<h1>Something went wrong</h1>" in html and "css/app.css" in html


def test_favicon_ico_points_at_the_svg_icon():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_the_browsable_api_names_views_in_words(client, trader):
    client.force_login(trader)
    html = client.get("/api/trades", HTTP_ACCEPT="text/html").content.decode()
    assert "Order List Create Api" not in html and "Api Not Found" not in html
    assert "<title>Orders" in html or "<h1>Orders</h1>" in html
    assert ">API</a>" in html  # the breadcrumb of /api/
