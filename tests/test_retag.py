"""``retag``: the current rules re-applied to stored items, recorded, idempotent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import open_database
from tensionwatch.config import load_settings
from tensionwatch.retag import retag_items
from tensionwatch.service import CollectorService
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import HARVEST, PEGASUS, TIES_CUT, rss

SEEDED_RULES = Path(__file__).resolve().parent.parent / "seeds" / "rules.yaml"


def snapshot(database: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    db = open_database(database)
    tags = db.execute("SELECT * FROM item_tags ORDER BY item_id, kind, tag").fetchall()
    matches = db.execute(
        'SELECT item_id, kind, tag, rule, field, start, "end", text, rules_version '
        "FROM tag_matches ORDER BY item_id, field, start, rule"
    ).fetchall()
    db.conn.close()
    return tags, matches


def test_retag_applies_new_rules_once_and_records_the_version(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SEEDED_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    url = feed_server.route("/rss", body=rss([TIES_CUT, PEGASUS, HARVEST]))
    config = write_config(
        f'database = "tw.db"\nrules = "{rules}"\narchive = false\n'
        f'allow_private_networks = true\n[[feeds]]\nurl = "{url}"\n'
    )
    settings = load_settings(config, env={})
    service = CollectorService(settings)
    service.collect_once()
    service.close()
    before_tags, _ = snapshot(settings.database)
    old_version = {row[4] for row in before_tags}

    # the analyst makes spyware count for more
    edited = rules.read_text(encoding="utf-8").replace(
        "surveillance_espionage:\n    weight: 4", "surveillance_espionage:\n    weight: 6", 1
    )
    assert edited != rules.read_text(encoding="utf-8")
    rules.write_text(edited, encoding="utf-8")

    count, version = retag_items(settings, None, progress=False)
    assert count == 3 and {version} != old_version
    after_tags, after_matches = snapshot(settings.database)
    assert {row[4] for row in after_tags} == {version}
    assert {row[8] for row in after_matches} == {version}
    spyware = [row for row in after_tags if row[2] == "surveillance_espionage"]
    assert spyware and all(row[3] == 6 for row in spyware)
    db = open_database(settings.database)
    versions = {r[0] for r in db.execute("SELECT version FROM rules_versions")}
    assert versions == old_version | {version}
    db.conn.close()

    retag_items(settings, None, progress=False)
    assert snapshot(settings.database) == (after_tags, after_matches)


def test_retag_shows_a_progress_bar(
    feed_server: FeedServer, write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    url = feed_server.route("/rss", body=rss([TIES_CUT, PEGASUS, HARVEST]))
    config = write_config(
        f'database = "tw.db"\narchive = false\nallow_private_networks = true\n'
        f'[[feeds]]\nurl = "{url}"\n'
    )
    settings = load_settings(config, env={})
    service = CollectorService(settings)
    service.collect_once()
    service.close()
    capsys.readouterr()
    count, _ = retag_items(settings, None)
    bar = capsys.readouterr().err
    assert count == 3
    assert "100%" in bar and "3/3" in bar and "item" in bar


def test_retag_since_only_touches_newer_items(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    url = feed_server.route("/rss", body=rss([TIES_CUT, PEGASUS, HARVEST]))
    config = write_config(
        f'database = "tw.db"\narchive = false\nallow_private_networks = true\n'
        f'[[feeds]]\nurl = "{url}"\n'
    )
    exe = str(Path(sys.executable).parent / "tensionwatch")
    subprocess.run([exe, "collect", "--once", "--config", str(config)], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    done = subprocess.run([exe, "retag", "--since", "2021-07-01", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("retagged 2 items with rules version ")
