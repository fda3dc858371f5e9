"""Scheduled collection with APScheduler (collector process only, never in Streamlit).

One job per enabled feed, with a fixed id (``feed:<config url>``), its own
interval plus jitter, ``max_instances=1`` (never two polls of one feed at
once) and ``coalesce=True`` (missed runs collapse into one). The scheduler
keeps nothing of its own: when a feed is next due, its error count and its
windows live in the database, so a restart picks up where it left off.
Each job opens its own database connection (SQLite serialises the writes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from model import FeedSpec, PollOutcome

log = logging.getLogger(__name__)

PollFeed = Callable[[FeedSpec], PollOutcome]


def job_id(spec: FeedSpec) -> str:
    return f"feed:{spec.url}"


def build_scheduler(
    feeds: Sequence[FeedSpec],
    poll_feed: PollFeed,
    *,
    default_interval: float,
    jitter: float,
    first_runs: dict[str, datetime],
    now: datetime,
    workers: int = 8,
) -> BackgroundScheduler:
    """A scheduler (not started) with one polling job per feed.

    ``first_runs`` maps a feed URL to when it is next due (from the database);
    a feed with no entry, or overdue, runs within the first ``jitter`` seconds.
    """
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone="UTC",
    )
    for index, spec in enumerate(feeds):
        interval = spec.interval or default_interval
        due = first_runs.get(spec.url, now)
        # spread the first polls over a few seconds rather than all at once
        first = max(due, now + timedelta(seconds=min(jitter, 0.5 * index)))
        scheduler.add_job(
            _poll_logged,
            IntervalTrigger(seconds=interval, jitter=jitter or None, timezone="UTC"),
            args=[poll_feed, spec],
            id=job_id(spec),
            name=spec.name or spec.url,
            replace_existing=True,
            next_run_time=first,
        )
    return scheduler


def _poll_logged(poll_feed: PollFeed, spec: FeedSpec) -> None:
    outcome = poll_feed(spec)
    if outcome.status == "error":
        log.warning("%s: %s", spec.name or spec.url, outcome.error)
    else:
        log.info(
            "%s: %s, %d new, %d seen%s",
            spec.name or spec.url,
            outcome.status,
            outcome.new,
            outcome.seen,
            f" ({outcome.note})" if outcome.note else "",
        )
