"""One collection pass: the whole refresh story of one feed in ``refresh_feed``.

load state → skip if disabled or inside a Retry-After / back-off window →
(``poll_network``, no database: conditional request → not modified, or a
byte-identical body? → parse → normalise → tag) → (``store_poll``: items,
feed state and fetch log in ONE transaction) → outcome. ``collect_once``
does the same for many feeds at once: the network part on the fetching
client's event loop, the stores on the calling thread (see there). A failing feed never raises
out of here: its error is stored on the feed row and returned in its
``PollOutcome``; the pass goes on. A database
that cannot be written (disk full, read-only) is such an error too: the
feed's transaction is rolled back whole, the error recorded if the database
still takes that, and the feed polled again at the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from collectors.digest import MIN_FEEDS, DigestPool
from collectors.fetch import FeedClient, fetch_feed_async
from collectors.politeness import HostLimiter, max_age, poll_interval, round_robin_by_host
from model import (
    ConditionalHeaders,
    FeedSpec,
    FetchError,
    FetchPolicy,
    FetchResult,
    ParseError,
    PollOutcome,
    StorageError,
)
from storage.feeds import (
    FeedState,
    feed_state,
    feed_states,
    log_fetch,
    move_feed,
    record_failure,
    record_success,
)
from storage.items import FeedItems, bulk_writes, store_item_batches, write_transaction
from storage.records import ItemRecord

if TYPE_CHECKING:
    import sqlite_utils

    from tagging import Tagger

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
FIRST_BACKOFF = 60.0  # seconds, after the second consecutive error
MAX_RETRY_AFTER = timedelta(days=7)  # a publisher cannot silence a feed for longer


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Collector:
    """Everything one pass needs, built once by the entry point."""

    db: sqlite_utils.Database
    client: FeedClient
    tagger: Tagger
    policy: FetchPolicy
    interval: float  # default seconds between polls of a feed
    max_backoff: float
    clock: Clock = utc_now
    workers: int = 1  # fetches at once in ``collect_once``
    per_host: int = 2  # most concurrent fetches from one host
    processes: int = 1  # digesting bodies in ``collect_once`` (``collectors.digest``); 1: none


def backoff_delay(error_count: int, max_backoff: float) -> float:
    """Seconds to wait after ``error_count`` consecutive errors; 0 after the first.

    A single failure is retried at the next pass (a blip should not hide a
    feed); from the second on the wait doubles, up to ``max_backoff``, and
    never stops retrying altogether.
    """
    if error_count < 2:
        return 0.0
    return float(min(FIRST_BACKOFF * 2 ** (error_count - 2), max_backoff))


def skip_reason(state: FeedState, now: datetime) -> str | None:
    if not state.enabled:
        return "disabled in the configuration"
    if state.disabled_reason:
        return state.disabled_reason
    if state.retry_after and now < state.retry_after:
        return f"publisher asked to wait (Retry-After) until {state.retry_after:%Y-%m-%d %H:%M}Z"
    if state.backoff_until and now < state.backoff_until:
        return (
            f"backing off after {state.error_count} errors until "
            f"{state.backoff_until:%Y-%m-%d %H:%M:%S}Z"
        )
    return None


def refresh_feed(collector: Collector, spec: FeedSpec, *, due_only: bool = False) -> PollOutcome:
    """Poll one feed once and store what is new: the whole story, on one thread.

    Never raises for a feed's own failure, nor for a database that cannot be
    written. With ``due_only`` (the scheduler's polls) a feed whose own
    interval (ttl, Cache-Control) is not over yet is skipped.
    """
    started = time.monotonic()
    try:
        state, now = load_state(collector, spec)
        reason = skip_reason(state, now) or (
            not_due_reason(collector, state, now) if due_only else None
        )
        if reason:
            return _skipped(state, reason)
        polled = poll_network(collector, state, spec, now)
        return store_poll(collector, state, spec, polled)
    except StorageError as e:
        return _storage_failed(collector, spec, e, started)


def load_state(collector: Collector, spec: FeedSpec) -> tuple[FeedState, datetime]:
    state = feed_state(collector.db, spec.url)
    if state is None:
        raise LookupError(f"feed {spec.url} is not synced into the database")
    return state, collector.clock()


@dataclass(frozen=True)
class Polled:
    """What one poll brought back, before anything is stored. Built by ``poll_network``
    without touching the database, so it can run on any thread."""

    now: datetime
    started: float
    result: FetchResult | None = None  # None when the fetch failed
    error: FetchError | ParseError | None = None
    body_hash: str | None = None
    unchanged: bool = False  # 304, or the same bytes as last time: nothing parsed
    records: tuple[ItemRecord, ...] = ()  # the tagged items, as stored
    warning: str | None = None
    advertised: float | None = None  # seconds between polls the feed asks for


def poll_network(
    collector: Collector,
    state: FeedState,
    spec: FeedSpec,
    now: datetime,
    pool: DigestPool | None = None,
) -> Polled:
    """Conditional request → not modified (or byte-identical body)? → parse → normalise → tag
    (``collectors.digest``: on a thread, or on ``pool``'s processes)."""
    return collector.client.run(poll_feed(collector, state, spec, now, pool))


async def poll_feed(
    collector: Collector,
    state: FeedState,
    spec: FeedSpec,
    now: datetime,
    pool: DigestPool | None = None,
    hosts: HostLimiter | None = None,
) -> Polled:
    """``poll_network`` as a coroutine on the client's loop: the fetch there (in one of
    ``hosts``' slots), then the digest on one of ``pool``'s processes, or on a thread
    of the loop's without a pool."""
    async with hosts.slot(state.url) if hosts else contextlib.nullcontext():
        started = time.monotonic()
        try:
            result = await fetch_feed_async(
                collector.client,
                state.url,
                ConditionalHeaders(state.etag, state.last_modified),
                collector.policy,
            )
        except FetchError as e:
            return Polled(now, started, error=e)
    advertised = max_age(result.headers)
    if result.not_modified:
        return Polled(now, started, result, unchanged=True, advertised=advertised)
    body_hash = hashlib.sha256(result.body).hexdigest()
    if body_hash == state.body_hash:
        return Polled(
            now, started, result, body_hash=body_hash, unchanged=True, advertised=advertised
        )
    digests = pool if pool is not None else DigestPool(collector.tagger, processes=1)
    try:
        digested = await digests.digest(result, state.url, spec.lang, now)
    except ParseError as e:
        return Polled(now, started, result, error=e)
    return Polled(
        now,
        started,
        result,
        body_hash=body_hash,
        records=digested.records,
        warning=digested.warning,
        advertised=digested.ttl_seconds or advertised,
    )


def store_poll(
    collector: Collector, state: FeedState, spec: FeedSpec, polled: Polled
) -> PollOutcome:
    """Items, feed state and fetch log in ONE transaction (or the error on the feed)."""
    with write_transaction(collector.db):
        return write_polls(collector, [(state, spec, polled)])[0]


def store_polls(
    collector: Collector, polls: Sequence[tuple[FeedState, FeedSpec, Polled]]
) -> list[PollOutcome]:
    """Several polls in one transaction: one COMMIT (and one full-text index flush)
    for the lot. If that transaction fails, each poll is stored alone as
    ``store_poll`` would, so a database error stays the error of the feeds it
    hit. Never raises ``StorageError``."""
    if len(polls) > 1:
        try:
            with write_transaction(collector.db):
                return write_polls(collector, polls)
        except StorageError:
            pass  # rolled back whole; now one by one
    outcomes = []
    for state, spec, polled in polls:
        started = time.monotonic()
        try:
            outcomes.append(store_poll(collector, state, spec, polled))
        except StorageError as e:
            outcomes.append(_storage_failed(collector, spec, e, started))
    return outcomes


def write_polls(
    collector: Collector, polls: Sequence[tuple[FeedState, FeedSpec, Polled]]
) -> list[PollOutcome]:
    """The writes of several polls, inside a transaction the caller holds: each feed's
    move (a permanent redirect), the items of every poll that brought a new body
    stored together (``storage.items.store_item_batches``, the same rows as one
    poll after the other), then each feed's state and fetch log."""
    db = collector.db
    moves: dict[int, str | None] = {}  # poll → warning about its move, for polls with items
    batches: list[FeedItems] = []
    for index, (state, spec, polled) in enumerate(polls):
        result = polled.result
        if polled.error is None and result is not None and not polled.unchanged:
            moves[index] = _follow_move(db, state, result.permanent_url)
            batches.append(FeedItems(state.id, polled.records, spec.archive, polled.now))
    counts = dict(zip(moves, store_item_batches(db, batches), strict=True))
    return [
        _write_poll(collector, state, spec, polled, counts.get(index, (0, 0)), moves.get(index))
        for index, (state, spec, polled) in enumerate(polls)
    ]


def _write_poll(
    collector: Collector,
    state: FeedState,
    spec: FeedSpec,
    polled: Polled,
    counts: tuple[int, int],
    moved: str | None,
) -> PollOutcome:
    """One poll's feed state and fetch log, its items already stored (``counts``: new,
    already seen); ``moved`` warns of a move that could not be made (None for a poll
    that brought no new body)."""
    db, now, started, result = collector.db, polled.now, polled.started, polled.result
    if polled.error is not None or result is None:
        error = polled.error
        if isinstance(error, FetchError):
            return _record_fail(
                collector,
                state,
                now,
                error.reason,
                error.status,
                started,
                retry_after=error.retry_after,
                gone=error.gone,
            )
        reason = error.reason if error is not None else "no response"
        http_status = result.status if result else None
        return _record_fail(collector, state, now, reason, http_status, started)
    interval = poll_interval(state.interval, collector.interval, polled.advertised)
    next_due = now + timedelta(seconds=interval)
    status = "not_modified" if polled.unchanged else "ok"
    new, seen = counts
    warning = moved or polled.warning
    record_success(
        db,
        state.id,
        now,
        http_status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        body_hash=polled.body_hash,
        warning=warning,
        next_due=next_due,
    )
    _log(db, state, now, status, result.status, new, seen, started, None, warning)
    url = state.url if polled.unchanged else (result.permanent_url or state.url)
    return PollOutcome(
        url=url,
        status=status,
        new=new,
        seen=seen,
        warning=warning,
        duration_ms=_ms(started),
    )


def not_due_reason(collector: Collector, state: FeedState, now: datetime) -> str | None:
    """Why a scheduled poll is early: the feed asked for a longer interval than the
    job's. Half the default interval of slack keeps jitter from skipping a due poll."""
    slack = timedelta(seconds=collector.interval / 2)
    if state.next_due and now + slack < state.next_due:
        return f"not due until {state.next_due:%Y-%m-%d %H:%M:%S}Z (the feed's own interval)"
    return None


def _skipped(state: FeedState, reason: str) -> PollOutcome:
    status = "disabled" if (not state.enabled or state.disabled_reason) else "skipped"
    return PollOutcome(url=state.url, status=status, note=reason)


def _follow_move(db: sqlite_utils.Database, state: FeedState, new_url: str | None) -> str | None:
    """Store a permanent redirect's target as the feed's URL; a warning if it cannot be."""
    if not new_url or new_url == state.url or move_feed(db, state.id, new_url):
        return None
    return f"moved permanently to {new_url}, where another configured feed already lives"


def _fail(
    collector: Collector,
    state: FeedState,
    now: datetime,
    error: str,
    http_status: int | None,
    started: float,
) -> PollOutcome:
    with write_transaction(collector.db):
        return _record_fail(collector, state, now, error, http_status, started)


def _record_fail(
    collector: Collector,
    state: FeedState,
    now: datetime,
    error: str,
    http_status: int | None,
    started: float,
    *,
    retry_after: datetime | None = None,
    gone: bool = False,
) -> PollOutcome:
    """The writes of a failed poll, inside a transaction the caller holds."""
    db = collector.db
    errors = state.error_count + 1
    delay = backoff_delay(errors, collector.max_backoff)
    backoff_until = now + timedelta(seconds=delay) if delay else None
    if retry_after:
        retry_after = min(retry_after, now + MAX_RETRY_AFTER)
    interval = state.interval or collector.interval
    next_due = max(
        [now + timedelta(seconds=interval)] + [t for t in (retry_after, backoff_until) if t]
    )
    disabled = (
        f"disabled on {now:%Y-%m-%d}: the publisher answered 410 Gone; remove the feed from "
        "the config, or run `tensionwatch feeds enable URL` if it is back"
        if gone
        else None
    )
    record_failure(
        db,
        state.id,
        now,
        error=error,
        http_status=http_status,
        retry_after=retry_after,
        backoff_until=backoff_until,
        next_due=next_due,
        disabled_reason=disabled,
    )
    _log(db, state, now, "error", http_status, 0, 0, started, error, None)
    return PollOutcome(
        url=state.url,
        status="disabled" if gone else "error",
        error=error,
        duration_ms=_ms(started),
        note=disabled,
    )


def _storage_failed(
    collector: Collector, spec: FeedSpec, error: StorageError, started: float
) -> PollOutcome:
    """Record a write failure on the feed if the database still takes that; never raise."""
    log.error("%s: %s", spec.url, error)
    state = feed_state(collector.db, spec.url)
    # When the database takes nothing at all, the outcome still says why.
    if state is not None:
        with contextlib.suppress(StorageError):
            _fail(collector, state, collector.clock(), str(error), None, started)
    return PollOutcome(url=spec.url, status="error", error=str(error), duration_ms=_ms(started))


def _log(
    db: sqlite_utils.Database,
    state: FeedState,
    now: datetime,
    outcome: str,
    http_status: int | None,
    new: int,
    seen: int,
    started: float,
    error: str | None,
    warning: str | None,
) -> None:
    log_fetch(
        db,
        state.id,
        now,
        outcome=outcome,
        http_status=http_status,
        new=new,
        seen=seen,
        duration_ms=_ms(started),
        error=error,
        warning=warning,
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# Polls done are stored together, in one transaction, once they hold STORE_ITEMS
# items or the oldest has waited STORE_SECONDS: every commit also flushes the
# full-text index, so 50,000 items stored 4 polls at a time cost twice the CPU of
# 2,000 items at a time (measured on the bench's 1,000 feeds). A poll waiting here
# is not stored yet: a collector killed now polls that feed again next time.
STORE_ITEMS = 2000
STORE_SECONDS = 1.0
HANDOVER_LINGER = 0.005  # seconds: see _batches
# Feeds in flight per fetch slot (see _Window). The window must hold more than a batch
# (STORE_ITEMS at the usual 20-100 items per feed), or the worker processes idle while
# a batch is stored: on the collect bench (1,000 feeds of 50 items, 4 fetches at once,
# 2 cores) 8 per slot (32 feeds, 1,600 items) took the first pass 7.2-7.5 s, 32 per
# slot 6.6-6.9 s, 64 no better. A feed in flight holds its body or its records:
# 128 of the bench's feeds are about 5 MB.
WINDOW_PER_WORKER = 32

_Job = tuple[int, FeedSpec, FeedState, datetime]  # a feed to poll: its place in the outcomes


class _Ready:
    """Polls done and waiting to be stored, and when to store them."""

    def __init__(self) -> None:
        self.polls: list[tuple[_Job, Polled]] = []
        self.items = 0
        self.since = 0.0

    def add(self, job: _Job, polled: Polled) -> None:
        if not self.polls:
            self.since = time.monotonic()
        self.polls.append((job, polled))
        self.items += len(polled.records)

    def due(self, *, finished: bool) -> bool:
        return bool(self.polls) and (
            finished or self.items >= STORE_ITEMS or time.monotonic() - self.since >= STORE_SECONDS
        )

    def take(self) -> list[tuple[_Job, Polled]]:
        polls, self.polls, self.items = self.polls, [], 0
        return polls


def collect_once(collector: Collector, feeds: Iterable[FeedSpec]) -> list[PollOutcome]:
    """Poll every given feed once, whatever its interval; one outcome per feed, in order.

    Fetches run on the client's event loop (``collectors.fetch.FeedClient``),
    up to ``collector.workers`` at once, at most ``collector.per_host`` of
    them from one host, feeds taken round-robin by host so one big publisher
    does not hold every slot. Each new body is parsed, normalised and tagged
    by ``collectors.digest``: with ``collector.processes`` > 1 and at least
    ``MIN_FEEDS`` feeds on that many worker processes, else here. Everything
    that touches the database runs on the calling thread, as results arrive:
    several polls in one transaction once ``STORE_ITEMS`` items are done or
    the oldest has waited ``STORE_SECONDS``. At most ``WINDOW_PER_WORKER``
    times ``workers`` feeds are in flight (fetching, digesting, or done and
    not yet taken over by the calling thread), so with the batch waiting to
    be stored memory stays bounded. Hooks that must follow every stored poll
    go after this returns.

    The loop starts each feed itself (``_poll_all``) and hands finished polls
    over in a queue (``_batches``): the calling thread wakes to store, not to
    start each next feed.
    """
    specs = list(feeds)
    outcomes: list[PollOutcome | None] = [None] * len(specs)
    jobs: list[_Job] = []
    try:
        states = feed_states(collector.db, [spec.url for spec in specs])
    except StorageError:
        states = {}  # each feed then tries its own read, and records its own error
    for index, spec in enumerate(specs):
        try:
            if spec.url in states:
                state, now = states[spec.url], collector.clock()
            else:
                state, now = load_state(collector, spec)
        except StorageError as e:
            outcomes[index] = _storage_failed(collector, spec, e, time.monotonic())
            continue
        reason = skip_reason(state, now)
        if reason:
            outcomes[index] = _skipped(state, reason)
        else:
            jobs.append((index, spec, state, now))
    workers = max(1, collector.workers)
    processes = collector.processes if len(jobs) >= MIN_FEEDS else 1
    ordered = round_robin_by_host(jobs, key=lambda job: job[2].url)
    finished: queue.SimpleQueue[tuple[_Job, Polled] | BaseException] = queue.SimpleQueue()
    with DigestPool(collector.tagger, processes) as digests, bulk_writes(collector.db):
        window = _Window(collector.client, workers * WINDOW_PER_WORKER)
        hosts = HostLimiter(workers, collector.per_host)
        polling = collector.client.submit(
            _poll_all(collector, ordered, digests, hosts, window, finished.put)
        )
        try:
            for batch in _batches(finished, len(ordered), window):
                stored = store_polls(collector, [(job[2], job[1], p) for job, p in batch])
                for (job, _), outcome in zip(batch, stored, strict=True):
                    outcomes[job[0]] = outcome
            polling.result()
        finally:
            polling.cancel()  # only if this thread failed: the loop stops starting feeds
    return [o for o in outcomes if o is not None]


class _Window:
    """How many feeds may be in flight: a slot taken on the client's loop as each feed
    starts, given back by the storing thread as it takes the poll over. While that
    thread stores, no new feed starts beyond the window."""

    def __init__(self, client: FeedClient, size: int) -> None:
        self.client = client
        self._slots = asyncio.Semaphore(size)  # bound to the loop that first waits on it

    async def take(self) -> None:
        await self._slots.acquire()

    def give_back(self, count: int) -> None:
        """Called from any thread but the loop's."""
        if count:
            self.client.call_soon(self._release, count)

    def _release(self, count: int) -> None:
        for _ in range(count):
            self._slots.release()


async def _poll_all(
    collector: Collector,
    jobs: Sequence[_Job],
    digests: DigestPool,
    hosts: HostLimiter,
    window: _Window,
    deliver: Callable[[tuple[_Job, Polled] | BaseException], None],
) -> None:
    """Start a poll of each job in turn, once ``window`` has room; each poll's result
    (or the bug that broke it) goes to ``deliver``."""

    async def poll(job: _Job) -> None:
        _, spec, state, now = job
        try:
            deliver((job, await poll_feed(collector, state, spec, now, digests, hosts)))
        except BaseException as e:  # a bug, or a cancelled pass: the storing thread raises it
            deliver(e)
            raise

    running: set[asyncio.Task[None]] = set()
    try:
        for job in jobs:
            await window.take()
            task = asyncio.ensure_future(poll(job))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.wait(running)
    except BaseException as e:  # the storing thread must not wait for polls never started
        deliver(e)
        raise
    finally:
        for task in running:
            task.cancel()


def _batches(
    finished: queue.SimpleQueue[tuple[_Job, Polled] | BaseException], count: int, window: _Window
) -> Iterator[list[tuple[_Job, Polled]]]:
    """The ``count`` polls ``finished`` will receive, grouped for storing: a batch once
    it holds ``STORE_ITEMS`` items or its oldest poll has waited ``STORE_SECONDS``, and
    whatever is left at the end. Each poll received gives its slot back to ``window``.
    A bug raised on the loop is raised here.

    Woken by a poll, this thread lingers ``HANDOVER_LINGER`` before taking every poll
    then waiting. Woken once per poll instead, it and the event loop's thread contend
    for the GIL at every feed: on the collect bench's pass where 1,000 feeds answer
    304, the pass cost 0.50-0.59 s of CPU when this thread also started each feed
    (run_coroutine_threadsafe and a wait per feed), 0.30-0.35 s now."""
    ready = _Ready()
    received = 0
    while received < count:
        timeout = None  # nothing waiting to be stored: wait for the next poll
        if ready.polls:
            timeout = max(0.0, STORE_SECONDS - (time.monotonic() - ready.since))
        taken = 0
        try:
            got = finished.get(timeout=timeout)
            time.sleep(HANDOVER_LINGER)
            while True:
                if isinstance(got, BaseException):
                    raise got
                ready.add(*got)
                taken += 1
                if received + taken == count:
                    break
                got = finished.get_nowait()
        except queue.Empty:
            pass
        received += taken
        window.give_back(taken)
        if ready.due(finished=received == count):
            yield ready.take()
