"""The collector process: rules kept current, one pass, or polling on a schedule.

Built from the ``Settings`` at the entry point and passed down; nothing here
reads the environment. Each poll gets its own database connection, so jobs
on the scheduler's threads never share one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import sqlite_utils

from collectors.fetch import make_client
from collectors.pipeline import Clock, Collector, collect_once, refresh_feed, utc_now
from collectors.schedule import build_scheduler
from model import FeedSpec, PollOutcome, RulesError, StorageError
from storage.db import open_database
from storage.feeds import feed_state, sync_feeds
from storage.items import record_rules_version
from tagging import RuleSet, Tagger, load_rules
from tensionwatch.config import Settings

log = logging.getLogger(__name__)


class RulesHolder:
    """The current rules and their compiled tagger; reloads when the file changes.

    The first load must succeed (a broken file stops start-up with its
    problems listed). Later, an edited file that does not load is logged and
    the last good rules stay in force.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self.rules: RuleSet = load_rules(path)
        self.tagger = Tagger(self.rules)
        self.last_error: str | None = None

    def _file_stamp(self) -> tuple[float, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime, st.st_size)

    def current(self) -> Tagger:
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return self.tagger
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    rules = load_rules(self.path)
                except RulesError as e:
                    self.last_error = str(e)
                    log.error(
                        "rules file changed but is invalid; keeping version %s:\n%s",
                        self.rules.version,
                        e,
                    )
                else:
                    self.rules, self.tagger, self.last_error = rules, Tagger(rules), None
                    log.info("rules reloaded: version %s", rules.version)
        return self.tagger

    def record(self, db: sqlite_utils.Database, clock: Clock) -> None:
        rules = self.rules
        record_rules_version(
            db, rules.version, str(rules.path), rules.rule_count, rules.source, clock()
        )


class CollectorService:
    """Polls feeds into the database; shared by ``collect``, ``up`` and the tests."""

    def __init__(self, settings: Settings, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.rules = RulesHolder(settings.rules)
        self.client: httpx.Client = make_client(settings.fetch)
        with self.connection() as db:
            sync_feeds(db, settings.feeds, clock())
            self.rules.record(db, clock)
        self._recorded: Tagger | None = self.rules.tagger

    @contextmanager
    def connection(self) -> Iterator[sqlite_utils.Database]:
        db = open_database(self.settings.database)
        try:
            yield db
        finally:
            db.conn.close()

    def _collector(self, db: sqlite_utils.Database) -> Collector:
        tagger = self.rules.current()
        if tagger is not self._recorded:  # a reload: remember the new version once
            self.rules.record(db, self.clock)
            self._recorded = tagger
        return Collector(
            db=db,
            client=self.client,
            tagger=tagger,
            policy=self.settings.fetch,
            interval=self.settings.interval,
            max_backoff=self.settings.max_backoff,
            clock=self.clock,
            workers=self.settings.workers,
            per_host=self.settings.per_host,
        )

    def poll_feed(self, spec: FeedSpec) -> PollOutcome:
        """Poll one feed (a scheduler job). A database that cannot even be opened for
        writing is this poll's error; the next run tries again."""
        try:
            with self.connection() as db:
                return refresh_feed(self._collector(db), spec, due_only=True)
        except StorageError as e:
            log.error("%s", e)
            return PollOutcome(url=spec.url, status="error", error=str(e))

    def collect_once(self, feeds: Sequence[FeedSpec] | None = None) -> list[PollOutcome]:
        with self.connection() as db:
            collector = self._collector(db)
            return collect_once(collector, self.settings.enabled_feeds if feeds is None else feeds)

    def run_scheduled(self, stop: threading.Event) -> None:
        """Poll every enabled feed on its schedule until ``stop`` is set."""
        now = self.clock()
        due: dict[str, datetime] = {}
        with self.connection() as db:
            for spec in self.settings.enabled_feeds:
                state = feed_state(db, spec.url)
                if state is not None and state.next_due is not None:
                    due[spec.url] = state.next_due
        scheduler = build_scheduler(
            self.settings.enabled_feeds,
            self.poll_feed,
            default_interval=self.settings.interval,
            jitter=self.settings.jitter,
            first_runs=due,
            now=now,
        )
        scheduler.start()
        log.info("collector started: %d feeds", len(self.settings.enabled_feeds))
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            log.info("collector stopped")

    def close(self) -> None:
        self.client.close()
