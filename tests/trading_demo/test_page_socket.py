"""The page socket (`/ws/ui/`) against a real Daphne: pushes rendered fragments to the signed-in
user's open pages, and to nobody else."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.factories import PASSWORD
from tests.servers import browser_session, cookie_header

pytestmark = pytest.mark.django_db(transaction=True)


def page_socket(daphne, session):
    return connect(
        daphne.ws_url + "/ws/ui/",
        additional_headers={"Cookie": cookie_header(session), "Origin": daphne.url},
        open_timeout=5,
    )


def test_theme_change_reaches_every_open_page_of_that_user_only(
    daphne, trader, trader2, client_for
):
    mine = browser_session(daphne.url, trader.email, PASSWORD)
    theirs = browser_session(daphne.url, trader2.email, PASSWORD)
    with page_socket(daphne, mine) as my_page, page_socket(daphne, theirs) as their_page:
        # The change is made in another tab, through the API, on the same server.
        settings_tab = mine.get(daphne.url + "/settings/", timeout=5)
        assert settings_tab.status_code == 200
        response = mine.post(
            daphne.url + "/settings/",
            data={"theme": "dark", "csrfmiddlewaretoken": mine.cookies["csrftoken"]},
            headers={"Referer": daphne.url + "/settings/"},
            timeout=5,
        )
        assert response.status_code == 200
        fragment = my_page.recv(timeout=5)
        assert 'id="theme-sync"' in fragment
        assert 'data-theme-sync="dark"' in fragment
        assert 'hx-swap-oob="true"' in fragment
        with pytest.raises(TimeoutError):
            their_page.recv(timeout=0.5)


def test_page_socket_refuses_anonymous(daphne):
    with pytest.raises(InvalidStatus):
        connect(daphne.ws_url + "/ws/ui/", open_timeout=5)
