"""Dashboard benchmark at a million items: every page through AppTest, every filter query.

    python bench/dashboard.py build [--items 1000000] [--db bench/data/bench.db]
    python bench/dashboard.py measure [--db bench/data/bench.db]
    python bench/dashboard.py serve [--db bench/data/bench.db]

``build`` writes a generated database (never committed: ``bench/data/`` is
ignored) with realistic shapes: 40 feeds in 8 countries, five years of items
whose daily volume wanders and bursts, 1-4 actor tags and 0-3 category tags
per item with their seeded weights and one evidence span each, and about a
third of the items republished by other outlets within hours (near-duplicate
titles, so they cluster into stories). It then runs
``storage.aggregates.refresh_aggregates`` once, as the collector would.

``measure`` runs each page's full script through AppTest (cold: first run
with empty caches, then warm), each filter query of the Items and Trends
pages on its own (the median of five runs, wall and CPU time), the issue's
naive peers on the same database (a dyad per day with no index, with
indexes, from ``agg_daily``; FTS5 against LIKE), and prints a table with
the targets (page < 1.0 s, filter < 100 ms, process RSS < 500 MB). ``serve`` starts
``tensionwatch dashboard`` on the database, loads every page twice in
headless Chromium and prints the server's peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from storage.aggregates import refresh_aggregates  # noqa: E402
from storage.db import open_database, to_iso, transaction  # noqa: E402

ACTORS = (
    ("morocco", 0.55), ("algeria", 0.35), ("israel", 0.3), ("polisario", 0.2),
    ("western_sahara", 0.2), ("palestine", 0.15), ("united_nations", 0.1),
    ("united_states", 0.08), ("france", 0.08), ("spain", 0.08),
)  # fmt: skip
CATEGORIES = (
    ("military_violence", 10, 0.08), ("diplomatic_rupture", 7, 0.05),
    ("accusation_threat", 5, 0.2), ("surveillance_espionage", 4, 0.03),
    ("protest_unrest", 3, 0.06), ("defence_cooperation", 2, 0.08),
    ("sovereignty_dispute", 2, 0.12), ("economic_energy", -2, 0.1),
    ("normalisation_cooperation", -4, 0.07), ("mediation_deescalation", -5, 0.08),
)  # fmt: skip
COUNTRIES = ("MA", "DZ", "IL", "ES", "FR", "GB", "US", "QA")
LANGS = ("en", "fr", "ar", "es")
START = datetime(2021, 1, 1, tzinfo=UTC)
DAYS = 5 * 365


def build(path: Path, total: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    vocabulary = [f"w{n}" for n in range(20_000)]
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = open_database(path)
    conn = db.conn
    started = time.perf_counter()
    with transaction(db):
        for n in range(40):
            conn.execute(
                "INSERT INTO feeds (config_url, url, name, country, lang, created, last_ok, "
                "last_polled, next_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [f"https://feed{n}.example/rss", f"https://feed{n}.example/rss",
                 f"Outlet {n}", COUNTRIES[n % 8], LANGS[n % 4], to_iso(START),
                 to_iso(START + timedelta(days=DAYS)), to_iso(START + timedelta(days=DAYS)),
                 to_iso(START + timedelta(days=DAYS, hours=1))],
            )  # fmt: skip
        for n in range(5000):
            conn.execute(
                "INSERT INTO fetch_log (feed_id, started, outcome, duration_ms) "
                "VALUES (?, ?, 'ok', ?)",
                [1 + n % 40, to_iso(START + timedelta(hours=n)), rng.randint(80, 2000)],
            )
    weights = [total / DAYS * (0.5 + rng.random()) for _ in range(DAYS)]
    for burst in rng.sample(range(DAYS), 40):  # episodes: a few days at 3-6x
        for day in range(burst, min(DAYS, burst + rng.randint(2, 6))):
            weights[day] *= rng.uniform(3, 6)
    scale = total / sum(weights)
    made = 0
    batch: list[tuple[object, ...]] = []
    for day in range(DAYS):
        count = round(weights[day] * scale) if day < DAYS - 1 else total - made
        for _ in range(max(0, min(count, total - made))):
            batch.append(_item(rng, vocabulary, START + timedelta(days=day), made))
            made += 1
        if len(batch) >= 20_000 or day == DAYS - 1:
            _write(db, rng, batch)
            batch = []
            print(f"\r{made:,} items, {time.perf_counter() - started:.0f} s", end="", flush=True)
    print(f"\nstored in {time.perf_counter() - started:.0f} s; refreshing the aggregates…")
    refreshed = time.perf_counter()
    refresh_aggregates(db)
    print(f"aggregates in {time.perf_counter() - refreshed:.0f} s")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()


_last: list[tuple[object, ...]] = []


def _item(rng: random.Random, vocabulary: list[str], day: datetime, n: int) -> tuple[object, ...]:
    moment = day + timedelta(seconds=rng.randint(0, 86_399))
    feed = rng.randint(1, 40)
    if _last and rng.random() < 0.33:  # a republication of a recent story, reworded a little
        original = _last[rng.randrange(len(_last))]
        words = str(original[2]).split()
        words[rng.randrange(len(words))] = rng.choice(vocabulary)
        published = min(moment, datetime.fromisoformat(str(original[4])) + timedelta(hours=6))
        return (f"i{n}", feed, " ".join(words), original[3], to_iso(published),
                LANGS[feed % 4], original[6], original[7])  # fmt: skip
    actors = [a for a, p in ACTORS if rng.random() < p] or [rng.choice(ACTORS)[0]]
    categories = [(c, w) for c, w, p in CATEGORIES if rng.random() < p][:3]
    title = " ".join(rng.choices(vocabulary, k=9))
    summary = " ".join(rng.choices(vocabulary, k=30))
    row = (f"i{n}", feed, title, summary, to_iso(moment), LANGS[feed % 4], actors, categories)
    _last.append(row)
    if len(_last) > 50:
        _last.pop(0)
    return row


def _write(db: object, rng: random.Random, batch: list[tuple[object, ...]]) -> None:
    from sqlite_utils import Database

    assert isinstance(db, Database)
    with transaction(db):
        conn = db.conn
        conn.executemany(
            "INSERT INTO items (id, feed_id, url, guid, title, summary, published, fetched, lang) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[0], r[1], f"https://news.example/{r[0]}", r[0], r[2], r[3], r[4], r[4], r[5])
             for r in batch],
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO item_sources (item_id, feed_id, first_seen) VALUES (?, ?, ?)",
            [(r[0], r[1], r[4]) for r in batch],
        )
        tags = []
        for r in batch:
            tags += [(r[0], "actor", a, 0.0) for a in r[6]]  # type: ignore[attr-defined]
            tags += [(r[0], "category", c, w) for c, w in r[7]]  # type: ignore[attr-defined]
        conn.executemany(
            "INSERT INTO item_tags (item_id, kind, tag, weight, rules_version) "
            "VALUES (?, ?, ?, ?, 'bench')",
            tags,
        )
        conn.executemany(
            'INSERT INTO tag_matches (item_id, kind, tag, rule, field, start, "end", text, '
            "rules_version) VALUES (?, ?, ?, ?, 'title', 0, 3, 'w1', 'bench')",
            [(t[0], t[1], t[2], f"{t[1]}.{t[2]}") for t in tags],
        )


QUERY_RUNS = 5  # each query's median of five: one run is at the mercy of a shared machine


def _median_ms(call: Callable[[], object]) -> tuple[float, float]:
    """The median wall time and the median CPU time of this process (ms) over
    ``QUERY_RUNS`` calls. CPU time leaves out the waits for a core that other work on the
    machine causes (SQLite runs in this process, so its work is counted)."""
    walls, cpus = [], []
    for _ in range(QUERY_RUNS):
        started, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return sorted(walls)[QUERY_RUNS // 2], sorted(cpus)[QUERY_RUNS // 2]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from dashboard import queries
    from indicators import SEEDED_DYADS

    open_database(path).conn.close()  # migrated as the collector does when it starts
    os.environ["TENSIONWATCH_DATABASE"] = str(path)
    rows: list[tuple[str, float, float, str]] = []
    app = str(REPO / "dashboard" / "app.py")
    # the interpreter warmed once (imports), as a served dashboard is after its first
    # visitor: "cold" below means empty caches, not a fresh process
    AppTest.from_file(app, default_timeout=120).run()
    for page in ("overview", "trends", "items", "feeds", "alerts", "rules"):
        for run in ("cold", "warm"):
            if run == "cold":
                import streamlit as st

                st.cache_data.clear()
            started = time.perf_counter()
            at = AppTest.from_file(app, default_timeout=120)
            if page != "overview":
                at.switch_page(f"app_pages/{page}.py")
            at.run()
            elapsed = time.perf_counter() - started
            ok = "error: " + str(at.exception[0].message) if at.exception else "ok"
            rows.append((f"page {page} ({run})", elapsed * 1000, 1000.0, ok))
            print(f"page {page} ({run}): {elapsed * 1000:.0f} ms {ok}", flush=True)
    db = str(path)
    version = queries.load_data_version.__wrapped__(db)  # type: ignore[attr-defined]
    summary = queries.load_summary.__wrapped__(db, version)  # type: ignore[attr-defined]
    end = summary.last_published.date() if summary.last_published else None
    assert end is not None
    start = end - timedelta(days=364)
    filters: list[tuple[str, dict[str, object]]] = [
        ("items: no filter", {}),
        ("items: dyad morocco-algeria", {"dyads": ("morocco-algeria",)}),
        (
            "items: actor israel + category",
            {"actors": ("israel",), "categories": ("military_violence",)},
        ),
        ("items: search 'w123'", {"search": "w123"}),
        ("items: feed + language", {"feeds": ("Outlet 3",), "langs": ("en",)}),
        (
            "items: one day (drill-down)",
            {"since": end, "until": end + timedelta(days=1), "dyads": ("morocco-algeria",)},
        ),
        ("items: per story", {"unit": "story", "dyads": ("morocco-polisario",)}),
    ]
    cpu: dict[str, float] = {}
    for name, spec in filters:
        kwargs = {"since": start, "until": end + timedelta(days=1), **spec}
        load = queries.load_items.__wrapped__  # type: ignore[attr-defined]
        wall, cpu[name] = _median_ms(partial(load, db, version, **kwargs))
        rows.append((name, wall, 100.0, "ok"))
        print(f"{name}: {wall:.0f} ms", flush=True)
    trend_specs: list[tuple[str, tuple[str, ...], str]] = [
        ("trends: 5 dyads, a year, story", ("dyad",), "story"),
        ("trends: 5 dyads, a year, item", ("dyad",), "item"),
    ]
    for name, _, unit in trend_specs:
        wall, cpu[name] = _median_ms(partial(
            queries.load_trends.__wrapped__,  # type: ignore[attr-defined]
            db, version, ("morocco-algeria", "morocco-polisario", "morocco-israel",
                          "algeria-polisario", "israel-palestine"), ("israel",), (),
            start, end, "week", unit, False,
        ))  # fmt: skip
        rows.append((name, wall, 100.0, "ok"))
    for name, call in (
        ("overview query (a year)", lambda: queries.load_overview.__wrapped__(  # type: ignore[attr-defined]
            db, version, tuple(d.id for d in SEEDED_DYADS), 365, "week", "story")),
        ("feeds query", lambda: queries.load_feed_health.__wrapped__(db, version)),  # type: ignore[attr-defined]
        ("hourly, last 7 days", lambda: queries.load_hourly_frame.__wrapped__(  # type: ignore[attr-defined]
            db, version, ("morocco-algeria",), "story")),
    ):  # fmt: skip
        wall, cpu[name] = _median_ms(call)
        rows.append((name, wall, 100.0, "ok"))
    rows.append(("AppTest's own set-up, in every page above", _component_scan_ms(), -1.0, ""))
    rows += naive_peers(path, start, end)
    rss = _rss_mb()
    print(f"\n{'measure':46} {'ms':>9} {'target':>8}  result  (cpu ms)")
    for name, ms, target, ok in rows:
        if target <= 0:  # a peer, or (-1) a figure given for information
            print(f"{name:46} {ms:9.1f} {'peer' if target == 0 else 'info':>8}  {ok}")
            continue
        verdict = "PASS" if ms < target and ok == "ok" else "FAIL"
        spent = f"  ({cpu[name]:.1f})" if name in cpu else ""
        print(f"{name:46} {ms:9.1f} {target:8.0f}  {verdict}{spent} {'' if ok == 'ok' else ok}")
    verdict = "PASS" if rss < 500 else "FAIL"
    print(f"{'bench process peak RSS (MB)':46} {rss:9.0f} {500:8.0f}  {verdict}")
    digest = hashlib.sha256(path.read_bytes()[:4096]).hexdigest()[:8]
    print(f"database {path} ({path.stat().st_size / 1e6:.0f} MB, header {digest})")


def _component_scan_ms() -> float:
    """What each new AppTest spends before running the script: it scans every installed
    distribution for Streamlit components (``discover_and_register_components``), which a
    served dashboard does once at start-up. Part of every page time above, not of the page."""
    from streamlit.components.v2.component_manager import BidiComponentManager

    walls = []
    for _ in range(3):
        started = time.perf_counter()
        BidiComponentManager().discover_and_register_components(start_file_watching=False)
        walls.append((time.perf_counter() - started) * 1000)
    return sorted(walls)[1]


def _timed(conn: sqlite3.Connection, sql: str, params: list[object]) -> tuple[float, int]:
    """Best of three runs (ms) and the number of rows."""
    best, count = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        count = len(conn.execute(sql, params).fetchall())
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, count


def naive_peers(path: Path, start: date, end: date) -> list[tuple[str, float, float, str]]:
    """The issue's peers, on the same database in the same run: a per-day count for one
    dyad over a year from the raw tables with no index (``NOT INDEXED``), with the
    indexes, and from ``agg_daily``; a word search through FTS5 and through LIKE.
    Rows with target 0 are peers (printed, not judged)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    since, until = f"{start.isoformat()}T00:00:00Z", f"{end + timedelta(days=1)}T00:00:00Z"
    raw = """SELECT substr(i.published, 1, 10) AS day, count(*) FROM items i {hint}
             WHERE i.published >= ? AND i.published < ?
             AND i.id IN (SELECT item_id FROM item_tags {hint}
                          WHERE kind = 'actor' AND tag = 'morocco')
             AND i.id IN (SELECT item_id FROM item_tags {hint}
                          WHERE kind = 'actor' AND tag = 'algeria')
             GROUP BY day"""
    rows: list[tuple[str, float, float, str]] = []
    no_index, n1 = _timed(conn, raw.format(hint="NOT INDEXED"), [since, until])
    indexed, n2 = _timed(conn, raw.format(hint=""), [since, until])
    aggregated, _ = _timed(
        conn,
        """SELECT day, items FROM agg_daily WHERE unit = 'item' AND kind = 'dyad'
           AND key = 'algeria-morocco' AND day >= ? AND day <= ?""",
        [start.isoformat(), end.isoformat()],
    )
    rows.append(("peer: dyad per day, a year, no index", no_index, 0.0, f"{n1} days"))
    rows.append(("peer: dyad per day, a year, indexes", indexed, 0.0, f"{n2} days"))
    rows.append(("ours: dyad per day, a year, agg_daily", aggregated, 100.0, "ok"))
    fts, _ = _timed(
        conn, "SELECT rowid FROM items_fts WHERE items_fts MATCH ? LIMIT 500", ['"w123"']
    )
    like, likes = _timed(
        conn,
        "SELECT rowid FROM items WHERE title LIKE ? OR summary LIKE ? LIMIT 500",
        ["% w123 %", "% w123 %"],
    )
    rows.append(("ours: word search, FTS5 (500 newest hits)", fts, 100.0, "ok"))
    rows.append(("peer: word search, LIKE (500 hits)", like, 0.0, f"{likes} rows"))
    fts_all, _ = _timed(conn, "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", ['"w123"'])
    like_all, _ = _timed(
        conn,
        "SELECT count(*) FROM items WHERE title LIKE ? OR summary LIKE ?",
        ["%w123%", "%w123%"],
    )
    rows.append(("ours: word search, FTS5, count all", fts_all, 100.0, "ok"))
    rows.append(("peer: word search, LIKE, count all", like_all, 0.0, "full scan"))
    conn.close()
    return rows


def serve_memory(path: Path) -> None:
    """The dashboard as users get it: ``tensionwatch dashboard`` on the database, every page
    loaded in headless Chromium (twice, caches warm), then the server's peak RSS (VmHWM)."""
    import shutil
    import socket
    import subprocess
    import urllib.request

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print("no chromium: served memory not measured")
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TENSIONWATCH_DATABASE": str(path),
           "TENSIONWATCH_DASHBOARD_PORT": str(port)}  # fmt: skip
    exe = str(Path(sys.executable).parent / "tensionwatch")
    server = subprocess.Popen([exe, "dashboard"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/_stcore/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.5)
        timings: list[tuple[str, float]] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 1800})
            for round_ in ("cold", "warm"):
                for name in ("", "trends", "items", "feeds", "alerts", "rules"):
                    started = time.perf_counter()
                    page.goto(f"{base}/{name}")
                    page.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
                    page.wait_for_function(
                        "() => !document.querySelector('[data-testid=stStatusWidget]')",
                        timeout=120_000,
                    )
                    timings.append(
                        (f"{name or 'overview'} ({round_})", time.perf_counter() - started)
                    )
            browser.close()
        status = Path(f"/proc/{server.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        hwm = int(fields["VmHWM"].split()[0]) / 1024
        rss = int(fields["VmRSS"].split()[0]) / 1024
        print("\nserved dashboard (browser, page load until the script finished):")
        for name, seconds in timings:
            print(f"  {name:24} {seconds * 1000:8.0f} ms")
        verdict = "PASS" if hwm < 500 else "FAIL"
        print(f"{'dashboard server peak RSS (MB)':46} {hwm:9.0f} {500:8.0f}  {verdict}")
        print(f"{'dashboard server RSS now (MB)':46} {rss:9.0f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "measure", "serve"))
    parser.add_argument("--db", type=Path, default=REPO / "bench" / "data" / "bench.db")
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.command == "build":
        build(args.db, args.items)
    elif args.command == "measure":
        measure(args.db)
    else:
        serve_memory(args.db)


if __name__ == "__main__":
    main()
