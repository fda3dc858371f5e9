"""The collector process: rules kept current, one pass, or polling on a schedule.

Built from the ``Settings`` at the entry point and passed down; nothing here
reads the environment. Each poll gets its own database connection, so jobs
on the scheduler's threads never share one.

After every collection pass (``collect_once``, and each scheduled poll that
stored new items) the aggregates are refreshed and every alert rule is
evaluated (``after_pass``); on a schedule, alerts are also evaluated every
minute and each digest on its cron. The alert rules are validated when the
service is built, so an invalid rule stops start-up; later, alerts never
break collection: their errors are logged.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from alerts.evaluate import load_alert_rules, prime_alert_rules
from alerts.schedule import Coalesced, add_alert_jobs, make_alert_job
from collectors.digest import default_processes
from collectors.fetch import FeedClient, make_client
from collectors.pipeline import Clock, Collector, collect_once, refresh_feed, utc_now
from collectors.schedule import build_scheduler
from model import FeedSpec, PollOutcome, RulesError, StorageError, TensionwatchError
from storage.aggregates import refresh_aggregates
from storage.db import open_database
from storage.feeds import feed_state, sync_feeds
from storage.items import record_rules_version
from tagging import RuleSet, Tagger, load_rules
from tensionwatch.config import Settings

if TYPE_CHECKING:
    import sqlite_utils

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
        self.alert_rules = load_alert_rules(settings)  # an invalid rule stops start-up here
        self._evaluate_alerts = make_alert_job(self.connection, settings, clock, self.alert_rules)
        self.after_pass = Coalesced(self._refresh_and_evaluate)
        self.client: FeedClient = make_client(settings.fetch)
        with self.connection() as db:
            sync_feeds(db, settings.feeds, clock())
            self.rules.record(db, clock)
            prime_alert_rules(db, self.alert_rules)
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
            processes=default_processes(self.settings.workers),
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

    def scheduled_poll(self, spec: FeedSpec) -> PollOutcome:
        """A scheduler job: poll one feed; when it stored new items, follow the pass (the
        minute's evaluation catches the rest: silences, digests, retries, revisions)."""
        outcome = self.poll_feed(spec)
        if outcome.new:
            self.after_pass()
        return outcome

    def collect_once(self, feeds: Sequence[FeedSpec] | None = None) -> list[PollOutcome]:
        """One pass over ``feeds`` (default: every enabled feed), then ``after_pass``."""
        with self.connection() as db:
            collector = self._collector(db)
            outcomes = collect_once(
                collector, self.settings.enabled_feeds if feeds is None else feeds
            )
        self.after_pass()
        return outcomes

    def _refresh_and_evaluate(self) -> None:
        """Aggregates brought up to date (the dashboard and story rules read them), then
        every alert rule evaluated. Never raises: what was collected stays collected."""
        try:
            with self.connection() as db:
                refresh_aggregates(db)
        except TensionwatchError as e:
            log.error("aggregates not refreshed: %s", e)
        try:
            self._evaluate_alerts()  # logs our own errors itself
        except Exception:
            # a bug in alerts must not lose a pass's summary nor stop the scheduler's
            # polls: logged with its traceback, and the next pass tries again
            log.exception("alert evaluation failed")

    def build_scheduler(self) -> BackgroundScheduler:
        """The collector's scheduler, not started: one polling job per enabled feed (each
        followed by ``after_pass`` when it stored something), the minute's alert
        evaluation and one cron job per digest rule."""
        now = self.clock()
        due: dict[str, datetime] = {}
        with self.connection() as db:
            for spec in self.settings.enabled_feeds:
                state = feed_state(db, spec.url)
                if state is not None and state.next_due is not None:
                    due[spec.url] = state.next_due
        scheduler = build_scheduler(
            self.settings.enabled_feeds,
            self.scheduled_poll,
            default_interval=self.settings.interval,
            jitter=self.settings.jitter,
            first_runs=due,
            now=now,
        )
        add_alert_jobs(scheduler, self.after_pass, self.alert_rules)
        return scheduler

    def run_scheduled(self, stop: threading.Event) -> None:
        """Poll every enabled feed on its schedule, and evaluate alerts, until ``stop``."""
        scheduler = self.build_scheduler()
        scheduler.start()
        log.info(
            "collector started: %d feeds, %d alert rules",
            len(self.settings.enabled_feeds),
            sum(1 for rule in self.alert_rules if rule.enabled),
        )
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            log.info("collector stopped")

    def close(self) -> None:
        self.client.close()
