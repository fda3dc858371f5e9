"""What a collector process loads: a pass where nothing changed parses nothing, so it
must not pay for the parsers, and no collector pays for pandas (see ``storage.db``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_collector_modules_load_neither_pandas_nor_numpy_nor_the_parsers() -> None:
    loaded = loaded_after(
        "import collectors.pipeline, collectors.fetch, storage.db, storage.feeds, storage.items"
    )
    assert "sqlite_utils" in loaded
    assert not {"pandas", "numpy", "pyarrow", "feedparser", "lxml", "nh3"} & loaded


def test_pandas_still_imports_after_sqlite_utils_without_it() -> None:
    loaded = loaded_after("import storage.db\nimport pandas\nimport numpy")
    assert {"pandas", "numpy", "sqlite_utils"} <= loaded


def test_sqlite_utils_unchanged_when_pandas_came_first() -> None:
    code = "import pandas\nimport storage.db\nimport sqlite_utils.db as d\nassert d.pd is pandas"
    assert "sqlite_utils" in loaded_after(code)


def test_the_collect_command_loads_no_pandas() -> None:
    """``tensionwatch collect`` also loads the alerts and the aggregates: none of them may
    import sqlite-utils before ``storage.db`` does (type-only imports where it is only a
    type), or pandas and pyarrow come with it: ~70 MB in every collector process."""
    loaded = loaded_after(
        "import tensionwatch.cli, tensionwatch.service, alerts.evaluate, alerts.preview, "
        "alerts.backtest, storage.aggregates, indicators.aggregated"
    )
    assert "sqlite_utils" in loaded
    assert not {"pandas", "pyarrow"} & loaded
