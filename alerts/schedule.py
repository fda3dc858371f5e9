"""The collector's alert jobs: an evaluation every minute, and each digest on its cron.

Jobs follow the house rules for APScheduler: fixed ids, ``replace_existing``,
one instance at a time, missed runs coalesced. The evaluation is idempotent,
so the digest's own job only makes the digest go out on the minute (the
minute job would find it due too), and a restart loses nothing: what was
sent is in the database, not in the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

import sqlite_utils
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.evaluate import load_alert_rules, run_alerts
from alerts.rules import WEEKDAYS, AlertRule
from model import TensionwatchError
from tensionwatch.config import Settings

log = logging.getLogger(__name__)
EVALUATE_JOB = "alerts:evaluate"
Connect = Callable[[], AbstractContextManager[sqlite_utils.Database]]


def make_alert_job(
    connect: Connect, settings: Settings, clock: Callable[[], datetime]
) -> Callable[[], None]:
    """A job that opens its own connection and runs every rule once. The rules are
    validated now (a bad rule stops start-up); a failure later is logged, never raised:
    alerts must not break collection."""
    rules = load_alert_rules(settings)

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
            misfire_grace_time=3600, **common,
        )  # fmt: skip
        ids.append(job_id)
    return ids
