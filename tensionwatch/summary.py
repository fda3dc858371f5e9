"""The summary of a collection pass: one line per feed and a total, or JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from model import PollOutcome


def totals(outcomes: Sequence[PollOutcome]) -> dict[str, int]:
    by_status = Counter(o.status for o in outcomes)
    return {
        "feeds": len(outcomes),
        "ok": by_status["ok"],
        "not_modified": by_status["not_modified"],
        "errors": by_status["error"],
        "skipped": by_status["skipped"],
        "disabled": by_status["disabled"],
        "new": sum(o.new for o in outcomes),
        "seen": sum(o.seen for o in outcomes),
    }


def format_summary(outcomes: Sequence[PollOutcome], names: Mapping[str, str]) -> str:
    lines = []
    for o in outcomes:
        name = names.get(o.url) or o.url
        detail = o.error or o.note or o.warning or ""
        counts = f"{o.new:>5} new {o.seen:>5} seen" if o.status == "ok" else " " * 20
        lines.append(
            f"{o.status:<12} {counts} {o.duration_ms:>6} ms  {name}"
            + (f"  — {detail}" if detail else "")
        )
    t = totals(outcomes)
    lines.append(
        f"total: {t['feeds']} feeds: {t['ok']} ok, {t['not_modified']} not modified, "
        f"{t['errors']} failed, {t['skipped']} skipped, {t['disabled']} disabled; "
        f"{t['new']} new items, {t['seen']} already stored"
    )
    return "\n".join(lines)


def summary_json(outcomes: Sequence[PollOutcome], names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "feeds": [asdict(o) | {"name": names.get(o.url, "")} for o in outcomes],
        "total": totals(outcomes),
    }
