"""The reads behind the rule lab: stored items to backtest a draft rules file on.

One function per query, on an open ``sqlite_utils.Database`` (open it with
``storage.db.open_database_readonly``); rows come back as frozen
dataclasses. SQLite failures that are not bugs become ``StorageError``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from model import StorageError
from storage.db import from_iso, to_iso

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class LabItem:
    """What the tagger needs of a stored item, and when it was published."""

    id: str
    title: str
    summary: str
    lang: str
    published: datetime


def _file(db: sqlite_utils.Database) -> str:
    rows = db.execute("PRAGMA database_list").fetchall()
    return str(rows[0][2]) if rows else "database"


def latest_published(db: sqlite_utils.Database) -> datetime | None:
    """The newest item's publication time, or None when there is no item."""
    try:
        row = db.execute("SELECT max(published) FROM items").fetchone()
    except sqlite3.Error as e:
        raise StorageError(_file(db), f"cannot read items: {e}") from e
    return from_iso(row[0]) if row and row[0] else None


def list_lab_items(db: sqlite_utils.Database, since: datetime | None, limit: int) -> list[LabItem]:
    """Items published at or after ``since`` (all when None), newest first, at most ``limit``."""
    sql = "SELECT id, title, summary, lang, published FROM items"
    params: list[object] = []
    if since is not None:
        sql += " WHERE published >= ?"
        params.append(to_iso(since))
    sql += " ORDER BY published DESC, id LIMIT ?"
    params.append(limit)
    try:
        rows = db.execute(sql, params).fetchall()
    except sqlite3.Error as e:
        raise StorageError(_file(db), f"cannot read items: {e}") from e
    return [LabItem(r[0], r[1], r[2], r[3] or "", from_iso(r[4])) for r in rows]
