"""Benchmark: the aggregates refresh (story clustering first) after a first collection pass.

How to run it:

    .venv/bin/python bench/stories.py [--feeds 1000] [--entries 50] [--runs 1]

The first run builds the database of a first pass with ``bench/collect.py``'s
feeds and its ``ours_side`` process (the pass only: every item stored, tagged
and pending, no aggregates) and keeps it (``--base``, in the temporary
folder by default) so later runs, and runs of another version of the code,
start from the same bytes. Each run copies it and calls
``refresh_aggregates`` in a new process of its own, and prints that
process's wall and CPU seconds for the clustering (``_cluster_pending``)
and the whole refresh, its resident memory before the refresh and its
peak (``ru_maxrss``), the number of stories and a hash of the
``story_items`` rows (item → story), so two versions of the clustering
can be compared on the same items. ``--split N`` refreshes after every N
pending items instead (items arriving over several passes: the rest are
known when the next part is clustered). ``--cli`` also runs the installed
``tensionwatch collect --once`` on an empty database against the same
feeds and prints its time and peak memory (``bench/collect.py``'s
``run_process``: the process and its worker processes). Not part of the
test suite: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def _collect_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_collect", ROOT / "bench" / "collect.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@contextmanager
def _served(feeds: int, entries: int, seed: int, workers: int, name: str) -> Iterator[Any]:
    """``bench/collect.py``'s feeds served on 127.0.0.1, and the config of our side in a
    temporary folder (``name.toml``, database ``name.db``); yields (module, folder, config)."""
    collect = _collect_module()
    made = {f.path: f for f in (collect.make_feed(n, entries, seed) for n in range(feeds))}
    server = collect.FeedServer(made)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="tw-bench-stories-"))
    try:
        yield collect, work, collect.write_config(work, server, made, workers, name)
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def build_base(path: Path, feeds: int, entries: int, seed: int, workers: int) -> None:
    """The database after a first pass (no aggregates refreshed), written to ``path``."""
    started = time.perf_counter()
    with _served(feeds, entries, seed, workers, "base") as (collect, work, config):
        run = collect.run_process(collect.ours_argv(config), work / "base.log")
        shutil.copyfile(work / "base.db", path)
    print(
        f"base database built: {feeds} x {entries} items, pass {run.seconds:.1f} s, "
        f"{run.peak_rss_mb:.0f} MB; total {time.perf_counter() - started:.1f} s -> {path}"
    )


def time_cli(feeds: int, entries: int, seed: int, workers: int) -> None:
    """``tensionwatch collect --once`` on an empty database: pass, aggregates, alerts."""
    with _served(feeds, entries, seed, workers, "cli") as (collect, work, config):
        run = collect.run_process(collect.cli_argv(config), work / "cli.log")
    print(
        f"collect --once, {feeds} x {entries} items: {run.seconds:.1f} s wall, {run.cpu:.1f} s "
        f"CPU, peak {run.peak_rss_mb:.0f} MB (the process and its workers)"
    )


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def refresh_side(path: str, split: int) -> None:
    """In a new process: refresh the aggregates of the database at ``path``; print JSON."""
    import storage.db  # first, as the command does (see storage/db.py)
    from storage import aggregates

    db = storage.db.open_database(path)
    cluster = {"wall": 0.0, "cpu": 0.0}
    original = aggregates._cluster_pending

    def timed(db_: object) -> int:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(db_)  # type: ignore[arg-type]
        finally:
            cluster["wall"] += time.perf_counter() - wall
            cluster["cpu"] += time.process_time() - cpu

    aggregates._cluster_pending = timed  # type: ignore[assignment]
    before = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    if split:
        # hold back all but the first ``split`` pending items (in published order),
        # then let them in ``split`` at a time, refreshing after each part
        rows = db.conn.execute(
            "SELECT p.item_id FROM agg_pending p JOIN items i ON i.id = p.item_id "
            "ORDER BY i.published, i.id"
        ).fetchall()
        db.conn.execute("CREATE TEMP TABLE held (item_id TEXT PRIMARY KEY)")
        db.conn.executemany("INSERT INTO held VALUES (?)", rows[split:])
        db.conn.execute("DELETE FROM agg_pending WHERE item_id IN (SELECT item_id FROM held)")
        for start in range(0, len(rows), split):
            if start:
                part = rows[start : start + split]
                db.conn.executemany("INSERT INTO agg_pending VALUES (?)", part)
            aggregates.refresh_aggregates(db)
    else:
        aggregates.refresh_aggregates(db)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    digest = hashlib.sha256()
    for item_id, story_id in db.conn.execute(
        "SELECT item_id, story_id FROM story_items ORDER BY item_id"
    ):
        digest.update(f"{item_id}\t{story_id}\n".encode())
    stories, largest = db.conn.execute(
        "SELECT count(*), max(n) FROM (SELECT count(*) n FROM story_items GROUP BY story_id)"
    ).fetchone()
    print(
        json.dumps(
            {
                "cluster_wall": cluster["wall"],
                "cluster_cpu": cluster["cpu"],
                "refresh_wall": wall,
                "refresh_cpu": cpu,
                "rss_before_mb": before,
                "peak_mb": peak,
                "items": db.conn.execute("SELECT count(*) FROM story_items").fetchone()[0],
                "stories": stories,
                "largest": largest,
                "sha256": digest.hexdigest()[:16],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--split", type=int, default=0, help="refresh after every N items")
    parser.add_argument("--base", type=Path, help="the first-pass database (built if missing)")
    parser.add_argument(
        "--cli", action="store_true", help="also time `tensionwatch collect --once` on its own"
    )
    parser.add_argument("--refresh-side", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.refresh_side:
        refresh_side(args.refresh_side, args.split)
        return
    base = args.base or Path(tempfile.gettempdir()) / (
        f"tw-bench-stories-{args.feeds}x{args.entries}-s{args.seed}.db"
    )
    if not base.exists():
        build_base(base, args.feeds, args.entries, args.seed, args.workers)
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="tw-bench-stories-") as work:
            copy = Path(work) / "copy.db"
            shutil.copyfile(base, copy)
            argv = [sys.executable, __file__, "--refresh-side", str(copy)]
            argv += ["--split", str(args.split)]
            out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT)
            result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"run {run + 1}: clustering {result['cluster_wall']:.2f} s wall "
            f"{result['cluster_cpu']:.2f} s CPU; refresh {result['refresh_wall']:.2f} s wall "
            f"{result['refresh_cpu']:.2f} s CPU; RSS {result['rss_before_mb']:.0f} MB before, "
            f"{result['peak_mb']:.0f} MB peak; {result['items']} items in "
            f"{result['stories']} stories (largest {result['largest']}), "
            f"story_items sha256 {result['sha256']}"
        )
    if args.cli:
        time_cli(args.feeds, args.entries, args.seed, args.workers)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
