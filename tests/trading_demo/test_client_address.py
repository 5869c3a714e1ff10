"""One module says which address a request comes from: the peer's own, unless the peer is a
configured trusted proxy, and then the first address in X-Forwarded-For that is not ours."""

from __future__ import annotations

import re

import pytest
from django.test import RequestFactory

from tests.servers import ROOT
from trading_demo.clientip import client_address, parse_networks


def request(peer: str | None, forwarded: str | None = None):
    factory = RequestFactory()
    meta = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    built = factory.get("/", **meta)
    if peer is None:
        del built.META["REMOTE_ADDR"]
    else:
        built.META["REMOTE_ADDR"] = peer
    return built


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        # No trusted proxies (the default): headers are the client's own words.
        ([], "198.51.100.4", "203.0.113.9", "198.51.100.4"),
        ([], "198.51.100.4", None, "198.51.100.4"),
        # An untrusted peer, even with proxies configured.
        (["10.0.0.0/8"], "198.51.100.4", "203.0.113.9", "198.51.100.4"),
        # Our proxy: the address it saw.
        (["10.0.0.0/8"], "10.1.2.3", "203.0.113.9", "203.0.113.9"),
        # What the client wrote in front of it does not count.
        (["10.0.0.0/8"], "10.1.2.3", "192.0.2.1, 203.0.113.9", "203.0.113.9"),
        # Two proxies of ours in a row.
        (["10.0.0.0/8"], "10.1.2.3", "203.0.113.9, 10.9.9.9", "203.0.113.9"),
        # Our proxy sent no header, or garbage: all we know is the proxy.
        (["10.0.0.0/8"], "10.1.2.3", None, "10.1.2.3"),
        (["10.0.0.0/8"], "10.1.2.3", "not-an-address", "10.1.2.3"),
        # IPv4 seen through an IPv6 socket is the IPv4 address.
        ([], "::ffff:198.51.100.4", None, "198.51.100.4"),
        (["::1"], "::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_client_address(settings, trusted, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    assert client_address(request(peer, forwarded)) == expected


def test_a_request_without_a_peer_has_no_address(settings):
    assert client_address(request(None)) is None


def test_a_bad_trusted_proxy_entry_is_named():
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33'")):
        parse_networks(["10.0.0.1", "10.0.0.0/33"])


def test_nginx_sets_the_forwarded_address_instead_of_appending_the_clients():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "$proxy_add_x_forwarded_for" not in conf
    assert len(re.findall(r"proxy_set_header X-Forwarded-For \$remote_addr;", conf)) == 2
    assert len(re.findall(r"proxy_set_header X-Real-IP \$remote_addr;", conf)) == 2
