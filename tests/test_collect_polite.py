"""Polite collection: bounded parallel fetches overall and per host, and per-feed intervals.

Concurrency is measured at the loopback server: each request holds its
thread for a moment while the number of requests in flight is recorded,
per host name (127.0.0.1 and localhost are two hosts of one server).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from collectors.politeness import max_age, poll_interval, round_robin_by_host
from storage.db import open_database
from tensionwatch.config import Settings, load_settings
from tensionwatch.service import CollectorService
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer, RecordedRequest, Route
from tests.feedtexts import HARVEST, TIES_CUT, rss


class InFlight:
    """A route handler that records how many requests are in flight, per host."""

    def __init__(self, body: bytes, hold: float = 0.15) -> None:
        self.body, self.hold = body, hold
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_total = 0

    def __call__(self, request: RecordedRequest) -> Route:
        host = request.headers["host"].split(":")[0]
        with self.lock:
            self.now[host] += 1
            self.peak[host] = max(self.peak[host], self.now[host])
            self.peak_total = max(self.peak_total, sum(self.now.values()))
        time.sleep(self.hold)
        with self.lock:
            self.now[host] -= 1
        return Route(body=self.body)


def settings_for(write_config: WriteConfig, urls: list[str], **collector: object) -> Settings:
    feeds = "".join(f'[[feeds]]\nurl = "{u}"\n' for u in urls)
    options = {"connect_timeout": 2, "read_timeout": 2, "total_timeout": 5, **collector}
    section = "".join(f"{k} = {v!r}\n" for k, v in options.items())
    text = (
        'database = "tw.db"\narchive = false\nallow_private_networks = true\n'
        f"[collector]\n{section}{feeds}"
    )
    return load_settings(write_config(text), env={})


def two_hosts(feed_server: FeedServer, handler: InFlight, per_host: int) -> list[str]:
    urls = []
    for n in range(per_host):
        path = f"/f{n}"
        feed_server.route(path, handler=handler)
        urls.append(feed_server.url(path))
        urls.append(feed_server.url(path).replace("127.0.0.1", "localhost"))
    return urls


@pytest.mark.parametrize(
    ("workers", "per_host", "peak_host", "peak_total"), [(8, 2, 2, 4), (3, 8, 2, 3), (1, 4, 1, 1)]
)
def test_fetches_are_bounded_overall_and_per_host(
    feed_server: FeedServer,
    write_config: WriteConfig,
    workers: int,
    per_host: int,
    peak_host: int,
    peak_total: int,
) -> None:
    handler = InFlight(rss([TIES_CUT]))
    urls = two_hosts(feed_server, handler, 6)
    settings = settings_for(write_config, urls, workers=workers, per_host=per_host)
    service = CollectorService(settings)
    try:
        outcomes = service.collect_once()
    finally:
        service.close()
    assert [o.url for o in outcomes] == urls  # one outcome per feed, in the configured order
    assert {o.status for o in outcomes} == {"ok"}
    assert max(handler.peak.values()) == peak_host
    assert handler.peak_total == peak_total


def test_parallel_pass_is_faster_than_one_at_a_time(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    handler = InFlight(rss([HARVEST]), hold=0.1)
    urls = two_hosts(feed_server, handler, 4)
    settings = settings_for(write_config, urls, workers=8, per_host=4)
    service = CollectorService(settings)
    try:
        started = time.monotonic()
        service.collect_once()
        elapsed = time.monotonic() - started
    finally:
        service.close()
    assert elapsed < 8 * 0.1 * 0.75  # eight feeds held 0.1 s each, in parallel


def test_round_robin_by_host_keeps_each_hosts_order() -> None:
    urls = ["http://a/1", "http://a/2", "http://a/3", "http://b/1", "http://c/1", "http://b/2"]
    assert round_robin_by_host(urls, key=str) == [
        "http://a/1", "http://b/1", "http://c/1", "http://a/2", "http://b/2", "http://a/3",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("configured", "advertised", "expected"),
    [
        (None, None, 900.0),  # the default
        (None, 7200.0, 7200.0),  # the feed's ttl or max-age
        (None, 60.0, 900.0),  # never more often than the default
        (None, 10 * 86400.0, 6 * 3600.0),  # never less often than every 6 hours
        (1800, 7200.0, 1800.0),  # the configured interval wins
    ],
)
def test_poll_interval(configured: int | None, advertised: float | None, expected: float) -> None:
    assert poll_interval(configured, 900.0, advertised) == expected


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=3600", 3600.0),
        ("public, max-age=600, must-revalidate", 600.0),
        ('max-age="120"', 120.0),
        ("s-maxage=50", None),
        ("max-age=0", None),
        ("no-cache", None),
        ("", None),
    ],
)
def test_max_age(header: str, seconds: float | None) -> None:
    assert max_age({"cache-control": header} if header else {}) == seconds


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def next_due(settings: Settings, url: str) -> datetime:
    db = open_database(settings.database)
    try:
        text = db.execute("SELECT next_due FROM feeds WHERE config_url = ?", [url]).fetchone()[0]
    finally:
        db.conn.close()
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_the_feeds_own_ttl_and_max_age_space_its_scheduled_polls(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    ttl_body = rss([TIES_CUT]).replace(b"<language>", b"<ttl>120</ttl><language>")
    with_ttl = feed_server.route("/ttl", body=ttl_body)
    cached = feed_server.route("/cached", body=rss([HARVEST]),
                               headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip
    plain = feed_server.route("/plain", body=rss([HARVEST]))
    settings = settings_for(write_config, [with_ttl, cached, plain])
    clock = Clock()
    service = CollectorService(settings, clock=clock)
    specs = {spec.url: spec for spec in settings.enabled_feeds}
    try:
        start = clock.now
        for url in (with_ttl, cached, plain):
            assert service.poll_feed(specs[url]).status == "ok"
        assert next_due(settings, with_ttl) == start + timedelta(hours=2)
        assert next_due(settings, cached) == start + timedelta(hours=1)
        assert next_due(settings, plain) == start + timedelta(seconds=900)
        clock.now = start + timedelta(minutes=16)  # the scheduler's next run of every job
        early = service.poll_feed(specs[with_ttl])
        assert early.status == "skipped" and "not due" in (early.note or "")
        assert service.poll_feed(specs[plain]).status == "not_modified"
        clock.now = start + timedelta(hours=2, seconds=5)
        assert service.poll_feed(specs[with_ttl]).status == "not_modified"
        # a pass polls every feed, whatever its interval
        clock.now = start + timedelta(hours=2, minutes=1)
        assert {o.status for o in service.collect_once()} == {"not_modified"}
    finally:
        service.close()
    assert len(feed_server.requests_to("/ttl")) == 3
