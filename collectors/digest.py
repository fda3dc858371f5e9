"""Turning a fetched body into tagged items: parse → normalise → tag, here or in processes.

``digest_body`` is that step on the calling thread; ``DigestPool.digest``
awaits it on the fetching client's event loop. On a first pass it is
most of the collector's CPU (1,000 bench feeds of 50 entries: parse 1.3 s,
normalise 1.4 s, tag 2.0 s of CPU, against 3.0 s for storing), and it is
pure Python holding the GIL, so threads cannot spread it over a second
core. ``DigestPool`` sends each body to one of a few worker
processes instead, each with its own tagger of the same rules, while the
collector's own process fetches and stores. The pool starts at the first
body a pass has to parse (a pass where every feed answers 304 or sends the
same bytes starts none) and only for passes over enough feeds to repay the
start of a process (``MIN_FEEDS``).

Workers are spawned, not forked: the collector forks nothing while its
fetching client's event loop and its database connection are live. A worker that dies
(killed, out of memory) breaks only the pool: that body and every later
one are digested on a thread of the collector, as without a pool; a worker whose
collector was killed exits on its own within a second. A worker's
``ParseError`` comes back as the same error; a bug in a worker is raised
in the collector with its traceback, as on a thread.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from model import FetchResult, ParseError, TaggedItem
from storage.records import ItemRecord, item_records

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from tagging import Tagger

ORPHAN_CHECK_SECONDS = 0.5
# Workers run at a lower priority than the collector, whose one process fetches and
# stores every item (SQLite takes one writer): with fewer cores than processes, the
# scheduler then gives the pipeline's narrowest stage its core, and the workers take
# what is left, which is enough (they idle once the feeds in flight are digested).
# The collect bench's first pass on 2 cores, whole process: 6.38-6.49 s at the same
# priority, 6.05-6.25 s at this one. The dashboard, a process of its own, also keeps
# ahead of digesting.
WORKER_NICENESS = 10
MIN_FEEDS = 20  # a pass over fewer feeds digests in the collector: a process costs ~0.3 s to start


@dataclass(frozen=True)
class Digest:
    """A body's items, tagged, and what the parser noticed on the way."""

    records: tuple[ItemRecord, ...]  # the tagged items, as the rows that store them
    warning: str | None
    ttl_seconds: int | None


def digest_body(
    result: FetchResult, feed_url: str, default_lang: str, now: datetime, tagger: Tagger
) -> Digest:
    """Parse → normalise → tag one fetched body; ``ParseError`` when it is not a feed."""
    # Imported on the first body: a pass where every feed answers 304 (or sends the
    # same bytes) never loads feedparser, lxml or nh3.
    from collectors.normalise import normalise_entries
    from collectors.parse import parse_feed

    parsed = parse_feed(result)
    items = normalise_entries(feed_url, parsed, now, default_lang=default_lang or parsed.lang)
    records = item_records(
        TaggedItem(item, tagger.tag(item.title, item.summary, item.lang)) for item in items
    )
    return Digest(records, parsed.warning, parsed.ttl_seconds)


def default_processes(workers: int) -> int:
    """Worker processes for a pass with ``workers`` fetches at once: one per usable core,
    no more than the fetches that feed them; 1 (no pool) on a single core."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return max(1, min(cores, workers))


class DigestPool:
    """``digest`` on up to ``processes`` worker processes, started at the first call."""

    def __init__(self, tagger: Tagger, processes: int) -> None:
        self.tagger = tagger
        self.processes = processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._broken = processes < 2

    async def digest(
        self, result: FetchResult, feed_url: str, default_lang: str, now: datetime
    ) -> Digest:
        """``digest_body`` awaited on the running loop: on one of the worker processes,
        else (no pool, or a broken one) on a thread of the loop's default executor."""
        loop = asyncio.get_running_loop()
        executor = None if self._broken else self._start()
        if executor is not None:
            from concurrent.futures.process import BrokenProcessPool  # loaded by _start

            try:
                outcome = await loop.run_in_executor(
                    executor, _digest_in_worker, result, feed_url, default_lang, now
                )
            except BrokenProcessPool:
                self._broken = True  # digested on a thread below, and every body after
            else:
                if isinstance(outcome, Digest):
                    return outcome
                raise ParseError(*outcome)
        here = functools.partial(digest_body, tagger=self.tagger)
        return await loop.run_in_executor(None, here, result, feed_url, default_lang, now)

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is not None:  # every body after the first
            return self._executor
        # Imported here: a pass that starts no pool (every feed 304) does not load
        # multiprocessing (20 ms of the collector's start).
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with self._lock:
            if self._executor is None:
                rules = self.tagger.rules
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(str(Path(rules.path).resolve()), rules.version, os.getpid()),
                )
            return self._executor

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None

    def __enter__(self) -> DigestPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_tagger: Tagger | None = None  # in a worker process: the tagger of the pool's rules


def _start_worker(rules_path: str, version: str, collector: int) -> None:
    """Load the collector's rules (the same file, the same version, or no worker at all:
    the pool then breaks and bodies are digested in the collector). The rules go by path,
    not pickled: a spawned child that dies before reading what it is sent would block
    its parent writing more than a pipe holds (multiprocessing keeps the pipe's read
    end open until the write is done), and the compiled tagger pickles to 1.4 MB."""
    from tagging import Tagger, load_rules

    global _tagger
    if hasattr(os, "nice"):  # not on every platform
        os.nice(WORKER_NICENESS)
    rules = load_rules(rules_path)
    if rules.version != version:
        raise RuntimeError(f"{rules_path} changed since the collector loaded version {version}")
    _tagger = Tagger(rules)
    threading.Thread(target=_exit_with, args=(collector,), daemon=True).start()


def _exit_with(collector: int) -> None:
    """End this worker once its collector is gone: a collector killed (SIGKILL) in the
    middle of a pass cannot shut its pool down, and a worker waiting for work
    would otherwise wait for ever. The collector's pid comes from the collector:
    read here, it would already be init's when the kill came while this worker
    was starting."""
    while os.getppid() == collector:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _digest_in_worker(
    result: FetchResult, feed_url: str, default_lang: str, now: datetime
) -> Digest | tuple[str, str]:
    """``digest_body`` in a worker; a ``ParseError`` as its (url, reason), since an
    exception whose arguments differ from its ``args`` does not survive pickling."""
    assert _tagger is not None, "worker started without its tagger"
    try:
        return digest_body(result, feed_url, default_lang, now, _tagger)
    except ParseError as e:
        return (e.url, e.reason)
