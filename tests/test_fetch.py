"""fetch_feed against a real HTTP server on 127.0.0.1: statuses, redirects, bounds, the guard."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from collectors import netguard
from collectors.fetch import FeedClient, fetch_feed, make_client, parse_retry_after
from model import ConditionalHeaders, FetchError, FetchPolicy
from tests.feedserver import FeedServer, RecordedRequest, Route

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ATOM = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>'
NONE = ConditionalHeaders()
POLICY = FetchPolicy(
    user_agent="tensionwatch-test/1.0 (+https://example.org/tw)",
    connect_timeout=1.0,
    read_timeout=1.0,
    total_timeout=3.0,
    max_bytes=64 * 1024,
    max_redirects=3,
    allow_private_networks=True,
)
GUARDED = replace(POLICY, allow_private_networks=False)


@pytest.fixture
def client() -> Iterator[FeedClient]:
    with make_client(POLICY) as c:
        yield c


def fetch(client: FeedClient, url: str, policy: FetchPolicy = POLICY, **kw: Any) -> Any:
    return fetch_feed(client, url, ConditionalHeaders(**kw), policy)


def fetch_error(client: FeedClient, url: str, policy: FetchPolicy = POLICY) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(client, url, policy)
    assert info.value.url == url
    return info.value


@pytest.mark.parametrize(
    ("body", "content_type"), [(RSS, "application/rss+xml"), (ATOM, "application/atom+xml")]
)
def test_200_returns_body_validators_and_headers(
    feed_server: FeedServer, client: FeedClient, body: bytes, content_type: str
) -> None:
    url = feed_server.route(
        "/feed",
        body=body,
        headers={"Content-Type": content_type, "ETag": '"v1"', "Last-Modified": "Mon, 02 Jun 2025"},
    )
    result = fetch(client, url)
    assert (result.status, result.body, result.url, result.final_url) == (200, body, url, url)
    assert (result.etag, result.last_modified) == ('"v1"', "Mon, 02 Jun 2025")
    assert result.headers["content-type"] == content_type
    assert result.permanent_url is None and not result.not_modified
    sent = feed_server.requests_to("/feed")[0].headers
    assert sent["user-agent"] == POLICY.user_agent
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_conditional_get_answered_304(feed_server: FeedServer, client: FeedClient) -> None:
    def answer(request: RecordedRequest) -> Route:
        if request.headers.get("if-none-match") == '"v1"':
            return Route(status=304)
        return Route(body=RSS, headers={"ETag": '"v1"'})

    url = feed_server.route("/feed", handler=answer)
    result = fetch(client, url, etag='"v1"', last_modified="Mon, 02 Jun 2025 10:00:00 GMT")
    assert result.not_modified and result.body == b"" and result.status == 304
    assert (result.etag, result.last_modified) == ('"v1"', "Mon, 02 Jun 2025 10:00:00 GMT")
    sent = feed_server.requests_to("/feed")[0].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon, 02 Jun 2025 10:00:00 GMT"


@pytest.mark.parametrize(
    ("status", "words", "gone"),
    [
        (404, "HTTP 404 Not Found: no feed at this URL", False),
        (403, "HTTP 403 Forbidden: the server refuses us", False),
        (500, "HTTP 500 Internal Server Error: the server failed", False),
        (410, "HTTP 410 Gone: the publisher removed this feed", True),
    ],
)
def test_error_statuses(
    feed_server: FeedServer, client: FeedClient, status: int, words: str, gone: bool
) -> None:
    error = fetch_error(client, feed_server.route("/feed", status=status, body=b"<html>"))
    assert error.status == status and error.gone is gone
    assert words in str(error)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds(feed_server: FeedServer, client: FeedClient, status: int) -> None:
    before = datetime.now(UTC)
    url = feed_server.route("/feed", status=status, headers={"Retry-After": "120"})
    error = fetch_error(client, url)
    assert error.status == status and error.retry_after is not None
    assert (
        before + timedelta(seconds=119)
        <= error.retry_after
        <= datetime.now(UTC) + timedelta(seconds=120)
    )
    assert "asks to wait until" in str(error)


def test_retry_after_as_http_date(feed_server: FeedServer, client: FeedClient) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    headers = {"Retry-After": format_datetime(when, usegmt=True)}
    error = fetch_error(client, feed_server.route("/feed", status=503, headers=headers))
    assert error.retry_after == when


def test_retry_after_missing_or_garbled(feed_server: FeedServer, client: FeedClient) -> None:
    url = feed_server.route("/feed", status=429, headers={"Retry-After": "soon"})
    error = fetch_error(client, url)
    assert error.status == 429 and error.retry_after is None


def test_parse_retry_after() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == now + timedelta(seconds=30)
    assert parse_retry_after(" 0 ", now) == now
    assert parse_retry_after("Sun, 01 Jun 2025 13:00:00 GMT", now) == now + timedelta(hours=1)
    assert parse_retry_after("Sat, 31 May 2025 13:00:00 GMT", now) == now  # past: no wait
    assert parse_retry_after("Sunday, 01-Jun-25 12:30:00 GMT", now) == now + timedelta(minutes=30)
    for junk in ("", "-5", "1.5", "soon", "9" * 30, "Mon, 99 Foo 2025"):
        assert parse_retry_after(junk, now) is None


@pytest.mark.parametrize(
    ("statuses", "permanent"),
    [([301], True), ([308, 301], True), ([302], False), ([301, 307], False), ([303], False)],
)
def test_redirects_and_permanent_url(
    feed_server: FeedServer, client: FeedClient, statuses: list[int], permanent: bool
) -> None:
    final = feed_server.route("/final", body=RSS)
    for hop, status in enumerate(statuses):
        target = "/final" if hop == len(statuses) - 1 else f"/hop{hop + 1}"
        feed_server.redirect(f"/hop{hop}", target, status=status)
    result = fetch(client, feed_server.url("/hop0"))
    assert result.body == RSS and result.final_url == final
    assert result.permanent_url == (final if permanent else None)


def test_permanent_redirect_then_not_modified(feed_server: FeedServer, client: FeedClient) -> None:
    feed_server.redirect("/old", feed_server.url("/new"), status=301)
    new = feed_server.route("/new", status=304)
    result = fetch(client, feed_server.url("/old"), etag='"x"')
    assert result.not_modified and result.permanent_url == new
    assert feed_server.requests_to("/new")[0].headers["if-none-match"] == '"x"'


def test_redirect_loop(feed_server: FeedServer, client: FeedClient) -> None:
    feed_server.redirect("/a", "/b")
    url = feed_server.redirect("/b", "/a")
    error = fetch_error(client, feed_server.url("/a"))
    assert f"redirect loop: {url} redirects back to {feed_server.url('/a')}" in str(error)


def test_too_many_redirects(feed_server: FeedServer, client: FeedClient) -> None:
    for hop in range(6):
        feed_server.redirect(f"/r{hop}", f"/r{hop + 1}")
    error = fetch_error(client, feed_server.url("/r0"))
    assert "more than 3 redirects" in str(error)
    assert len(feed_server.requests) == 4


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "FILE:///etc/passwd", "ftp://example.org/feed", "data:,x"]
)
def test_redirect_to_other_schemes_refused(
    feed_server: FeedServer, client: FeedClient, location: str
) -> None:
    error = fetch_error(
        client, feed_server.route("/feed", status=302, headers={"Location": location})
    )
    assert "only http and https redirects are followed" in str(error)


def test_redirect_without_location(feed_server: FeedServer, client: FeedClient) -> None:
    error = fetch_error(client, feed_server.route("/feed", status=301))
    assert "redirect without a Location header" in str(error)


def test_response_slower_than_read_timeout(feed_server: FeedServer) -> None:
    policy = replace(POLICY, read_timeout=0.2)
    url = feed_server.route("/slow", body=RSS, delay=3.0)
    with make_client(policy) as client:
        started = time.monotonic()
        error = fetch_error(client, url, policy)
    assert time.monotonic() - started < 2.0
    assert "sent nothing for 0.2s (read timeout)" in str(error)


def test_headers_slower_than_total_deadline(feed_server: FeedServer) -> None:
    policy = replace(POLICY, total_timeout=0.3)
    url = feed_server.route("/slow", body=RSS, delay=3.0)
    with make_client(policy) as client:
        started = time.monotonic()
        error = fetch_error(client, url, policy)
    assert time.monotonic() - started < 2.0
    assert "total deadline of 0.3s" in str(error)


def test_slow_drip_stops_at_total_deadline(feed_server: FeedServer) -> None:
    policy = replace(POLICY, total_timeout=0.5)
    url = feed_server.route("/drip", body=RSS * 10, drip=0.02, chunk=4)  # ~10 s in all
    with make_client(policy) as client:
        started = time.monotonic()
        error = fetch_error(client, url, policy)
    assert 0.45 < time.monotonic() - started < 2.5
    assert "total deadline of 0.5s" in str(error)


def test_body_larger_than_cap(feed_server: FeedServer, client: FeedClient) -> None:
    url = feed_server.route("/big", body=b"x" * (POLICY.max_bytes + 1))
    error = fetch_error(client, url)
    assert "larger than the limit of 65,536 bytes" in str(error)
    assert fetch(client, feed_server.route("/ok", body=b"x" * POLICY.max_bytes)).body


def test_gzip_expanding_past_cap_is_refused_while_streaming(
    feed_server: FeedServer, client: FeedClient
) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * 20_000_000)
    assert len(bomb) < POLICY.max_bytes  # small on the wire, only its expansion is too big
    url = feed_server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    started = time.monotonic()
    error = fetch_error(client, url)
    assert "counted after decompression" in str(error)
    assert time.monotonic() - started < 2.0  # it did not inflate 20 MB first


def test_gzip_body_is_decompressed(feed_server: FeedServer, client: FeedClient) -> None:
    url = feed_server.route("/gz", body=gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    assert fetch(client, url).body == RSS


def test_corrupt_gzip(feed_server: FeedServer, client: FeedClient) -> None:
    url = feed_server.route("/gz", body=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    assert "could not be decompressed" in str(fetch_error(client, url))


def test_connection_refused(client: FeedClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = fetch_error(client, f"http://127.0.0.1:{port}/feed")
    assert "could not connect" in str(error) and "the site may be down" in str(error)


@pytest.mark.parametrize("url", ["http://", "http:///feed", "http://[::1/feed", "http://a\x00b/"])
def test_invalid_urls(client: FeedClient, url: str) -> None:
    assert "invalid URL" in str(fetch_error(client, url))


# The private-address guard


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_private_address_refused_unless_allowed(feed_server: FeedServer, host: str) -> None:
    url = feed_server.route("/feed", body=RSS).replace("127.0.0.1", host)
    with make_client(GUARDED) as client:
        error = fetch_error(client, url, GUARDED)
    message = str(error)
    assert "a private address (loopback)" in message
    assert "allow_private_networks = true" in message
    assert "TENSIONWATCH_ALLOW_PRIVATE_NETWORKS=1" in message
    assert feed_server.requests == []


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names resolved from this table (each answer used once, the last one kept)."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        answers = table.get(host)
        if answers is None:
            return real(host, port, *args, **kw)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the guard treat 127.0.0.1 (only) as public, to test hops through our server."""
    real: Callable[..., str | None] = netguard.private_kind
    loop = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(netguard, "private_kind", lambda a: None if a == loop else real(a))


@pytest.mark.usefixtures("loopback_is_public")
def test_each_redirect_hop_is_guarded(
    feed_server: FeedServer, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns.update({"public.test": ["127.0.0.1"], "intranet.test": ["10.0.0.8"]})
    port = feed_server.base_url.rsplit(":", 1)[1]
    feed_server.redirect("/feed", f"http://intranet.test:{port}/admin")
    with make_client(GUARDED) as client:
        error = fetch_error(client, f"http://public.test:{port}/feed", GUARDED)
    assert "intranet.test resolves to 10.0.0.8, a private address (private network)" in str(error)
    assert [r.path for r in feed_server.requests] == ["/feed"]


def test_dns_rebinding_is_caught_at_connect(
    feed_server: FeedServer, fake_dns: dict[str, list[str]]
) -> None:
    # First answer public (the up-front check), then loopback (the connect):
    # the connection must be refused, not opened to the second answer.
    fake_dns["rebind.test"] = ["93.184.215.14", "127.0.0.1"]
    url = feed_server.route("/feed", body=RSS).replace("127.0.0.1", "rebind.test")
    with make_client(GUARDED) as client:
        error = fetch_error(client, url, GUARDED)
    assert "rebind.test resolves to 127.0.0.1, a private address (loopback)" in str(error)
    assert feed_server.requests == []


def test_any_private_answer_refuses_the_host() -> None:
    def many(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:169.254.169.254", port, 0, 0)),
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", many)
        with pytest.raises(netguard.PrivateAddressError, match="cloud metadata"):
            netguard.check_host("mixed.test", 80)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private network"),
        ("172.16.5.4", "private network"),
        ("192.168.0.1", "private network"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.3.4", "link-local"),
        ("100.64.0.1", "shared, 100.64.0.0/10"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "private network"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::5", "private network"),
        ("fd00:ec2::254", "cloud metadata"),
        ("ff02::1", "multicast"),
        ("fec0::1", "site-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:192.168.1.1", "private network"),
        ("64:ff9b::a00:1", "private network"),
        ("2002:7f00:1::", "loopback, embedded in IPv6"),
        ("93.184.215.14", None),
        ("::ffff:93.184.215.14", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_private_kinds(address: str, kind: str | None) -> None:
    assert netguard.private_kind(ipaddress.ip_address(address)) == kind


# Local files


def test_local_files_are_read_and_always_allowed(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    with make_client(GUARDED) as client:
        for url in (str(path), path.as_uri()):
            result = fetch(client, url, GUARDED)
            assert (result.status, result.body, result.final_url) == (200, RSS, url)
            assert result.permanent_url is None and not result.not_modified


def test_local_file_problems(tmp_path: Path, client: FeedClient) -> None:
    assert "cannot read the local feed file: No such file" in str(
        fetch_error(client, str(tmp_path / "missing.xml"))
    )
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * (POLICY.max_bytes + 1))
    assert "larger than the limit" in str(fetch_error(client, str(big)))
    assert "unsupported URL scheme 'ftp'" in str(fetch_error(client, "ftp://example.org/feed"))


def test_a_304_leaves_its_connection_to_the_next_fetch(
    feed_server: FeedServer, client: FeedClient
) -> None:
    """A 304 read to its end goes back to the pool: five polls of unchanged feeds on one
    host open one connection, not five."""
    urls = [feed_server.route(f"/same{n}", status=304, headers={"ETag": '"e"'}) for n in range(5)]
    for url in urls:
        result = fetch_feed(client, url, ConditionalHeaders(etag='"e"'), POLICY)
        assert result.not_modified and result.body == b""
    assert feed_server.connections == 1
