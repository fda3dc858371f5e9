"""One collection pass, feed by feed: the whole refresh story in ``refresh_feed``.

load state → skip if disabled or inside a Retry-After / back-off window →
conditional request → not modified (or byte-identical body)? → parse →
normalise → tag → store items, feed state and fetch log in ONE transaction →
outcome. A failing feed never raises out of here: its error is stored on the
feed row and returned in its ``PollOutcome``; the pass goes on. A database
that cannot be written (disk full, read-only) is such an error too: the
feed's transaction is rolled back whole, the error recorded if the database
still takes that, and the feed polled again at the next pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import sqlite_utils

from collectors.fetch import fetch_feed
from collectors.normalise import normalise_entries
from collectors.parse import parse_feed
from model import (
    ConditionalHeaders,
    FeedSpec,
    FetchError,
    FetchPolicy,
    ParseError,
    PollOutcome,
    StorageError,
    TaggedItem,
)
from storage.feeds import (
    FeedState,
    feed_state,
    log_fetch,
    move_feed,
    record_failure,
    record_success,
)
from storage.items import store_items, write_transaction
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
    client: httpx.Client
    tagger: Tagger
    policy: FetchPolicy
    interval: float  # default seconds between polls of a feed
    max_backoff: float
    clock: Clock = utc_now


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


def refresh_feed(collector: Collector, spec: FeedSpec) -> PollOutcome:
    """Poll one feed once and store what is new. Never raises for a feed's own failure,
    nor for a database that cannot be written."""
    started = time.monotonic()
    try:
        return _refresh(collector, spec)
    except StorageError as e:
        return _storage_failed(collector, spec, e, started)


def _refresh(collector: Collector, spec: FeedSpec) -> PollOutcome:
    db, now = collector.db, collector.clock()
    state = feed_state(db, spec.url)
    if state is None:
        raise LookupError(f"feed {spec.url} is not synced into the database")
    reason = skip_reason(state, now)
    if reason:
        status = "disabled" if (not state.enabled or state.disabled_reason) else "skipped"
        return PollOutcome(url=state.url, status=status, note=reason)

    interval = state.interval or collector.interval
    started = time.monotonic()
    try:
        result = fetch_feed(
            collector.client,
            state.url,
            ConditionalHeaders(state.etag, state.last_modified),
            collector.policy,
        )
    except FetchError as e:
        return _fail(
            collector,
            state,
            now,
            e.reason,
            e.status,
            started,
            retry_after=e.retry_after,
            gone=e.gone,
        )

    body_hash = hashlib.sha256(result.body).hexdigest() if not result.not_modified else None
    if result.not_modified or body_hash == state.body_hash:
        with write_transaction(db):
            record_success(
                db,
                state.id,
                now,
                http_status=result.status,
                etag=result.etag,
                last_modified=result.last_modified,
                body_hash=body_hash,
                warning=None,
                next_due=now + timedelta(seconds=interval),
            )
            _log(db, state, now, "not_modified", result.status, 0, 0, started, None, None)
        return PollOutcome(url=state.url, status="not_modified", duration_ms=_ms(started))

    try:
        parsed = parse_feed(result)
    except ParseError as e:
        return _fail(collector, state, now, e.reason, result.status, started)

    items = normalise_entries(state.url, parsed, now, default_lang=spec.lang or parsed.lang)
    tagged = [
        TaggedItem(item, collector.tagger.tag(item.title, item.summary, item.lang))
        for item in items
    ]
    warning = parsed.warning
    with write_transaction(db):
        warning = _follow_move(db, state, result.permanent_url) or warning
        new, seen = store_items(db, state.id, tagged, archive=spec.archive, now=now)
        record_success(
            db,
            state.id,
            now,
            http_status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=body_hash,
            warning=warning,
            next_due=now + timedelta(seconds=interval),
        )
        _log(db, state, now, "ok", result.status, new, seen, started, None, warning)
    return PollOutcome(
        url=result.permanent_url or state.url,
        status="ok",
        new=new,
        seen=seen,
        warning=warning,
        duration_ms=_ms(started),
    )


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
    *,
    retry_after: datetime | None = None,
    gone: bool = False,
) -> PollOutcome:
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
    with write_transaction(db):
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


def collect_once(collector: Collector, feeds: Iterable[FeedSpec]) -> list[PollOutcome]:
    """Poll every given feed once, whatever its interval; one outcome per feed, in order."""
    return [refresh_feed(collector, spec) for spec in feeds]
