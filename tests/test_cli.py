"""The installed ``tensionwatch`` entry point, run as a user would (real processes)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import HARVEST, PEGASUS, TIES_CUT, rss

EXE = str(Path(sys.executable).parent / "tensionwatch")


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [EXE, *args], input=stdin, capture_output=True, text=True, timeout=120, env=env,
        cwd=cwd,
    )  # fmt: skip


@pytest.fixture
def loopback_config(feed_server: FeedServer, write_config: WriteConfig) -> Path:
    one = feed_server.route("/one", body=rss([TIES_CUT, HARVEST]))
    two = feed_server.route("/two", body=rss([PEGASUS]))
    gone = feed_server.url("/nothing-here")
    feeds = "".join(f'[[feeds]]\nurl = "{u}"\nname = "F{i}"\ncountry = "MA"\nlang = "en"\n'
                    for i, u in enumerate([one, two, gone]))  # fmt: skip
    return write_config(
        'database = "data/tw.db"\narchive = false\nallow_private_networks = true\n'
        "[collector]\ntotal_timeout = 5\n" + feeds
    )


def test_tag_writes_one_line_per_input_line_and_reports_bad_lines() -> None:
    lines = [
        {"id": "a", "title": "Algeria severs ties with Morocco", "summary": "", "lang": "en"},
        "this is not json",
        {"id": "c", "title": "Récolte record de blé", "summary": "La pluie est revenue."},
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    result = run("tag", stdin=text)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 3 and [o.get("id") for o in out][0::2] == ["a", "c"]
    assert {"algeria", "morocco"} <= set(out[0]["actors"])
    assert "diplomatic_rupture" in out[0]["categories"]
    for match in out[0]["matches"]:
        assert set(match) >= {"rule", "field", "start", "end", "text"}
        assert lines[0][match["field"]][match["start"] : match["end"]] == match["text"]
    assert out[2]["actors"] == [] and out[2]["categories"] == []
    assert "line 2" in result.stderr


def test_collect_once_then_export_and_feeds_list(loopback_config: Path) -> None:
    result = run("collect", "--once", "--config", str(loopback_config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("total: 3 feeds: 2 ok")
    assert "404" in lines[2]

    again = run("--config", str(loopback_config), "collect", "--once", "--json")
    summary = json.loads(again.stdout)
    # unchanged bodies are not parsed again: the two good feeds count as not modified
    assert summary["total"] | {"errors": 1} == summary["total"]
    assert (summary["total"]["new"], summary["total"]["not_modified"]) == (0, 2)

    exported = run("export", "items", "--config", str(loopback_config))
    items = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(items) == 3
    for item in items:
        assert {"id", "feed", "url", "title", "summary", "published", "fetched", "lang",
                "actors", "categories"} <= set(item)  # fmt: skip
    assert [i["title"] for i in items] == [HARVEST[0], PEGASUS[0], TIES_CUT[0]]  # oldest first

    since = run("export", "items", "--since", "2021-07-01", "--config", str(loopback_config))
    assert len(since.stdout.splitlines()) == 2
    as_csv = run("export", "items", "--format", "csv", "--config", str(loopback_config))
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 3 and "algeria" in rows[2]["actors"]

    listed = json.loads(run("feeds", "list", "--json", "--config", str(loopback_config)).stdout)
    assert [f["status"] for f in listed] == ["ok", "ok", "error"]
    for feed in listed:
        assert {"url", "enabled", "status", "last_ok", "last_error", "last_warning",
                "error_count", "items"} <= set(feed)  # fmt: skip
    assert listed[0]["items"] == 2 and listed[2]["error_count"] == 2  # failed in both passes


def test_read_only_commands_never_write(loopback_config: Path) -> None:
    assert run("collect", "--once", "--config", str(loopback_config)).returncode == 0
    database = loopback_config.parent / "data" / "tw.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    run("export", "items", "--config", str(loopback_config))
    run("feeds", "list", "--json", "--config", str(loopback_config))
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_export_without_a_database_says_what_to_do(write_config: WriteConfig) -> None:
    config = write_config('database = "none/tw.db"\narchive = false\n')
    result = run("export", "items", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("tensionwatch: error:") and "collect --once" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (config.parent / "none").exists()


def test_invalid_config_is_one_line_naming_key_and_value(write_config: WriteConfig) -> None:
    config = write_config("[dashboard]\nport = 'eighty'\n")
    result = run("config", "check", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"tensionwatch: error: {config}: dashboard.port = 'eighty': "
        "expected a whole number from 1 to 65535"
    )


def test_config_check_accepts_the_seeded_defaults(tmp_path: Path) -> None:
    result = run("config", "check")
    assert result.returncode == 0, result.stderr
    assert "no config file" in result.stdout and result.stdout.strip().endswith("ok")


def test_bad_since_date_is_a_usage_error(write_config: WriteConfig) -> None:
    result = run("export", "items", "--since", "last tuesday")
    assert result.returncode == 2 and "--since" in result.stderr


def test_backup_makes_a_readable_copy(loopback_config: Path, tmp_path: Path) -> None:
    run("collect", "--once", "--config", str(loopback_config))
    copy = tmp_path / "copy.db"
    assert run("db", "backup", str(copy), "--config", str(loopback_config)).returncode == 0
    import sqlite3

    assert sqlite3.connect(copy).execute("SELECT count(*) FROM items").fetchone()[0] == 3
    again = run("db", "backup", str(copy), "--config", str(loopback_config))
    assert again.returncode == 1 and "already exists" in again.stderr
