"""Fetching a feed: one conditional GET, defensively bounded.

``fetch_feed`` takes an http(s) URL or a local path (a ``file:`` URL or a
plain path; local files are always allowed) and returns a ``FetchResult``,
or raises ``FetchError`` with a message an analyst can act on. Nothing else
escapes for expected failures.

Bounds, all from ``FetchPolicy``:

- connect and read timeouts per network operation, and ``total_timeout``
  for the whole fetch (every redirect hop, connect, TLS, status line,
  headers and body): every socket operation is cut to what is left of it
  (``collectors.deadline``), so a server trickling its headers or body a
  byte at a time is dropped at the deadline (DNS lookups are not bounded);
- ``max_bytes`` counted on the decompressed body while it streams,
  refused as soon as it is passed. The body is inflated here, not by
  httpx (which inflates a whole network chunk at once, up to 64 MiB for a
  64 KiB chunk of a gzip bomb): at most ``INFLATE_STEP`` bytes come out of
  zlib at a time, so a compression bomb costs no more memory than
  ``max_bytes``. ``gzip`` (several members too) and ``deflate`` are asked
  for and understood; any other Content-Encoding is an error;
- redirects followed by hand, at most ``max_redirects``, only to http(s),
  never twice to the same URL; each hop's host goes through the
  private-address guard (``collectors.netguard``) unless
  ``allow_private_networks``. ``permanent_url`` is set when every hop was a
  301 or 308.

Statuses: 304 gives ``not_modified=True`` with an empty body (the sent
validators are echoed back when the server sends none), but a 304 to a
request that sent no validators is an error (there is nothing it could
mean "not modified" from); 410 raises with
``gone=True``; 429 and 503 raise with ``retry_after`` from Retry-After
(seconds or an HTTP date); any other status >= 400, or an unexpected 3xx,
raises with ``status``.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from collectors import netguard
from collectors.deadline import DeadlineBackend, fetch_deadline, transport_with
from model import ConditionalHeaders, FetchError, FetchPolicy, FetchResult

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate"
INFLATE_STEP = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})


def make_client(policy: FetchPolicy) -> httpx.Client:
    """An httpx client for ``fetch_feed``: no automatic redirects, no proxies from the
    environment (a proxy would bypass the private-address guard), guarded connects."""
    transport = (
        transport_with(DeadlineBackend())
        if policy.allow_private_networks
        else netguard.guarded_transport()
    )
    return httpx.Client(
        transport=transport,
        timeout=_timeout(policy, policy.total_timeout),
        follow_redirects=False,
        headers={
            "User-Agent": policy.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        trust_env=False,
    )


def fetch_feed(
    client: httpx.Client, url: str, conditional: ConditionalHeaders, policy: FetchPolicy
) -> FetchResult:
    """Fetch ``url`` (http(s) or a local path) under ``policy``; see the module docstring."""
    started = time.monotonic()
    if not url.lower().startswith(("http://", "https://")):
        return _read_local(url, policy, started)
    fetch = _Fetch(client, url, conditional, policy, started)
    with fetch_deadline(started + policy.total_timeout):
        return fetch.run()


def parse_retry_after(value: str, now: datetime) -> datetime | None:
    """When a Retry-After header (delay in seconds, or an HTTP date) lets us come back.

    A date in the past gives ``now``; an unreadable or unrepresentable value gives None.
    """
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    value = value.strip()
    try:
        if value.isdigit():
            return now + timedelta(seconds=int(value))
        when = parsedate_to_datetime(value)
    except (ValueError, TypeError, OverflowError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(when.astimezone(UTC), now)


@dataclass
class _Fetch:
    client: httpx.Client
    url: str
    conditional: ConditionalHeaders
    policy: FetchPolicy
    started: float
    permanent: bool = False  # every redirect so far was a 301 or 308

    def run(self) -> FetchResult:
        current, visited, statuses = self.url, [self.url], list[int]()
        while True:
            step = self._hop(current)
            if isinstance(step, FetchResult):
                return step
            status, target = step
            statuses.append(status)
            if target in visited:
                raise FetchError(self.url, f"redirect loop: {current} redirects back to {target}")
            if len(statuses) > self.policy.max_redirects:
                raise FetchError(
                    self.url,
                    f"more than {self.policy.max_redirects} redirects (the last one to {target}); "
                    "use the final URL directly or raise max_redirects",
                )
            visited.append(target)
            self.permanent = all(s in PERMANENT for s in statuses)
            current = target

    def _hop(self, url: str) -> FetchResult | tuple[int, str]:
        """One request: a result, or (status, next URL) for a redirect."""
        parts = httpx.URL(url) if _valid(url) else None
        if parts is None or not parts.host:
            raise FetchError(self.url, f"invalid URL {url!r}")
        if not self.policy.allow_private_networks:
            self._guard(parts)
        remaining = self._remaining()
        try:
            with self.client.stream(
                "GET", parts, headers=self._headers(), timeout=_timeout(self.policy, remaining)
            ) as response:
                if response.status_code in REDIRECTS:
                    return response.status_code, self._redirect_target(response)
                self._check_status(response)
                if response.status_code == 304:
                    # A 304 has no body (h11 reads none whatever the headers say), but
                    # the response must be read to its end for its connection to go
                    # back to the pool: closed unread, every 304 cost a new connection.
                    response.read()
                    body = b""
                else:
                    body = self._read_body(response)
                return self._result(response, body)
        except netguard.PrivateAddressError as e:
            raise FetchError(self.url, str(e)) from e
        except httpx.InvalidURL as e:  # httpx pre-builds the next request of a redirect
            raise FetchError(
                self.url,
                f"the server redirected to a URL that cannot be followed ({e}); "
                "only http and https redirects are followed",
            ) from e
        except httpx.TimeoutException as e:
            raise FetchError(self.url, self._timeout_reason(e, remaining)) from e
        except httpx.HTTPError as e:
            raise FetchError(self.url, _network_reason(e)) from e

    def _guard(self, parts: httpx.URL) -> None:
        try:
            netguard.check_host(parts.host, parts.port or (443 if parts.scheme == "https" else 80))
        except netguard.PrivateAddressError as e:
            raise FetchError(self.url, str(e)) from e
        except OSError as e:
            raise FetchError(
                self.url, f"cannot resolve host {parts.host} ({e}); check the feed URL"
            ) from e

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": self.policy.user_agent}
        if self.conditional.etag:
            headers["If-None-Match"] = self.conditional.etag
        if self.conditional.last_modified:
            headers["If-Modified-Since"] = self.conditional.last_modified
        return headers

    def _redirect_target(self, response: httpx.Response) -> str:
        location = response.headers.get("location", "").strip()
        status = response.status_code
        if not location:
            raise FetchError(self.url, f"HTTP {status} redirect without a Location header")
        try:
            target = response.url.join(location)
        except httpx.InvalidURL as e:
            raise FetchError(self.url, f"HTTP {status} redirect to an invalid URL: {e}") from e
        if target.scheme not in ("http", "https"):
            raise FetchError(
                self.url,
                f"HTTP {status} redirect to a {target.scheme or 'schemeless'} URL "
                f"({location[:200]}); only http and https redirects are followed",
            )
        return str(target)

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 304 and not (self.conditional.etag or self.conditional.last_modified):
            raise FetchError(
                self.url,
                "HTTP 304 Not Modified to a request without ETag or Last-Modified: the server "
                "is misconfigured (it may cache per client); it will be retried",
                status=status,
            )
        if status < 300 or status == 304:
            return
        phrase = f"HTTP {status} {_phrase(status)}"
        if status == 410:
            raise FetchError(
                self.url,
                f"{phrase}: the publisher removed this feed; disable it or replace its URL",
                status=status,
                gone=True,
            )
        if status in (429, 503):
            header = response.headers.get("retry-after")
            when = parse_retry_after(header, datetime.now(UTC)) if header else None
            later = f"; the server asks to wait until {when:%Y-%m-%d %H:%M:%S} UTC" if when else ""
            raise FetchError(self.url, f"{phrase}{later}", status=status, retry_after=when)
        raise FetchError(self.url, f"{phrase}{_advice(status)}", status=status)

    def _read_body(self, response: httpx.Response) -> bytes:
        limit, deadline = self.policy.max_bytes, self.started + self.policy.total_timeout
        inflater = _Inflater(self.url, response.headers.get("content-encoding", ""))
        chunks: list[bytes] = []
        size = 0
        for raw in response.iter_raw():
            for chunk in inflater.inflate(raw):
                size += len(chunk)
                if size > limit:
                    raise FetchError(self.url, _too_large(limit))
                chunks.append(chunk)
            if time.monotonic() > deadline:
                raise FetchError(self.url, self._deadline_reason())
        return b"".join(chunks)

    def _result(self, response: httpx.Response, body: bytes) -> FetchResult:
        headers = {name.lower(): value for name, value in response.headers.items()}
        not_modified = response.status_code == 304
        etag = headers.get("etag") or (self.conditional.etag if not_modified else None)
        modified = headers.get("last-modified") or (
            self.conditional.last_modified if not_modified else None
        )
        final = str(response.url)
        return FetchResult(
            url=self.url,
            final_url=final,
            permanent_url=final if self.permanent else None,
            status=response.status_code,
            body=body,
            headers=headers,
            etag=etag,
            last_modified=modified,
            not_modified=not_modified,
            duration_ms=_elapsed_ms(self.started),
        )

    def _remaining(self) -> float:
        remaining = self.started + self.policy.total_timeout - time.monotonic()
        if remaining <= 0:
            raise FetchError(self.url, self._deadline_reason())
        return remaining

    def _deadline_reason(self) -> str:
        return (
            f"gave up after the total deadline of {self.policy.total_timeout:g}s for one fetch; "
            "the server is too slow (raise total_timeout if this feed is legitimately slow)"
        )

    def _timeout_reason(self, error: httpx.TimeoutException, remaining: float) -> str:
        if time.monotonic() >= self.started + self.policy.total_timeout - 0.01:
            return self._deadline_reason()
        if isinstance(error, httpx.ConnectTimeout) and remaining >= self.policy.connect_timeout:
            return (
                f"timed out connecting after {self.policy.connect_timeout:g}s; "
                "the site may be down or blocking us"
            )
        if isinstance(error, httpx.ReadTimeout) and remaining >= self.policy.read_timeout:
            return (
                f"the server sent nothing for {self.policy.read_timeout:g}s (read timeout); "
                "it may be overloaded"
            )
        if remaining < max(self.policy.connect_timeout, self.policy.read_timeout):
            return self._deadline_reason()
        return f"timed out ({type(error).__name__}: {error})"


class _Inflater:
    """Content-Encoding undone in bounded steps (see ``INFLATE_STEP``)."""

    def __init__(self, url: str, encoding: str) -> None:
        self.url = url
        self.encoding = encoding.strip().lower()
        if self.encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(
                url,
                f"the server used Content-Encoding {encoding!r}, which we did not ask for "
                f"(we accept {ACCEPT_ENCODING})",
            )
        self._zlib = self._new()

    def _new(self) -> Any:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        if self.encoding == "deflate":
            return zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip framing
        return None

    def inflate(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        try:
            while data:
                out = self._zlib.decompress(data, INFLATE_STEP)
                if out:
                    yield out
                if self._zlib.eof:  # another gzip member may follow
                    data = self._zlib.unused_data
                    self._zlib = self._new() if data else self._zlib
                else:
                    data = self._zlib.unconsumed_tail
        except zlib.error as e:
            raise FetchError(
                self.url,
                f"the body could not be decompressed ({e}); the server says "
                f"Content-Encoding: {self.encoding} but sent something else",
            ) from e


def _read_local(url: str, policy: FetchPolicy, started: float) -> FetchResult:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        path = Path(url2pathname(urlsplit(url).path))
    elif len(scheme) > 1:  # one letter is a Windows drive
        raise FetchError(
            url, f"unsupported URL scheme {scheme!r}; use an http(s) URL or a local file path"
        )
    else:
        path = Path(url).expanduser()
    try:
        with path.open("rb") as f:
            body = f.read(policy.max_bytes + 1)
    except OSError as e:
        raise FetchError(url, f"cannot read the local feed file: {e.strerror or e}") from e
    if len(body) > policy.max_bytes:
        raise FetchError(url, _too_large(policy.max_bytes))
    return FetchResult(
        url=url,
        final_url=url,
        permanent_url=None,
        status=200,
        body=body,
        duration_ms=_elapsed_ms(started),
    )


def _timeout(policy: FetchPolicy, remaining: float) -> httpx.Timeout:
    return httpx.Timeout(
        connect=min(policy.connect_timeout, remaining),
        read=min(policy.read_timeout, remaining),
        write=min(policy.read_timeout, remaining),
        pool=min(policy.connect_timeout, remaining),
    )


def _valid(url: str) -> bool:
    try:
        httpx.URL(url)
    except httpx.InvalidURL:
        return False
    return True


def _network_reason(error: httpx.HTTPError) -> str:
    detail = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError):
        return f"could not connect ({detail}); the site may be down or the URL wrong"
    if isinstance(error, httpx.DecodingError):
        return f"the body could not be decompressed ({detail})"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"the server broke off or garbled the response ({detail})"
    return f"network error ({type(error).__name__}: {detail})"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _advice(status: int) -> str:
    if status in (401, 403):
        return ": the server refuses us; the feed may need a login or block our User-Agent"
    if status == 404:
        return ": no feed at this URL; it may have moved, check it in a browser"
    if status >= 500:
        return ": the server failed; it will be retried later"
    if status < 400:
        return ": an unexpected redirect-class status without a usable target"
    return ""


def _too_large(limit: int) -> str:
    return (
        f"the feed is larger than the limit of {limit:,} bytes (counted after decompression); "
        "raise max_bytes if it is legitimate"
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
