"""Digesting bodies in worker processes (``collectors.digest``) changes nothing stored.

The same bodies digested on the calling thread and by a pool of two spawned
processes give the same tagged items, the same warnings and the same parse
errors; a pool whose workers die goes on digesting on the thread; a whole
pass with processes stores exactly what a pass on threads stores.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors import pipeline
from collectors.digest import MIN_FEEDS, WORKER_NICENESS, Digest, DigestPool, digest_body
from collectors.fetch import FeedClient, make_client
from collectors.pipeline import Collector, collect_once
from model import FetchResult, ParseError, PollOutcome
from storage.db import open_database
from storage.feeds import FeedState, sync_feeds
from tagging import Tagger, load_rules
from tensionwatch.config import Settings, load_settings
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import ATOM_VISIT, HARVEST, PEGASUS, TIES_CUT, atom, rss

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "tests" / "feeds"
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
FEED_URL = "https://news.example.org/feeds/main.xml"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_rules(ROOT / "seeds" / "rules.yaml"))


def result_of(body: bytes, content_type: str = "application/xml") -> FetchResult:
    return FetchResult(
        url=FEED_URL,
        status=200,
        headers={"content-type": content_type},
        body=body,
        final_url=FEED_URL,
        permanent_url=None,
        etag=None,
        last_modified=None,
    )


def bodies() -> list[tuple[str, bytes]]:
    found = [(p.name, p.read_bytes()) for p in sorted(FEEDS.iterdir()) if p.suffix == ".xml"]
    made = [("rss", rss([TIES_CUT, HARVEST, PEGASUS])), ("atom", atom([ATOM_VISIT]))]
    odd = [("html", b"<!doctype html><html><body>Hi</body></html>"), ("empty", b"")]
    return found + made + odd


def digest_in(pool: DigestPool, *args: Any) -> Digest:
    """``pool.digest`` awaited on a loop of its own, as the fetching client's would."""
    return asyncio.run(pool.digest(*args))


def digest_or_error(digest: object) -> Digest | str:
    try:
        out = digest()  # type: ignore[operator]
    except ParseError as e:
        return f"ParseError {e.url}: {e.reason}"
    assert isinstance(out, Digest)
    return out


def test_a_pool_digests_every_body_as_the_thread_does(tagger: Tagger) -> None:
    cases = bodies()
    assert len(cases) > 20
    with DigestPool(tagger, processes=2) as pool:
        for name, body in cases:
            result = result_of(body)
            here = digest_or_error(lambda r=result: digest_body(r, FEED_URL, "fr", NOW, tagger))
            there = digest_or_error(lambda r=result: digest_in(pool, r, FEED_URL, "fr", NOW))
            assert there == here, name
        assert pool._executor is not None and not pool._broken  # the processes did it


def test_workers_run_at_a_lower_priority_than_the_collector(tagger: Tagger) -> None:
    result = result_of(rss([TIES_CUT]))
    with DigestPool(tagger, processes=2) as pool:
        digest_in(pool, result, FEED_URL, "", NOW)
        assert pool._executor is not None
        workers = [p.pid for p in pool._executor._processes.values()]
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in workers] == [
            min(19, ours + WORKER_NICENESS)
        ] * len(workers)


def test_a_pool_whose_workers_die_digests_on_the_thread(tagger: Tagger) -> None:
    result = result_of(rss([TIES_CUT, HARVEST]))
    expected = digest_body(result, FEED_URL, "", NOW, tagger)
    with DigestPool(tagger, processes=2) as pool:
        assert digest_in(pool, result, FEED_URL, "", NOW) == expected
        assert pool._executor is not None
        for process in list(pool._executor._processes.values()):
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        assert digest_in(pool, result, FEED_URL, "", NOW) == expected
        assert digest_in(pool, result, FEED_URL, "", NOW) == expected


def test_one_process_is_no_pool(tagger: Tagger) -> None:
    result = result_of(atom([ATOM_VISIT]))
    with DigestPool(tagger, processes=1) as pool:
        assert digest_in(pool, result, FEED_URL, "", NOW) == digest_body(
            result, FEED_URL, "", NOW, tagger
        )
        assert pool._executor is None


def settings_for(write_config: WriteConfig, urls: list[str], name: str) -> Settings:
    feeds = "".join(f'[[feeds]]\nurl = "{u}"\nname = "feed {i}"\n' for i, u in enumerate(urls))
    text = (
        f'database = "{name}.db"\narchive = false\nallow_private_networks = true\n'
        f"[collector]\nworkers = 4\nper_host = 4\n{feeds}"
    )
    return load_settings(write_config(text), env={})


def collector_for(
    settings: Settings, tagger: Tagger, client: FeedClient, processes: int
) -> Collector:
    """A collector of ``settings``' feeds (synced into a new database) at a fixed clock."""
    db = open_database(settings.database)
    sync_feeds(db, settings.feeds, NOW)
    return Collector(
        db=db,
        client=client,
        tagger=tagger,
        policy=settings.fetch,
        interval=settings.interval,
        max_backoff=settings.max_backoff,
        clock=lambda: NOW,
        workers=settings.workers,
        per_host=settings.per_host,
        processes=processes,
    )


def pass_with(
    settings: Settings, tagger: Tagger, processes: int, statements: list[str] | None = None
) -> list[tuple[object, ...]]:
    """Rows stored by one pass; ``statements`` receives every SQL statement it ran."""
    with make_client(settings.fetch) as client:
        collector = collector_for(settings, tagger, client, processes)
        db = collector.db
        if statements is not None:
            db.conn.set_trace_callback(statements.append)
        outcomes = collect_once(collector, settings.enabled_feeds)
    assert all(o.status == "ok" for o in outcomes[:-1]) and outcomes[-1].status == "error"
    rows: list[tuple[object, ...]] = []
    for table, order, skip in (
        ("items", "id", 0),
        ("item_sources", "item_id, feed_id", 0),
        ("item_tags", "item_id, kind, tag", 0),
        ("tag_matches", "item_id, field, start, kind, tag, rule", 1),  # its own rowid: order
    ):
        query = f"SELECT * FROM {table} ORDER BY {order}"
        rows += [(table, *r[skip:]) for r in db.execute(query)]
    rows += [
        ("feeds", *r)
        for r in db.execute(
            "SELECT config_url, last_status, last_warning, last_error, etag, body_hash "
            "FROM feeds ORDER BY config_url"
        )
    ]
    db.conn.close()
    return rows


def test_a_pass_with_processes_stores_what_a_pass_on_threads_stores(
    feed_server: FeedServer, write_config: WriteConfig, tagger: Tagger
) -> None:
    # each feed its own items: which feed stores a shared item first is a race
    body = rss([TIES_CUT, HARVEST, PEGASUS])
    assert body.count(b"//news.example/") >= 3
    urls = [
        feed_server.route(f"/f{n}", body=body.replace(b"//news.example/", b"//n%d.example/" % n))
        for n in range(MIN_FEEDS)
    ]
    urls.append(feed_server.route("/atom", body=atom([ATOM_VISIT])))
    urls.append(feed_server.route("/html", body=b"<html><body>no feed</body></html>"))
    on_threads = pass_with(settings_for(write_config, urls, "threads"), tagger, processes=1)
    on_processes = pass_with(settings_for(write_config, urls, "processes"), tagger, processes=2)
    assert any(row[0] == "item_tags" for row in on_threads)
    assert on_processes == on_threads


def feed_urls(feed_server: FeedServer, feeds: int) -> list[str]:
    """``feeds`` feeds of three items each (their own items), then an HTML page."""
    body = rss([TIES_CUT, HARVEST, PEGASUS])
    urls = [
        feed_server.route(f"/c{n}", body=body.replace(b"//news.example/", b"//c%d.example/" % n))
        for n in range(feeds)
    ]
    return [*urls, feed_server.route("/page", body=b"<html><body>no feed</body></html>")]


def test_a_pass_stores_many_polls_per_transaction(
    feed_server: FeedServer,
    write_config: WriteConfig,
    tagger: Tagger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = feed_urls(feed_server, 12)
    monkeypatch.setattr(pipeline, "STORE_SECONDS", 60.0)
    statements: list[str] = []
    rows = pass_with(settings_for(write_config, urls, "one"), tagger, 1, statements)
    assert sum(row[0] == "items" for row in rows) == 36
    assert statements.count("COMMIT") == 1  # 36 items, well under STORE_ITEMS

    monkeypatch.setattr(pipeline, "STORE_ITEMS", 3)  # every poll reaches it alone
    statements.clear()
    again = pass_with(settings_for(write_config, urls, "many"), tagger, 1, statements)
    assert again == rows
    assert 1 < statements.count("COMMIT") <= len(urls)


def test_a_bug_in_a_poll_reaches_the_caller_and_the_client_goes_on(
    feed_server: FeedServer,
    write_config: WriteConfig,
    tagger: Tagger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = feed_urls(feed_server, 6)
    settings = settings_for(write_config, urls, "bug")
    real_poll = pipeline.poll_feed

    async def broken(collector: Collector, state: FeedState, *args: Any) -> pipeline.Polled:
        if state.url == urls[3]:
            raise RuntimeError("a bug in polling " + state.url)
        return await real_poll(collector, state, *args)

    with make_client(settings.fetch) as client:
        collector = replace(collector_for(settings, tagger, client, 1), workers=1, per_host=1)
        monkeypatch.setattr(pipeline, "poll_feed", broken)
        with pytest.raises(RuntimeError, match=r"a bug in polling .*/c3"):
            collect_once(collector, settings.enabled_feeds)
        monkeypatch.setattr(pipeline, "poll_feed", real_poll)
        outcomes = collect_once(collector, settings.enabled_feeds)  # the same client
    assert [o.status for o in outcomes] == ["ok"] * 6 + ["error"]


def test_no_more_feeds_start_than_the_window_while_polls_wait_to_be_stored(
    feed_server: FeedServer,
    write_config: WriteConfig,
    tagger: Tagger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory stays bounded when storing is slower than polling: at most
    ``WINDOW_PER_WORKER * workers`` feeds are started and not yet taken over by the
    storing thread."""
    urls = feed_urls(feed_server, 40)
    settings = settings_for(write_config, urls, "window")
    started: list[str] = []
    ahead: list[int] = []  # at each store: feeds started beyond those stored or in the batch
    handed = 0
    real_poll, real_store = pipeline.poll_feed, pipeline.store_polls

    async def counted(collector: Collector, state: FeedState, *args: Any) -> pipeline.Polled:
        started.append(state.url)
        return await real_poll(collector, state, *args)

    def slow_store(collector: Collector, polls: Any) -> list[PollOutcome]:
        nonlocal handed
        handed += len(polls)
        ahead.append(len(started) - handed)
        time.sleep(0.2)  # the loop polls on meanwhile, up to the window
        return real_store(collector, polls)

    monkeypatch.setattr(pipeline, "poll_feed", counted)
    monkeypatch.setattr(pipeline, "store_polls", slow_store)
    monkeypatch.setattr(pipeline, "STORE_ITEMS", 1)  # a batch as soon as polls arrive
    monkeypatch.setattr(pipeline, "WINDOW_PER_WORKER", 4)  # 4 feeds in flight, of 41
    with make_client(settings.fetch) as client:
        collector = replace(collector_for(settings, tagger, client, 1), workers=1, per_host=1)
        outcomes = collect_once(collector, settings.enabled_feeds)
    assert len(outcomes) == 41 and len(started) == 41 and handed == 41
    assert max(ahead) <= 4  # collector.workers = 1
    assert max(ahead) > 0  # the loop did poll on while this thread stored


KILLED_COLLECTOR = """
import asyncio, sys, time
from datetime import UTC, datetime
from pathlib import Path
from collectors.digest import DigestPool
from model import FetchResult
from tagging import Tagger, load_rules
from tests.feedtexts import HARVEST, rss
url = "https://news.example.org/feeds/main.xml"
result = FetchResult(url=url, status=200, headers={}, body=rss([HARVEST]), final_url=url,
                     permanent_url=None, etag=None, last_modified=None)
pool = DigestPool(Tagger(load_rules(Path("seeds/rules.yaml"))), processes=2)
asyncio.run(pool.digest(result, url, "", datetime.now(UTC)))
print(" ".join(str(p) for p in pool._executor._processes), flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_of_a_killed_collector_exit() -> None:
    collector = subprocess.Popen(
        [sys.executable, "-c", KILLED_COLLECTOR],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the resource tracker's note on the killed pool
        text=True,
    )
    assert collector.stdout is not None
    with collector.stdout:
        workers = [int(pid) for pid in collector.stdout.readline().split()]
    assert workers and all(alive(pid) for pid in workers)
    collector.kill()
    collector.wait()
    for _ in range(600):  # a bound for a loaded machine, not a timing
        if not any(alive(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)


def test_a_rules_file_changed_under_the_pool_means_digesting_on_the_thread(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes((ROOT / "seeds" / "rules.yaml").read_bytes())
    tagger = Tagger(load_rules(path))
    path.write_bytes(path.read_bytes() + b"\n# edited after the collector loaded it\n")
    result = result_of(rss([TIES_CUT, HARVEST]))
    with DigestPool(tagger, processes=2) as pool:
        assert digest_in(pool, result, FEED_URL, "", NOW) == digest_body(
            result, FEED_URL, "", NOW, tagger
        )
        assert pool._broken  # the workers refused the new version; the thread did it
