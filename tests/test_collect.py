"""One collection pass over feeds served on 127.0.0.1: what is stored, what is recorded.

Real HTTP (tests/feedserver.py), a real SQLite file, the real tagger and the
seeded rules; the clock is injected so back-off windows are tested without sleeping.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import open_database
from storage.feeds import list_feeds
from tensionwatch.config import Settings, load_settings
from tensionwatch.service import CollectorService
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import ATOM_VISIT, HARVEST, PEGASUS, TIES_CUT, atom, rss

# Retry-After windows are computed from the real clock by the fetcher, so start from it.
NOW = datetime.now(UTC).replace(microsecond=0)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings_for(write_config: WriteConfig, urls: list[str], **collector: object) -> Settings:
    feeds = "".join(f'[[feeds]]\nurl = "{u}"\nname = "feed {i}"\n' for i, u in enumerate(urls))
    options = {"connect_timeout": 1, "read_timeout": 1, "total_timeout": 2, **collector}
    section = "".join(f"{k} = {v!r}\n" for k, v in options.items())
    text = (
        'database = "tw.db"\narchive = false\nallow_private_networks = true\n'
        f"[collector]\n{section}{feeds}"
    )
    return load_settings(write_config(text), env={})


def collect(settings: Settings, clock: Clock | None = None) -> dict[str, object]:
    service = CollectorService(settings, clock=clock or Clock())
    try:
        return {o.url: o for o in service.collect_once()}
    finally:
        service.close()


def stored(settings: Settings) -> tuple[list[dict[str, object]], dict[str, dict[str, object]]]:
    db = open_database(settings.database)
    items = list(db.query("SELECT i.*, f.config_url FROM items i JOIN feeds f ON f.id = i.feed_id"))
    feeds = {row["config_url"]: row for row in list_feeds(db)}
    db.conn.close()
    return items, feeds


def test_a_pass_stores_good_feeds_and_records_each_failure(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    good_rss = feed_server.route("/rss", body=rss([TIES_CUT, HARVEST]))
    good_atom = feed_server.route("/atom", body=atom([ATOM_VISIT]))
    missing = feed_server.url("/missing")
    broken = feed_server.route("/500", status=500, body=b"oops")
    feed_server.route("/target", body=rss([PEGASUS]))
    moved = feed_server.redirect("/moved", "/target", status=302)
    slow = feed_server.route("/slow", body=rss([HARVEST]), delay=3)
    huge = feed_server.route("/huge", body=rss([HARVEST]) + b" " * 3000)
    malformed = feed_server.route(
        "/malformed", body=rss([TIES_CUT]).replace(b"</channel></rss>", b"<oops></channel>")
    )
    html = feed_server.route("/html", body=b"<!doctype html><html><body>Hi</body></html>",
                             headers={"Content-Type": "text/html"})  # fmt: skip
    urls = [good_rss, good_atom, missing, broken, moved, slow, huge, malformed, html]
    settings = settings_for(write_config, urls, max_bytes=2048)

    outcomes = collect(settings)
    items, feeds = stored(settings)

    assert [outcomes[u].status for u in urls] == [
        "ok", "ok", "error", "error", "ok", "error", "error", "ok", "error",
    ]  # fmt: skip
    assert "404" in feeds[missing]["last_error"]
    assert "500" in feeds[broken]["last_error"]
    assert "time" in feeds[slow]["last_error"].lower()
    assert "2048" in feeds[huge]["last_error"] or "large" in feeds[huge]["last_error"].lower()
    assert feeds[html]["last_error"]
    assert feeds[malformed]["status"] == "ok" and feeds[malformed]["last_warning"]
    for url in (missing, broken, slow, huge, html):
        assert feeds[url]["status"] == "error" and feeds[url]["error_count"] == 1
    titles = {i["title"] for i in items}
    assert titles == {TIES_CUT[0], HARVEST[0], ATOM_VISIT[0], PEGASUS[0]}
    assert outcomes[good_rss].new == 2 and outcomes[malformed].seen == 1


def test_collecting_twice_stores_each_item_once(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    first = feed_server.route("/a", body=rss([TIES_CUT, HARVEST]))
    second = feed_server.route("/b", body=rss([TIES_CUT]))  # same article, another outlet
    settings = settings_for(write_config, [first, second])
    collect(settings)
    feed_server.route("/a", body=rss([TIES_CUT, HARVEST, PEGASUS]))
    outcomes = collect(settings, Clock(NOW + timedelta(hours=1)))
    items, _ = stored(settings)
    assert len(items) == 3
    assert (outcomes[first].new, outcomes[first].seen) == (1, 2)
    db = open_database(settings.database)
    sources = db.execute("SELECT count(*) FROM item_sources").fetchone()[0]
    assert sources == 4  # TIES_CUT is one item carried by two feeds


def test_conditional_get_answered_304(feed_server: FeedServer, write_config: WriteConfig) -> None:
    def answer(request):  # type: ignore[no-untyped-def]
        from tests.feedserver import Route

        if request.headers.get("if-none-match") == '"v1"':
            return Route(status=304)
        return Route(body=rss([TIES_CUT]), headers={"ETag": '"v1"',
                     "Last-Modified": "Tue, 24 Aug 2021 18:00:00 GMT"})  # fmt: skip

    url = feed_server.route("/cond", handler=answer)
    settings = settings_for(write_config, [url])
    collect(settings)
    outcomes = collect(settings, Clock(NOW + timedelta(hours=1)))
    second = feed_server.requests_to("/cond")[1]
    assert second.headers["if-none-match"] == '"v1"'
    assert second.headers["if-modified-since"] == "Tue, 24 Aug 2021 18:00:00 GMT"
    assert outcomes[url].status == "not_modified"
    _, feeds = stored(settings)
    assert feeds[url]["status"] == "ok" and feeds[url]["error_count"] == 0


def test_identical_body_is_not_parsed_again(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    url = feed_server.route("/same", body=rss([TIES_CUT]))
    settings = settings_for(write_config, [url])
    collect(settings)
    assert collect(settings, Clock(NOW + timedelta(hours=1)))[url].status == "not_modified"


def test_permanent_redirect_updates_the_stored_url(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    new = feed_server.route("/new", body=rss([TIES_CUT]))
    old = feed_server.redirect("/old", "/new", status=301)
    settings = settings_for(write_config, [old])
    collect(settings)
    _, feeds = stored(settings)
    assert feeds[old]["url"] == new
    collect(settings, Clock(NOW + timedelta(hours=1)))
    assert len(feed_server.requests_to("/old")) == 1  # the second pass went to the new URL


def test_retry_after_and_backoff_windows_skip_the_feed(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    limited = feed_server.route("/429", status=429, headers={"Retry-After": "3600"})
    failing = feed_server.route("/503", status=503)
    settings = settings_for(write_config, [limited, failing])
    clock = Clock()
    collect(settings, clock)
    clock.now += timedelta(seconds=5)
    second = collect(settings, clock)
    assert second[limited].status == "skipped" and "Retry-After" in (second[limited].note or "")
    assert second[failing].status == "error"  # one error: retried at once
    clock.now += timedelta(seconds=5)
    third = collect(settings, clock)
    assert third[failing].status == "skipped" and "backing off" in (third[failing].note or "")
    clock.now += timedelta(hours=2)
    assert collect(settings, clock)[limited].status == "error"  # window over: polled again
    assert len(feed_server.requests_to("/429")) == 2


def test_gone_disables_the_feed_visibly(feed_server: FeedServer, write_config: WriteConfig) -> None:
    url = feed_server.route("/gone", status=410)
    settings = settings_for(write_config, [url])
    assert collect(settings)[url].status == "disabled"
    _, feeds = stored(settings)
    assert feeds[url]["status"] == "disabled" and "410" in feeds[url]["disabled_reason"]
    assert collect(settings, Clock(NOW + timedelta(days=1)))[url].status == "disabled"
    assert len(feed_server.requests_to("/gone")) == 1


def test_private_addresses_are_refused_unless_allowed(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    url = feed_server.route("/rss", body=rss([TIES_CUT]))
    settings = load_settings(
        write_config(f'database = "tw.db"\narchive = false\n[[feeds]]\nurl = "{url}"\n'), env={}
    )
    outcome = collect(settings)[url]
    assert outcome.status == "error"
    assert "allow_private_networks" in (outcome.error or "")
    assert feed_server.requests_to("/rss") == []


def test_gzip_body_is_decoded(feed_server: FeedServer, write_config: WriteConfig) -> None:
    url = feed_server.route(
        "/gz", body=gzip.compress(rss([TIES_CUT])), headers={"Content-Encoding": "gzip"}
    )
    settings = settings_for(write_config, [url])
    assert collect(settings)[url].new == 1


def test_items_are_tagged_with_evidence(feed_server: FeedServer, write_config: WriteConfig) -> None:
    url = feed_server.route("/rss", body=rss([TIES_CUT]))
    settings = settings_for(write_config, [url])
    collect(settings)
    db = open_database(settings.database)
    tags = {(r["kind"], r["tag"]) for r in db.query("SELECT kind, tag FROM item_tags")}
    assert {("actor", "algeria"), ("actor", "morocco"), ("category", "diplomatic_rupture")} <= tags
    for m in db.query("SELECT m.*, i.title, i.summary FROM tag_matches m JOIN items i "
                      "ON i.id = m.item_id"):  # fmt: skip
        assert m[m["field"]][m["start"] : m["end"]] == m["text"]
    version = db.execute("SELECT version FROM rules_versions").fetchone()[0]
    assert {r["rules_version"] for r in db.query("SELECT rules_version FROM item_tags")} == {
        version
    }


@pytest.mark.parametrize("bad", [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 64])
def test_non_feeds_are_errors_not_crashes(
    feed_server: FeedServer, write_config: WriteConfig, bad: bytes
) -> None:
    url = feed_server.route("/x", body=bad)
    ok = feed_server.route("/ok", body=rss([HARVEST]))
    settings = settings_for(write_config, [url, ok])
    outcomes = collect(settings)
    assert outcomes[url].status == "error" and outcomes[ok].new == 1
