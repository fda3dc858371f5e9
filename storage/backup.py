"""A consistent copy of a live database with SQLite's online backup API.

The copy is made in one backup step inside one read transaction: in WAL
mode that reads a single snapshot of the database while the collector goes
on writing (a reader never blocks the writer, nor the writer the reader).
A backup copied in several steps starts again whenever another connection
writes between two steps (SQLite's documented behaviour), so under a busy
collector it could go on for much longer. The copy is written to a
temporary file next to the target and renamed into place only once
complete, so a failed backup leaves no half-written file under the
target's name.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from model import StorageError

BUSY_TIMEOUT_S = 10.0


def backup_database(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``; safe while the collector writes."""
    if not source.is_file():
        raise StorageError(str(source), "no database to back up")
    _check_target(target)
    partial = target.with_name(f".{target.name}.partial")
    try:
        src = sqlite3.connect(
            f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S
        )
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # pages=-1: the whole database in one step, one snapshot
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as e:
        partial.unlink(missing_ok=True)
        raise StorageError(str(target), f"backup failed: {e}") from e


def _check_target(target: Path) -> None:
    """Refuse a target that cannot be a new file, naming what is wrong with it."""
    folder = target.parent
    if target.is_dir():
        raise StorageError(str(target), "is a folder: give the path of a new file inside it")
    if target.exists():
        raise StorageError(str(target), "already exists: choose a new file name")
    if not folder.exists():
        raise StorageError(
            str(target), f"the folder {folder} does not exist: create it first or pick another"
        )
    if not folder.is_dir():
        raise StorageError(str(target), f"{folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StorageError(str(target), f"cannot create files in {folder}: permission denied")
