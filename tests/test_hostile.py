"""The hostile corpus: every case in tests/feeds/hostile served over 127.0.0.1 through
the real pipeline (fetch → parse → normalise → tag → store), checking what is stored
and what is recorded on the feed.

Each case is ``tests/feeds/hostile/<case>.json``, its body (when it has one)
the file next to it named in ``body_file``. A case is a list of ``passes``;
before them a baseline pass stores one ordinary item at the same URL, and
every pass also polls a well-behaved companion feed. After every pass the
test checks, whatever the case:

- the pass ended within ``max_seconds`` (default: the total deadline plus
  a margin for parsing): no hang;
- the companion feed's item of that pass is stored: one bad feed never
  breaks a pass;
- the baseline item is still there: nothing already stored is lost;
- every stored text is plain (no markup, no control characters or escape
  sequences) and every stored link is http(s) or nothing;
- no request went to a path listed in ``never_requested``;

then the case's own ``expect``: ``status`` (the outcome), ``error_contains``
(in the feed's last error), ``warning_contains`` (in its last warning; null
means none), ``items`` (this feed's stored items other than the baseline,
sorted by title; only the keys given are compared, ``title_contains`` is a
substring), ``item_count``, ``history`` (current title → every title it
had, oldest first), ``feed_url`` (the stored URL), ``disabled``,
``retry_after`` (a Retry-After window is stored).

A response is ``status``, ``headers``, the body (``body`` as text,
``body_file``, or ``generate`` naming a generator below), ``gzip``
(compress it and say so), ``delay``, ``drip``/``chunk``, ``header_drip``, ``close`` (close
the connection after the body), ``content_length`` (announce this many more
bytes than sent). ``routes`` serve extra paths for a pass. In bodies and
headers ``{base}`` is the server's URL, ``{closed}`` a URL on a port where
nothing listens, ``{secret}`` a local file the feed must never read.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from storage.db import open_database
from storage.feeds import list_feeds
from storage.items import item_history
from tensionwatch.config import Settings, load_settings
from tensionwatch.service import CollectorService
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer

CASES = Path(__file__).parent / "feeds" / "hostile"
TOTAL_TIMEOUT = 2.0
MIB = 1024 * 1024
BASELINE_TITLE = "Baseline item already stored"
_MARKUP = re.compile(r"<\s*/?\s*(script|style|iframe|embed|object|form|svg|img|a)\b", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def rss_item(title: str, link: str, extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link>{extra}</item>"


def rss(items: str, title: str = "Hostile desk") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
        f"</title><link>https://hostile.example/</link>{items}</channel></rss>"
    ).encode()


# Generated bodies: too big, or too binary, to keep as files.


@cache
def generate(name: str) -> bytes:
    if name == "feed_10mib":  # just under the 10 MiB cap: stored
        paragraph = "Light winds and clear skies expected along the coast today. " * 80
        items = "".join(
            rss_item(
                f"Long story {i:04d}",
                f"https://big.example/{i}",
                f"<description>{paragraph}</description>",
            )
            for i in range(2000)
        )
        body = rss(items)
        assert 9 * MIB < len(body) < 10 * MIB
        return body
    if name == "feed_over_10mib":
        return generate("feed_10mib") + b"<!--" + b"x" * MIB + b"-->"
    if name == "entry_3mib":
        words = "Polisario envoys meet in Geneva about the ceasefire. " * (3 * MIB // 53)
        return rss(rss_item("One enormous entry", "https://big.example/huge",
                            f"<description>{words}</description>"))  # fmt: skip
    if name == "line_1_6mib":  # the whole feed on one line
        words = "une ligne sans fin " * (int(1.6 * MIB) // 19)
        return rss(rss_item("Une seule ligne", "https://big.example/line",
                            f"<description>{words}</description>"))  # fmt: skip
    if name == "gzip_bomb":  # about 1 MiB on the wire, a gigabyte unpacked
        # One deflate block of 4 MiB of zeros after a full flush does not depend on what
        # came before, so it is compressed once and repeated; the gzip frame is by hand.
        head, zeros, blocks = rss("")[:-16], b"\0" * (4 * MIB), 256
        packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
        block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
        crc = zlib.crc32(head)
        for _ in range(blocks):
            crc = zlib.crc32(zeros, crc)
        size = (len(head) + blocks * len(zeros)) % 2**32
        frame = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        trailer = b"\x03\x00" + crc.to_bytes(4, "little") + size.to_bytes(4, "little")
        return frame + start + block * blocks + trailer
    if name == "png":
        return b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + bytes(range(256)) * 4
    if name == "garbage":
        return bytes((i * 7919 + 13) % 256 for i in range(4096))
    raise KeyError(name)


def case_files() -> list[Path]:
    return sorted(CASES.glob("*.json"))


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settings_for(write_config: WriteConfig, urls: list[str]) -> Settings:
    feeds = "".join(f'[[feeds]]\nurl = "{u}"\n' for u in urls)
    text = (
        'database = "tw.db"\narchive = false\nallow_private_networks = true\n'
        "[collector]\nconnect_timeout = 1\nread_timeout = 1\n"
        f"total_timeout = {TOTAL_TIMEOUT}\n{feeds}"
    )
    return load_settings(write_config(text), env={})


class Case:
    def __init__(self, path: Path, server: FeedServer, tmp_path: Path) -> None:
        self.path = path
        self.spec = load_case(path)
        self.server = server
        self.secret = tmp_path / "secret.txt"
        self.secret.write_text("SECRET-LOCAL-FILE-CONTENT\n", encoding="utf-8")
        self.closed = f"http://127.0.0.1:{free_port()}/feed"

    def fill(self, data: bytes) -> bytes:
        return (
            data.replace(b"{base}", self.server.base_url.encode())
            .replace(b"{closed}", self.closed.encode())
            .replace(b"{secret}", self.secret.as_uri().encode())
        )

    def serve(self, path: str, response: dict[str, Any]) -> None:
        if "body_file" in response:
            body = self.fill((CASES / response["body_file"]).read_bytes())
        elif "generate" in response:
            body = generate(response["generate"])
        else:
            body = self.fill(response.get("body", "").encode("utf-8"))
        headers = {
            k: self.fill(v.encode()).decode() for k, v in response.get("headers", {}).items()
        }
        if response.get("gzip"):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if "content_length" in response:
            headers["Content-Length"] = str(len(body) + response["content_length"])
        self.server.route(
            path,
            status=response.get("status", 200),
            body=body,
            headers=headers,
            delay=response.get("delay", 0.0),
            drip=response.get("drip", 0.0),
            chunk=response.get("chunk", 1),
            close=response.get("close", False),
            header_drip=response.get("header_drip", 0.0),
        )


def stored_items(settings: Settings, feed_url: str) -> list[dict[str, Any]]:
    db = open_database(settings.database)
    try:
        return list(
            db.query(
                """SELECT i.* FROM items i JOIN item_sources s ON s.item_id = i.id
                   JOIN feeds f ON f.id = s.feed_id WHERE f.config_url = ?
                   ORDER BY i.title, i.id""",
                [feed_url],
            )
        )
    finally:
        db.conn.close()


def feed_rows(settings: Settings) -> dict[str, dict[str, Any]]:
    db = open_database(settings.database)
    try:
        return {row["config_url"]: row for row in list_feeds(db)}
    finally:
        db.conn.close()


def check_plain(items: list[dict[str, Any]]) -> None:
    for item in items:
        for name in ("title", "summary"):
            assert "SECRET-LOCAL-FILE" not in item[name] and "root:x:0" not in item[name]
            assert not _MARKUP.search(item[name]), (name, item[name][:200])
            assert not _CONTROL.search(item[name]), (name, item[name][:200])
        url = item["url"]
        assert url is None or (url.startswith(("http://", "https://")) and not _CONTROL.search(url))


def check_expect(
    expect: dict[str, Any],
    outcome: Any,
    feed: dict[str, Any],
    items: list[dict[str, Any]],
    settings: Settings,
) -> None:
    if "status" in expect:
        assert outcome.status == expect["status"], (outcome, feed["last_error"])
    if "error_contains" in expect:
        assert feed["last_error"] and expect["error_contains"] in feed["last_error"]
        assert outcome.error and expect["error_contains"] in outcome.error
    if "warning_contains" in expect:
        if expect["warning_contains"] is None:
            assert feed["last_warning"] is None, feed["last_warning"]
        else:
            assert feed["last_warning"] and expect["warning_contains"] in feed["last_warning"], (
                feed["last_warning"]
            )
    if "item_count" in expect:
        assert len(items) == expect["item_count"]
    if "items" in expect:
        assert len(items) == len(expect["items"]), [i["title"][:80] for i in items]
        for got, want in zip(items, expect["items"], strict=True):
            for key, value in want.items():
                if key == "title_contains":
                    assert value in got["title"], got["title"][:200]
                elif key == "flags":
                    assert (got["flags"].split(",") if got["flags"] else []) == value
                else:
                    if isinstance(value, str):
                        value = value.replace("{base}", settings_base(feed))
                    assert got[key] == value, (key, got[key], value)
    if "history" in expect:
        db = open_database(settings.database)
        try:
            for title, history in expect["history"].items():
                [row] = [i for i in items if i["title"] == title]
                assert item_history(db, row["id"]) == history
        finally:
            db.conn.close()
    if "feed_url" in expect:
        assert feed["url"] == expect["feed_url"].replace("{base}", settings_base(feed))
    if "disabled" in expect:
        assert (feed["status"] == "disabled") == expect["disabled"]
    if "retry_after" in expect:
        assert (feed["retry_after"] is not None) == expect["retry_after"]


def settings_base(feed: dict[str, Any]) -> str:
    match = re.match(r"https?://[^/]+", feed["config_url"])
    assert match
    return match[0]


def test_every_case_is_valid() -> None:
    keys = {"description", "passes", "never_requested", "max_seconds", "measure_memory_mb"}
    for path in case_files():
        case = load_case(path)
        assert set(case) <= keys and case["description"] and case["passes"], path.name
        for step in case["passes"]:
            body_file = step.get("response", {}).get("body_file")
            assert body_file is None or (CASES / body_file).is_file(), path.name
    assert len(case_files()) >= 60


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_hostile_case(
    path: Path, feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    case = Case(path, feed_server, tmp_path)
    spec = case.spec
    url, companion = feed_server.url("/feed"), feed_server.url("/companion")
    settings = settings_for(write_config, [url, companion])
    clock = Clock()
    service = CollectorService(settings, clock=clock)
    try:
        feed_server.route("/feed", body=rss(rss_item(BASELINE_TITLE, "https://base.example/1")))
        feed_server.route("/companion", body=rss(rss_item("Companion 0", "https://c.example/0")))
        service.collect_once()
        for number, step in enumerate(spec["passes"], start=1):
            clock.now += timedelta(hours=2)  # past any back-off window of an earlier pass
            case.serve("/feed", step["response"])
            for extra, response in step.get("routes", {}).items():
                case.serve(extra, response)
            companion_title = f"Companion {number}"
            feed_server.route("/companion", body=rss(rss_item(
                companion_title, f"https://c.example/{number}")))  # fmt: skip
            limit = spec.get("max_seconds", TOTAL_TIMEOUT + 2.5)
            memory_cap = spec.get("measure_memory_mb")
            if memory_cap:
                tracemalloc.start()
            started = time.monotonic()
            outcomes = {o.url: o for o in service.collect_once()}
            elapsed = time.monotonic() - started
            if memory_cap:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                assert peak < memory_cap * MIB, f"pass {number} peaked at {peak / MIB:.0f} MiB"
            assert elapsed < limit, f"pass {number} took {elapsed:.1f}s"
            assert companion_title in {i["title"] for i in stored_items(settings, companion)}
            items = stored_items(settings, url)
            assert BASELINE_TITLE in {i["title"] for i in items}, "a stored item was lost"
            check_plain(items)
            feed = feed_rows(settings)[url]
            outcome = outcomes.get(url) or outcomes[feed["url"]]
            own = [i for i in items if i["title"] != BASELINE_TITLE]
            expect = step.get("expect", {})
            check_expect(expect, outcome, feed, own, settings)
            if "request_headers" in expect:
                sent = feed_server.requests_to("/feed")[-1].headers
                for name, value in expect["request_headers"].items():
                    assert sent.get(name) == value, (name, sent)
        for never in spec.get("never_requested", []):
            assert feed_server.requests_to(never) == [], f"{never} was requested"
    finally:
        service.close()
