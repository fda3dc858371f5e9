"""A total deadline for every socket operation of one fetch, headers included.

httpx has connect, read, write and pool timeouts per operation but no
deadline for a whole request: a server that trickles its status line and
headers a few bytes at a time never trips a read timeout and holds the
fetch for as long as it likes. ``DeadlineBackend`` is an httpcore network
backend whose streams cut every connect, TLS handshake, read and write to
what is left of the deadline set by ``fetch_deadline`` (a context variable,
so each thread's fetch has its own), and raise httpcore's timeout once it
has passed. Outside ``fetch_deadline`` the timeouts are left alone.

``transport_with`` builds an httpx transport on such a backend; httpx has
no public hook for the network backend, so the transport's pool is swapped
for the same pool on ours (tests/test_fetch.py pins this).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_deadline: ContextVar[float | None] = ContextVar("fetch_deadline", default=None)


@contextmanager
def fetch_deadline(at: float) -> Iterator[None]:
    """Within this block, no socket operation outlives ``at`` (a ``time.monotonic()`` value)."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    at = _deadline.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the total deadline of the fetch has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation obeys the current fetch deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.SyncBackend):
    """httpcore's sync backend with streams that obey the current fetch deadline."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
        return DeadlineStream(stream)


def transport_with(
    backend: httpcore.NetworkBackend, max_connections: int = 100
) -> httpx.HTTPTransport:
    """An httpx transport whose connections are made by ``backend``."""
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
        network_backend=backend,
    )
    return transport
