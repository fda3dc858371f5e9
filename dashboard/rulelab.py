"""The rule lab's logic: explain a pasted text, check and save a draft, backtest it.

Plain functions the Rules page (``app_pages/rules.py``) calls; nothing here
draws. Pasted and stored text is shown through ``markup.highlight``, which
escapes every character before marking the matched words.

A backtest tags the same stored items with the current rules and with the
draft, then reports, per label, how many items the draft adds and drops,
samples of both with the words that decided, and the weekly count of items
of one dyad under each.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from dashboard import markup
from model import RulesError, Tagging
from storage.db import open_database_readonly
from storage.rulelab_queries import LabItem, latest_published, list_lab_items
from tagging import RuleSet, Tagger, parse_rules

PERIODS: dict[str, int | None] = {
    "Last 30 days": 30,
    "Last 90 days": 90,
    "Last year": 365,
    "All": None,
}
MAX_ITEMS = 20_000  # items a backtest tags at most (twice), newest first
SAMPLES = 5  # items shown per label and direction
SEEDED_DYADS = (
    "morocco-algeria",
    "morocco-polisario",
    "morocco-israel",
    "algeria-polisario",
    "israel-palestine",
)


@dataclass(frozen=True)
class Explanation:
    """Why a text gets its labels."""

    actors: tuple[str, ...]
    categories: tuple[str, ...]
    title_marked: str  # escaped markdown, matched words highlighted
    summary_marked: str
    matches: pd.DataFrame  # kind, tag, rule, field, words, span, factor


@dataclass(frozen=True)
class Backtest:
    """What a draft changes on stored items, against the current rules."""

    items: int
    dyad: str
    changes: pd.DataFrame  # kind, label, added, dropped, current, draft (item counts)
    samples: pd.DataFrame  # change (added/dropped), label, published, title, words
    series: pd.DataFrame  # week index; columns "current rules" and "draft"


def explain_text(tagger: Tagger, title: str, summary: str, lang: str = "") -> Explanation:
    """Tag ``title`` and ``summary`` and say which rule matched which words."""
    tagging = tagger.tag(title, summary, lang)
    rows = [
        {
            "kind": m.kind,
            "tag": m.target,
            "rule": m.rule,
            "field": m.field,
            "words": m.text,
            "span": f"{m.start}–{m.end}",
            "factor": round(m.factor, 2),
        }
        for m in tagging.matches
    ]
    columns = ["kind", "tag", "rule", "field", "words", "span", "factor"]
    return Explanation(
        actors=tagging.actors,
        categories=tagging.categories,
        title_marked=highlight(title, _spans(tagging, "title")),
        summary_marked=highlight(summary, _spans(tagging, "summary")),
        matches=pd.DataFrame(rows, columns=columns),
    )


def highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` as escaped markdown, the characters of ``spans`` in ``:red-background[...]``."""
    return markup.highlight(text, spans, colour="red")


def _spans(tagging: Tagging, field: str) -> list[tuple[int, int]]:
    return [(m.start, m.end) for m in tagging.matches if m.field == field]


def check_draft(source: str, path: Path) -> tuple[RuleSet | None, list[str]]:
    """The draft's rules, or None and every problem (one line each, as ``rules check``)."""
    try:
        return parse_rules(source, path), []
    except RulesError as e:
        return None, str(e).splitlines()


def save_rules(path: Path, source: str) -> list[str]:
    """Write ``source`` to ``path`` only if it validates; return its problems otherwise.

    The file is replaced in one step (a temporary file renamed over it), so
    a collector reloading the rules never reads half a file.
    """
    _, problems = check_draft(source, path)
    if problems:
        return problems
    handle, temporary = tempfile.mkstemp(prefix=".rules-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(source)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise
    return []


def period_start(latest: datetime | None, days: int | None) -> datetime | None:
    """The start of a period of ``days`` ending at the newest item (None: everything)."""
    if latest is None or days is None:
        return None
    return latest - timedelta(days=days)


def dyad_options(rules: RuleSet) -> list[str]:
    """The seeded dyads first, then every other pair of the rules' actors."""
    actors = sorted(rules.actor_ids)
    pairs = [f"{a}-{b}" for i, a in enumerate(actors) for b in actors[i + 1 :]]
    seeded = [d for d in SEEDED_DYADS if set(d.split("-")) <= set(actors)]
    return seeded + [
        p for p in pairs if p not in seeded and "-".join(p.split("-")[::-1]) not in seeded
    ]


def backtest(
    current: Tagger, draft: Tagger, items: Sequence[LabItem], dyad: str, samples: int = SAMPLES
) -> Backtest:
    """Tag ``items`` with both rule sets and compare (see the module docstring)."""
    pair = set(dyad.split("-"))
    counts: dict[tuple[str, str], list[int]] = {}  # (kind, label) -> added, dropped, cur, new
    sample_rows: list[dict[str, object]] = []
    shown: dict[tuple[str, str], int] = {}
    before_days: list[datetime] = []
    after_days: list[datetime] = []
    for item in items:
        old = current.tag(item.title, item.summary, item.lang)
        new = draft.tag(item.title, item.summary, item.lang)
        if pair <= set(old.actors):
            before_days.append(item.published)
        if pair <= set(new.actors):
            after_days.append(item.published)
        for kind, old_labels, new_labels in (
            ("actor", set(old.actors), set(new.actors)),
            ("category", set(old.categories), set(new.categories)),
        ):
            for label in old_labels | new_labels:
                c = counts.setdefault((kind, label), [0, 0, 0, 0])
                c[2] += label in old_labels
                c[3] += label in new_labels
                if label in old_labels and label in new_labels:
                    continue
                change = "added" if label in new_labels else "dropped"
                c[0 if change == "added" else 1] += 1
                key = (change, label)
                if shown.get(key, 0) >= samples:
                    continue
                shown[key] = shown.get(key, 0) + 1
                deciding = new if change == "added" else old
                sample_rows.append(
                    {
                        "change": change,
                        "label": label,
                        "published": item.published,
                        "title": item.title,
                        "words": ", ".join(
                            sorted({m.text for m in deciding.matches if m.target == label})
                        ),
                    }
                )
    rows = [
        {"kind": k, "label": label, "added": c[0], "dropped": c[1], "current": c[2], "draft": c[3]}
        for (k, label), c in sorted(counts.items())
    ]
    changes = pd.DataFrame(rows, columns=["kind", "label", "added", "dropped", "current", "draft"])
    sample_frame = pd.DataFrame(
        sample_rows, columns=["change", "label", "published", "title", "words"]
    )
    return Backtest(
        items=len(items),
        dyad=dyad,
        changes=changes,
        samples=sample_frame,
        series=_weekly(before_days, after_days),
    )


def _weekly(before: list[datetime], after: list[datetime]) -> pd.DataFrame:
    """Items per week (weeks start on Monday, UTC) under the current rules and the draft."""
    columns = {"current rules": before, "draft": after}
    series = {}
    for name, moments in columns.items():
        index = pd.DatetimeIndex(pd.to_datetime(moments, utc=True)).tz_localize(None)
        counts = pd.Series(1, index=index).resample("W-MON", label="left", closed="left").sum()
        series[name] = counts
    frame = pd.DataFrame(series).fillna(0).astype(int)
    if not frame.empty:
        full = pd.date_range(frame.index.min(), frame.index.max(), freq="W-MON")
        frame = frame.reindex(full, fill_value=0)
    frame.index.name = "week"
    return frame


def load_lab_items(database: str, days: int | None) -> list[LabItem]:
    """Stored items of the last ``days`` before the newest one (all when None), newest first."""
    db = open_database_readonly(database)
    try:
        since = period_start(latest_published(db), days)
        return list_lab_items(db, since, MAX_ITEMS)
    finally:
        db.conn.close()


def database_stamp(database: str) -> tuple[int, ...]:
    """Modification times of the database and its WAL: a cache key that changes on writes."""
    stamp = []
    for suffix in ("", "-wal"):
        try:
            stamp.append(os.stat(database + suffix).st_mtime_ns)
        except OSError:
            stamp.append(0)
    return tuple(stamp)
