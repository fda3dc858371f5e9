"""Politeness: how often and how many at once feeds are fetched.

- ``poll_interval``: a feed's configured interval wins; else what the feed
  asks for (RSS ``ttl``, HTTP ``Cache-Control: max-age``), never shorter
  than the default interval and never longer than
  ``MAX_ADVERTISED_INTERVAL`` (a feed cannot make us stop looking); else
  the default interval.
- ``HostLimiter``: at most so many fetches at once, and at most
  ``per_host`` from one host (on the fetching client's event loop).
- ``round_robin_by_host``: a pass's feeds ordered one host at a time, so
  one publisher with many feeds does not hold every worker while its host
  slots are full.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import re
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
MAX_ADVERTISED_INTERVAL = 6 * 3600.0
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,9})", re.IGNORECASE)


def poll_interval(configured: float | None, default: float, advertised: float | None) -> float:
    """Seconds until a feed's next poll (see the module docstring)."""
    if configured:
        return float(configured)
    if advertised:
        ceiling = max(default, MAX_ADVERTISED_INTERVAL)
        return float(min(max(advertised, default), ceiling))
    return default


def max_age(headers: dict[str, str]) -> float | None:
    """Cache-Control max-age in seconds, if the response gave a positive one."""
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    return float(match[1]) if match and int(match[1]) > 0 else None


class HostLimiter:
    """At most ``total`` concurrent fetches, at most ``per_host`` of them per host name.
    Its slots are taken on one event loop (the fetching client's)."""

    def __init__(self, total: int, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._all = asyncio.Semaphore(max(1, total))
        self._slots: dict[str, asyncio.Semaphore] = {}

    def slot(self, url: str) -> _Slot:
        """``async with limiter.slot(url):`` holds one slot of the URL's host, then one
        of the total: a feed waiting for its host holds none of the total."""
        host = _host(url)
        semaphore = self._slots.get(host)
        if semaphore is None:
            semaphore = self._slots[host] = asyncio.Semaphore(self.per_host)
        return _Slot(semaphore, self._all)


class _Slot:
    """The two slots of one fetch (a class, not a generator: one is taken per feed)."""

    __slots__ = ("_all", "_host")

    def __init__(self, host: asyncio.Semaphore, total: asyncio.Semaphore) -> None:
        self._host, self._all = host, total

    async def __aenter__(self) -> None:
        await self._host.acquire()
        try:
            await self._all.acquire()
        except BaseException:  # cancelled while waiting: the host's slot goes back
            self._host.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._all.release()
        self._host.release()


def round_robin_by_host(jobs: Sequence[T], key: Callable[[T], str]) -> list[T]:
    """``jobs`` reordered to take one per host in turn (each host's own order kept)."""
    queues: dict[str, collections.deque[T]] = {}
    for job in jobs:
        queues.setdefault(_host(key(job)), collections.deque()).append(job)
    ordered: list[T] = []
    while queues:
        for host in list(queues):
            ordered.append(queues[host].popleft())
            if not queues[host]:
                del queues[host]
    return ordered


@functools.lru_cache(maxsize=4096)  # the same feed URLs, pass after pass
def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
