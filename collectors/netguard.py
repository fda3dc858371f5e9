"""The private-address policy: feeds may not reach inside the network.

Unless ``FetchPolicy.allow_private_networks`` is set, a host is refused when
**any** address it resolves to is loopback, private, link-local, multicast,
reserved, unspecified, shared (100.64.0.0/10, carrier-grade NAT), a cloud
metadata address (169.254.169.254, fd00:ec2::254) or otherwise not global.
IPv6 addresses that embed an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
6to4, Teredo, NAT64 ``64:ff9b::/96``) are judged by the IPv4 address too.

The check is made where the connection is opened, not only before:
``GuardedResolver`` is the resolver of the fetching client's connections
(``collectors.fetch``); it resolves the host once, checks every address,
and the connection goes to those checked addresses only (TLS still
verifies the certificate against the host name), so a DNS answer that
changes between the check and the connect (DNS rebinding) cannot slip
through. An address literal is not resolved: ``check_host`` judges it.
``check_host`` runs the same check up front so the error names the URL.

Refusals raise ``PrivateAddressError`` whose message says how to allow
private addresses; ``collectors.fetch`` turns it into a ``FetchError``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult

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


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver for connections to checked public addresses only."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        addresses = await loop.run_in_executor(None, resolve_public, host.strip("[]"), port)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass
