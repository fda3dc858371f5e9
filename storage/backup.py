"""A consistent copy of a live database with SQLite's online backup API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from model import StorageError


def backup_database(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` page by page; safe while the collector writes."""
    if not source.is_file():
        raise StorageError(str(source), "no database to back up")
    if target.exists():
        raise StorageError(str(target), "already exists: choose a new file name")
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=1024)
        finally:
            dst.close()
            src.close()
    except (sqlite3.Error, OSError) as e:
        target.unlink(missing_ok=True)
        raise StorageError(str(target), f"backup failed: {e}") from e
