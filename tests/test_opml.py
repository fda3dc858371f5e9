"""OPML import and export of the feed list, through the installed entry point.

``feeds export`` prints the configured feeds as OPML 2.0; ``feeds import
FILE.opml`` prints ``[[feeds]]`` tables, or appends them to ``--to FILE``
(e.g. the config), leaving out feeds already configured. Country, language,
name and interval survive the round trip.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import WriteConfig

EXE = str(Path(sys.executable).parent / "tensionwatch")

CONFIG = """database = "tw.db"
archive = false

[[feeds]]
url = "https://www.example.ma/rss"
name = "Le Desk \\"Maroc\\" & co"
country = "MA"
lang = "fr"
interval = "30m"

[[feeds]]
url = "https://dz.example.org/feed?lang=ar&x=1"
name = "الأخبار"
country = "DZ"
lang = "ar"

[[feeds]]
url = "https://plain.example.net/atom.xml"
"""

OTHER_READER = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Exported from another reader</title></head><body>
  <outline text="Maghreb">
    <outline text="Le Desk" title="Le Desk (copy)" type="rss" xmlUrl="https://www.example.ma/rss"/>
    <outline text="Sahara Press" type="rss" xmlUrl="https://sahara.example.com/es/rss"
             language="es-ES" country="EH" htmlUrl="https://sahara.example.com/"/>
  </outline>
  <outline text="Israel">
    <outline title="Haaretz-like" xmlUrl="https://il.example.co.il/rss" lang="he" interval="3600"/>
  </outline>
  <outline text="Just a folder with a link" htmlUrl="https://nofeed.example/"/>
</body></opml>
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60)


def feeds_of(text: str) -> list[dict[str, object]]:
    tables: list[dict[str, object]] = tomllib.loads(text)["feeds"]
    return tables


def test_export_then_import_keeps_every_field(write_config: WriteConfig, tmp_path: Path) -> None:
    config = write_config(CONFIG)
    exported = run("feeds", "export", "--config", str(config))
    assert exported.returncode == 0, exported.stderr
    outlines = ET.fromstring(exported.stdout).findall("./body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [
        "https://www.example.ma/rss",
        "https://dz.example.org/feed?lang=ar&x=1",
        "https://plain.example.net/atom.xml",
    ]
    assert (outlines[0].get("country"), outlines[0].get("language")) == ("MA", "fr")
    assert outlines[0].get("interval") == "1800" and outlines[1].get("title") == "الأخبار"
    opml = tmp_path / "list.opml"
    opml.write_text(exported.stdout, encoding="utf-8")

    empty = write_config('database = "tw.db"\narchive = false\n', name="empty.toml")
    target = tmp_path / "feeds.toml"
    imported = run("feeds", "import", str(opml), "--to", str(target), "--config", str(empty))
    assert imported.returncode == 0, imported.stderr
    assert "appended 3 feeds" in imported.stderr
    assert feeds_of(target.read_text(encoding="utf-8")) == [
        {**t, "interval": 1800} if "interval" in t else t for t in feeds_of(CONFIG)
    ]
    again = run("feeds", "import", str(opml), "--to", str(target), "--config", str(empty))
    assert "appended 0 feeds" in again.stderr and "left out 3" in again.stderr
    assert len(feeds_of(target.read_text(encoding="utf-8"))) == 3


def test_import_from_another_reader_prints_new_feeds(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    config = write_config(CONFIG)
    opml = tmp_path / "other.opml"
    opml.write_text(OTHER_READER, encoding="utf-8")
    done = run("feeds", "import", str(opml), "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert feeds_of(done.stdout) == [
        {"url": "https://sahara.example.com/es/rss", "name": "Sahara Press", "country": "EH",
         "lang": "es"},
        {"url": "https://il.example.co.il/rss", "name": "Haaretz-like", "lang": "he",
         "interval": 3600},
    ]  # fmt: skip
    assert "left out 1 feeds already configured" in done.stderr


def test_an_imported_list_works_as_the_config(write_config: WriteConfig, tmp_path: Path) -> None:
    opml = tmp_path / "other.opml"
    opml.write_text(OTHER_READER, encoding="utf-8")
    config = write_config('database = "tw.db"\narchive = false\n')
    assert run("feeds", "import", str(opml), "--to", str(config)).returncode == 0
    checked = run("config", "check", "--config", str(config))
    assert checked.returncode == 0, checked.stderr
    assert "feeds: 3" in checked.stdout


def test_bad_opml_is_one_clear_line(write_config: WriteConfig, tmp_path: Path) -> None:
    config = write_config('database = "tw.db"\narchive = false\n')
    for name, text, words in [
        ("none.opml", "<opml><body><outline text='x'/></body></opml>", "no <outline xmlUrl"),
        ("broken.opml", "<opml><body><outline", "cannot read the OPML file"),
        ("script.opml", "<opml><body><outline xmlUrl='javascript:alert(1)'/></body></opml>",
         "only http(s) URLs"),
    ]:  # fmt: skip
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        done = run("feeds", "import", str(path), "--config", str(config))
        assert done.returncode != 0 and words in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
