"""The private-address policy: feeds may not reach inside the network.

Unless ``FetchPolicy.allow_private_networks`` is set, a host is refused when
**any** address it resolves to is loopback, private, link-local, multicast,
reserved, unspecified, shared (100.64.0.0/10, carrier-grade NAT), a cloud
metadata address (169.254.169.254, fd00:ec2::254) or otherwise not global.
IPv6 addresses that embed an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
6to4, Teredo, NAT64 ``64:ff9b::/96``) are judged by the IPv4 address too.

The check is made where the connection is opened, not only before: the
transport from ``guarded_transport`` resolves the host once, checks every
address, and connects to those checked addresses only (TLS still verifies
the certificate against the host name), so a DNS answer that changes
between the check and the connect (DNS rebinding) cannot slip through.
``check_host`` runs the same check up front so the error names the URL.

Refusals raise ``PrivateAddressError`` whose message says how to allow
private addresses; ``collectors.fetch`` turns it into a ``FetchError``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

from collectors.deadline import DeadlineBackend, transport_with

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

HOW_TO_ALLOW = (
    "to fetch private addresses set allow_private_networks = true in the config "
    "or TENSIONWATCH_ALLOW_PRIVATE_NETWORKS=1"
)

_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PrivateAddressError(Exception):
    """A host resolves to an address the private-address policy refuses."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        self.host = host
        self.address = address
        self.kind = kind
        what = f"is {address}" if host == address else f"resolves to {address}"
        super().__init__(f"refused: {host} {what}, a private address ({kind}); {HOW_TO_ALLOW}")


def private_kind(address: IPAddress) -> str | None:
    """Why ``address`` is refused (e.g. ``"loopback"``), or ``None`` when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4-mapped or NAT64 address is its IPv4 address; 6to4 and Teredo
        # also route to one, so they are refused when that one is private.
        direct = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
        )
        if direct is not None:
            return private_kind(direct)
        for embedded in (address.sixtofour, address.teredo[1] if address.teredo else None):
            kind = private_kind(embedded) if embedded is not None else None
            if kind:
                return f"{kind}, embedded in IPv6"
    checks = (
        (address in _METADATA, "cloud metadata"),
        (address.is_loopback, "loopback"),
        (address.is_unspecified, "unspecified"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _SHARED, "shared, 100.64.0.0/10"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (address.is_private, "private network"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not globally routable"),
    )
    return next((kind for refused, kind in checks if refused), None)


def resolve_public(host: str, port: int) -> list[str]:
    """Every address of ``host``, checked; raises ``PrivateAddressError`` or ``OSError``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for text in addresses:
        kind = private_kind(ipaddress.ip_address(text))
        if kind:
            raise PrivateAddressError(host, text.split("%")[0], kind)
    return addresses


def check_host(host: str, port: int) -> None:
    """Refuse ``host`` up front when any of its addresses is private."""
    resolve_public(host.strip("[]"), port)


def guarded_transport() -> httpx.HTTPTransport:
    """An httpx transport that connects only to checked public addresses (and obeys
    the fetch deadline of ``collectors.deadline``)."""
    return transport_with(_GuardedBackend())


class _GuardedBackend(DeadlineBackend):
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_public(host.strip("[]"), port)
        except OSError as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                failure = e
        assert failure is not None  # getaddrinfo never returns an empty list
        raise failure
