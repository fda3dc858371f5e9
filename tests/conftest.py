"""Shared fixtures: an isolated environment per test, config files, the loopback feed server."""

from __future__ import annotations

import os
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
