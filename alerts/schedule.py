"""The collector's alert jobs: an evaluation after each pass, every minute, and each
digest on its cron.

``CollectorService`` builds one evaluation with ``make_alert_job`` (the rules
validated at start-up) and wraps it, with the aggregates' refresh, in a
``Coalesced`` run: polls ending together, the minute job and a digest's cron
all ask for it, and requests made while it runs collapse into one more run.
Jobs follow the house rules for APScheduler: fixed ids, ``replace_existing``,
one instance at a time, missed runs coalesced. The evaluation is idempotent,
so the digest's own job only makes the digest go out on the minute (the
minute job would find it due too), and a restart loses nothing: what was
sent is in the database, not in the scheduler.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

import sqlite_utils
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.checks import DIGEST_LATE
from alerts.evaluate import load_alert_rules, run_alerts
from alerts.rules import WEEKDAYS, AlertRule
from model import TensionwatchError
from tensionwatch.config import Settings

log = logging.getLogger(__name__)
EVALUATE_JOB = "alerts:evaluate"
Connect = Callable[[], AbstractContextManager[sqlite_utils.Database]]


def make_alert_job(
    connect: Connect,
    settings: Settings,
    clock: Callable[[], datetime],
    rules: Sequence[AlertRule] | None = None,
) -> Callable[[], None]:
    """A job that opens its own connection and runs every rule once. The rules are
    validated now unless given (a bad rule stops start-up); a failure later is logged,
    never raised: alerts must not break collection."""
    rules = load_alert_rules(settings) if rules is None else tuple(rules)

    def evaluate() -> None:
        try:
            with connect() as db:
                for alert in run_alerts(db, settings, clock(), rules=rules):
                    log.info("alert %s: %s (%s)", alert.rule, alert.title, alert.delivery_status)
        except TensionwatchError as e:
            log.error("alert evaluation failed: %s", e)

    return evaluate


def add_alert_jobs(
    scheduler: BaseScheduler,
    evaluate: Callable[[], object],
    rules: Sequence[AlertRule],
    every: float = 60.0,
) -> list[str]:
    """Add the evaluation job and one cron job per enabled digest rule; return their ids."""
    common = {"replace_existing": True, "max_instances": 1, "coalesce": True}
    scheduler.add_job(
        evaluate, IntervalTrigger(seconds=every, timezone="UTC"), id=EVALUATE_JOB,
        name="alert evaluation", misfire_grace_time=None, **common,
    )  # fmt: skip
    ids = [EVALUATE_JOB]
    for rule in rules:
        if rule.kind != "digest" or not rule.enabled:
            continue
        trigger = CronTrigger(
            hour=rule.at.hour,
            minute=rule.at.minute,
            day_of_week=WEEKDAYS[rule.weekday][:3] if rule.every == "weekly" else "*",
            timezone=rule.zone,
        )
        job_id = f"alerts:digest:{rule.name}"
        scheduler.add_job(
            evaluate, trigger, id=job_id, name=f"digest {rule.name}",
            misfire_grace_time=int(DIGEST_LATE.total_seconds()), **common,
        )  # fmt: skip
        ids.append(job_id)
    return ids


class Coalesced:
    """``work`` run on request, never twice at once: requests made while it runs collapse
    into one more run after it ends, and the caller that found it running returns at once.

    So polls that end together are followed by one evaluation that sees all their items,
    and no scheduler thread waits in line behind another's evaluation.
    """

    def __init__(self, work: Callable[[], None]) -> None:
        self._work = work
        self._lock = threading.Lock()
        self._pending = False
        self._running = False

    def __call__(self) -> None:
        with self._lock:
            self._pending = True
            if self._running:
                return  # the running call goes round once more
            self._running = True
        while True:
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                self._pending = False
            try:
                self._work()
            except BaseException:
                with self._lock:
                    self._running = False
                raise
