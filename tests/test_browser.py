"""What a person sees: every dashboard page in a real headless Chromium (Debian's).

``tensionwatch dashboard`` serves a database built by a real collection of
the bundled archive; each page must draw without an error box, charts must
render, and hostile feed text must show as text. Screenshots are saved in
``test-artifacts/`` for a human to look at.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.aggregates import refresh_aggregates
from storage.alert_store import NewAlert, record_alert
from storage.db import open_database
from tensionwatch.config import load_settings
from tensionwatch.service import CollectorService
from tests.conftest import REPO, WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import TIES_CUT, rss
from tests.test_up import free_port, wait_for_health

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
ARTIFACTS = REPO / "test-artifacts"
HOSTILE = "<script>alert('owned')</script> Rabat & Algiers trade barbs"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def dashboard_url(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> Iterator[str]:
    hostile = (
        HOSTILE,
        TIES_CUT[1],
        "https://news.example/hostile",
        "Wed, 25 Aug 2021 09:00:00 GMT",
    )
    url = feed_server.route("/live", body=rss([hostile]))
    port = free_port()
    config = write_config(
        f'database = "tw.db"\nallow_private_networks = true\n[dashboard]\nport = {port}\n'
        f'[[feeds]]\nurl = "{url}"\nname = "Loopback wire"\ncountry = "MA"\nlang = "en"\n'
    )
    service = CollectorService(load_settings(config, env={}))
    service.collect_once()
    service.close()
    db = open_database(config.parent / "tw.db")
    refresh_aggregates(db)  # what the collector does after each pass
    (item_id,) = [
        row[0] for row in db.conn.execute("SELECT id FROM items WHERE url = ?", [hostile[2]])
    ]
    record_alert(
        db,
        NewAlert(
            rule="morocco-algeria-spike", kind="spike", series="dyad:morocco-algeria",
            episode="2021-08-25", fired=datetime(2021, 8, 25, 18, tzinfo=UTC),
            title=f"morocco-algeria: {HOSTILE}", observed=12.0, expected=0.0,
            period="2021-08-25", detail=json.dumps({"why": [HOSTILE]}),
            item_ids=(item_id,),
        ),
    )  # fmt: skip
    db.conn.close()
    exe = str(Path(sys.executable).parent / "tensionwatch")
    process = subprocess.Popen([exe, "dashboard", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health", process, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


PAGES = [("/", "overview"), ("/trends", "trends"), ("/items", "items"), ("/feeds", "feeds"),
         ("/alerts", "alerts"), ("/rules", "rules")]  # fmt: skip


@pytest.mark.parametrize(("path", "name"), PAGES)
def test_every_page_draws_without_errors(dashboard_url: str, path: str, name: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 2400})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(dashboard_url + path)
        page.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=30_000)
        if name in ("overview", "trends"):
            page.wait_for_selector(
                "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg",
                timeout=30_000,
            )
            page.wait_for_timeout(1000)
            charts = page.locator("[data-testid=stVegaLiteChart]")
            drawn = page.locator(
                "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg.marks"
            )
            assert charts.count() >= 1 and drawn.count() >= charts.count(), "a chart did not draw"
        elif name != "rules":
            page.wait_for_selector("[data-testid=stDataFrame], [data-testid=stTable]",
                                   timeout=30_000)  # fmt: skip
        page.wait_for_timeout(1500)  # let the last elements settle before the screenshot
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
        errors = page.locator("[data-testid=stException], [data-testid=stAlertContentError]")
        assert errors.count() == 0, errors.all_inner_texts()
        assert page.locator("script:text('owned')").count() == 0
        browser.close()
    assert dialogs == [], "feed text ran as script"
