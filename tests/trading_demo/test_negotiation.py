"""The API's content negotiation answers the common Accept headers at once, and every header
the way DRF's own negotiation does."""

from __future__ import annotations

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from trading_demo.negotiation import ContentNegotiation

RENDERERS = [JSONRenderer(), BrowsableAPIRenderer()]


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/api/auth/me", None),
        ("/api/auth/me", "*/*"),
        ("/api/auth/me", "application/json"),
        ("/api/auth/me", "application/json; indent=4"),
        ("/api/auth/me", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("/api/auth/me", "text/html"),
        ("/api/auth/me?format=api", "*/*"),
        ("/api/auth/me?format=json", None),
    ],
)
def test_the_same_renderer_and_media_type_as_drf(path, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(path, **headers))
    ours = ContentNegotiation().select_renderer(request, RENDERERS)
    drf = DefaultContentNegotiation().select_renderer(request, RENDERERS)
    assert (type(ours[0]), ours[1]) == (type(drf[0]), drf[1])


@pytest.mark.django_db
def test_the_api_answers_json_to_clients_and_the_browsable_api_to_browsers(client_for, trader):
    api = client_for(trader)
    plain = api.get("/api/auth/me", HTTP_ACCEPT="*/*")
    assert plain["Content-Type"] == "application/json"
    assert plain.json()["email"] == trader.email
    browser = api.get("/api/auth/me", HTTP_ACCEPT="text/html")
    assert browser["Content-Type"].startswith("text/html")
    refused = api.get("/api/auth/me", HTTP_ACCEPT="image/png")
    assert refused.status_code == 406
