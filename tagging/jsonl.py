"""The tag stream: JSON Lines in, one JSON line out per item, in the same order.

Input: one JSON object per line with ``id``, ``title`` and ``summary``
(strings) and optionally ``lang`` (a string or null). Output, for each such
line::

    {"id": ..., "actors": [...], "categories": [...],
     "matches": [{"rule", "kind", "target", "field", "start", "end", "text"}, ...]}

``start``/``end`` are character offsets into the item's original ``field``
text, and ``text`` is that slice.

A malformed line (not JSON, not an object, ``id``/``title``/``summary``
missing or not strings, ``lang`` not a string) is reported on ``stderr`` as
``line N: what is wrong`` and still gets an output line,
``{"id": <its id, or null>, "line": N, "error": "what is wrong"}``, so that
output line *k* always answers the *k*-th item line; the run goes on.
Blank lines (only whitespace) are not items: they are skipped silently and
get no output line. Each output line is flushed as it is written, so the
stream can be used interactively. The caller owns the streams: bytes that
are not valid in stdin's encoding raise from the stream itself unless the
caller opened it with ``errors="replace"`` (then the line is tagged, or
reported as malformed, like any other).
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from model import Tagging
from tagging.tagger import Tagger

REQUIRED = ("id", "title", "summary")


class _BadLine(ValueError):
    def __init__(self, reason: str, item_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.item_id = item_id


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _read_item(line: str) -> tuple[str, str, str, str]:
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise _BadLine(f"not valid JSON: {e.msg} (column {e.colno})") from e
    if not isinstance(data, dict):
        raise _BadLine(f"expected a JSON object, got {_kind(data)}")
    item_id = data.get("id")
    known_id = item_id if isinstance(item_id, str) else None
    for key in REQUIRED:
        if key not in data:
            raise _BadLine(f'"{key}" is missing', known_id)
        if not isinstance(data[key], str):
            raise _BadLine(f'"{key}" must be a string, got {_kind(data[key])}', known_id)
    lang = data.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise _BadLine(f'"lang" must be a string, got {_kind(lang)}', known_id)
    return data["id"], data["title"], data["summary"], lang or ""


def tagging_record(item_id: str, tagging: Tagging) -> dict[str, object]:
    """The output object for one tagged item."""
    return {
        "id": item_id,
        "actors": list(tagging.actors),
        "categories": list(tagging.categories),
        "matches": [
            {
                "rule": m.rule,
                "kind": m.kind,
                "target": m.target,
                "field": m.field,
                "start": m.start,
                "end": m.end,
                "text": m.text,
            }
            for m in tagging.matches
        ],
    }


def _write(stream: TextIO, record: dict[str, object]) -> None:
    stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    stream.flush()


def tag_jsonl_stream(tagger: Tagger, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Tag every item line of ``stdin`` onto ``stdout``; returns the number of malformed lines."""
    bad = 0
    for number, line in enumerate(stdin, start=1):
        if number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            item_id, title, summary, lang = _read_item(line)
        except _BadLine as e:
            bad += 1
            stderr.write(f"line {number}: {e.reason}\n")
            stderr.flush()
            _write(stdout, {"id": e.item_id, "line": number, "error": e.reason})
            continue
        _write(stdout, tagging_record(item_id, tagger.tag(title, summary, lang)))
    return bad
