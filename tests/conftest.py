"""Shared fixtures: an isolated environment per test, config files, the loopback feed server."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.feedserver"]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No TENSIONWATCH_* variable from the developer's shell, and a fresh working directory."""
    for name in list(os.environ):
        if name.startswith("TENSIONWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # Streamlit's AppTest leaves the dashboard script behind as ``__main__``; a digest
    # worker spawned later in the same test process would run it again, since spawn
    # re-imports ``__main__`` from its path (and the pool would break).
    main = sys.modules.get("__main__")
    if str(getattr(main, "__file__", "")).startswith(str(REPO / "dashboard")):
        monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    yield


WriteConfig = Callable[[str], Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write a tensionwatch.toml in the test's directory and return its path."""

    def write(text: str, name: str = "tensionwatch.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
