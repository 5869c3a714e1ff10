"""The one answer to "which address is this client?", for sign-in lockouts, throttles and audit.

`X-Forwarded-For` is believed only when the peer that connected to us (`REMOTE_ADDR`) is one of
the configured `TRUSTED_PROXIES`: anyone else can write any header they like, and believing them
would give every forged value a fresh bucket.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # settings.py imports this module to check TRUSTED_PROXIES: keep it light
    from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A longer chain than this is not a real deployment; stop walking rather than parse all of it.
MAX_FORWARDED_HOPS = 16


def parse_networks(values: list[str] | tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """`TRUSTED_PROXIES` entries (addresses or CIDR ranges) -> networks; ValueError names a bad
    entry."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {value!r} is not an address or range") from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(values)


def _address(value: str | None) -> IPAddress | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address as text, or None when the request has no peer address (a
    request built in code)."""
    peer = _address(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    networks = _trusted(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(peer, networks):
        return str(peer)
    # Our proxy appended the address it saw; walk right to left past our own proxies: the first
    # address that is not ours is the client. What lies left of it the client wrote itself.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop for hop in forwarded.split(",") if hop.strip()][-MAX_FORWARDED_HOPS:]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage in the chain: the last proxy we trust is all we know
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)
