"""Opening the database: read-write (WAL, migrated) or read-only (never created or locked).

sqlite-utils is imported here first, without pandas and numpy when neither is
loaded yet: at import it loads both (and pyarrow) only to map their value
types to column types in its table-creation API (``Table.insert`` and
kin), which tensionwatch never calls (we use ``Database.execute``/``query``
and ``.conn``). That import was 0.6 s and about 60 MB of every collector
process, most of a pass where every feed answers 304. A process that
imported pandas before (the dashboard) gets sqlite-utils unchanged.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_UNUSED_BY_SQLITE_UTILS_HERE = ("pandas", "numpy")
_hidden = (
    []
    if "sqlite_utils" in sys.modules
    else [name for name in _UNUSED_BY_SQLITE_UTILS_HERE if name not in sys.modules]
)
for _name in _hidden:
    sys.modules[_name] = None  # type: ignore[assignment]  # `import` then raises ImportError
try:
    import sqlite_utils
finally:
    for _name in _hidden:
        if sys.modules.get(_name, False) is None:
            del sys.modules[_name]

from model import StorageError  # noqa: E402
from storage.schema import SCHEMA_VERSION, migrate  # noqa: E402
from storage.timestamps import from_iso as from_iso  # noqa: E402  (callers import it here)
from storage.timestamps import to_iso as to_iso  # noqa: E402  (callers import it here)

BUSY_TIMEOUT_MS = 10_000
# Prepared statements kept per writing connection (sqlite3's default is 128). The
# collector's multi-row inserts (``storage.items.insert_rows``) have one statement
# per number of rows in a chunk: the collect bench's 1,000 feeds use 201 of them, and
# with 128 kept, most were prepared again at every use (storing its 50,000 items:
# 2.92-2.95 s of CPU with 128, 2.81-2.82 s with more; 3 MB more memory).
CACHED_STATEMENTS = 512


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database for writing, in WAL mode, migrated."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            cached_statements=CACHED_STATEMENTS,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        migrate(db)
    except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as e:
        raise StorageError(str(path), f"cannot open the database for writing: {e}") from e
    return db


def open_database_readonly(path: str | Path) -> sqlite_utils.Database:
    """Open an existing database read-only: never creates, migrates or write-locks it."""
    path = Path(path)
    if not path.is_file():
        raise StorageError(
            str(path),
            "no database here yet: run `tensionwatch collect --once` or `tensionwatch up` "
            "first, or point --config / TENSIONWATCH_DATABASE at an existing one",
        )
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except (sqlite3.OperationalError, sqlite3.DatabaseError) as e:
        raise StorageError(str(path), f"cannot open the database read-only: {e}") from e
    if version < SCHEMA_VERSION:
        conn.close()
        raise StorageError(
            str(path),
            f"schema version {version} is older than this tensionwatch ({SCHEMA_VERSION}): "
            "run `tensionwatch db migrate` first",
        )
    if version > SCHEMA_VERSION:
        conn.close()
        raise StorageError(
            str(path),
            f"schema version {version} is newer than this tensionwatch ({SCHEMA_VERSION}): "
            "upgrade tensionwatch",
        )
    return sqlite_utils.Database(conn)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One all-or-nothing write: BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
