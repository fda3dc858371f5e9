"""A running collector keeps the last good rules when the file becomes invalid."""

from __future__ import annotations

import os
from pathlib import Path

from tensionwatch.service import RulesHolder

GOOD = """\
format: 1
actors:
  morocco:
    rules:
      - id: morocco.name
        terms:
          en: [Morocco]
"""

BETTER = (
    GOOD
    + """\
  algeria:
    rules:
      - id: algeria.name
        terms:
          en: [Algeria]
"""
)

BROKEN = GOOD.replace("terms:", "termz:")


def _write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text, encoding="utf-8")
    # mtime and size decide whether the holder reloads: make each edit visible
    os.utime(path, (stamp, stamp))


def test_invalid_edit_keeps_last_good_rules_then_a_fix_loads(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    _write(path, GOOD, 1_000_000)
    holder = RulesHolder(path)
    first = holder.current()
    assert holder.last_error is None
    assert first.tag("Morocco and Algeria", "").actors == ("morocco",)

    _write(path, BROKEN, 1_000_100)
    assert holder.current() is first
    assert holder.last_error is not None
    assert "termz" in holder.last_error
    assert holder.rules.version == first.version

    _write(path, BETTER, 1_000_200)
    fixed = holder.current()
    assert fixed is not first
    assert holder.last_error is None
    assert fixed.version != first.version
    assert fixed.tag("Morocco and Algeria", "").actors == ("algeria", "morocco")


def test_deleted_file_keeps_current_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    _write(path, GOOD, 1_000_000)
    holder = RulesHolder(path)
    first = holder.current()
    path.unlink()
    assert holder.current() is first
