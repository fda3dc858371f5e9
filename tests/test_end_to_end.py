"""End to end: ``collect --once`` over the loopback server, then the dashboard shows the items."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO, WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import ATOM_VISIT, HARVEST, PEGASUS, TIES_CUT, atom, rss

APP = str(REPO / "dashboard" / "app.py")


def test_collected_items_reach_every_page(
    feed_server: FeedServer, write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = feed_server.route("/one", body=rss([TIES_CUT, HARVEST, PEGASUS]))
    two = feed_server.route("/two", body=atom([ATOM_VISIT]))
    config = write_config(
        'database = "tw.db"\narchive = false\nallow_private_networks = true\n'
        f'[[feeds]]\nurl = "{one}"\nname = "Loopback RSS"\ncountry = "DZ"\nlang = "en"\n'
        f'[[feeds]]\nurl = "{two}"\nname = "Loopback Atom"\ncountry = "IL"\nlang = "en"\n'
    )
    exe = str(Path(sys.executable).parent / "tensionwatch")
    done = subprocess.run([exe, "collect", "--once", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr

    monkeypatch.setenv("TENSIONWATCH_CONFIG", str(config))  # as `up` passes it on
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.get("vega_lite_chart"), "the overview draws the escalation chart"

    at.switch_page("app_pages/items.py").run()
    assert not at.exception, at.exception
    titles = set(at.dataframe[0].value["title"])
    assert {TIES_CUT[0], PEGASUS[0], HARVEST[0], ATOM_VISIT[0]} <= titles

    at.switch_page("app_pages/feeds.py").run()
    assert not at.exception, at.exception
    feeds = at.dataframe[0].value
    assert {"Loopback RSS", "Loopback Atom"} <= set(feeds["name"])
