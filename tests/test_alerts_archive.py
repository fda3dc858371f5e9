"""The seeded alert rules replayed over the bundled archive, collected the normal way.

The archive goes through ``CollectorService`` (with one loopback feed, as a
real config would have), then ``alerts backtest`` replays the seeded
morocco-algeria spike rule: it must fire when Algeria cut ties (late August
2021) and after the lorry drivers were killed (early November 2021), and
stay silent through quiet stretches.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner

from alerts.backtest import backtest_rule
from alerts.evaluate import load_alert_rules
from alerts.rules import find_rule
from storage.db import open_database_readonly
from tensionwatch.cli import cli
from tensionwatch.config import load_settings
from tensionwatch.service import CollectorService
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import HARVEST, rss


def test_seeded_spike_rule_fires_on_the_archive_episodes_only(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    live = feed_server.route("/live.xml", body=rss([HARVEST]))
    config = write_config(
        'database = "tw.db"\narchive = true\nallow_private_networks = true\n'
        f'[[feeds]]\nurl = "{live}"\nname = "Loopback"\n'
    )
    settings = load_settings(config)
    service = CollectorService(settings)
    try:
        outcomes = service.collect_once()
    finally:
        service.close()
    assert all(o.status == "ok" for o in outcomes), outcomes

    rule = find_rule(load_alert_rules(settings), "morocco-algeria-spike")
    db = open_database_readonly(settings.database)
    try:
        days = [d.day for d in backtest_rule(db, rule, date(2020, 1, 1), date(2025, 12, 31))]
    finally:
        db.conn.close()
    assert any(date(2021, 8, 20) <= d <= date(2021, 8, 31) for d in days), days
    assert any(date(2021, 11, 1) <= d <= date(2021, 11, 10) for d in days), days
    for quiet_year in (2020, 2023, 2025):
        assert not [d for d in days if d.year == quiet_year], days
    assert not [d for d in days if date(2021, 9, 1) <= d <= date(2021, 10, 31)], days

    shown = CliRunner().invoke(
        cli,
        ["alerts", "backtest", "morocco-algeria-spike", "--from", "2021-08-01",
         "--to", "2021-11-30", "--config", str(config)],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("2021-08-2") and lines[1].startswith("2021-11-0")
    assert lines[-1] == "morocco-algeria-spike: 2 days from 2021-08-01 to 2021-11-30"

    preview = CliRunner().invoke(
        cli, ["alerts", "preview", "morocco-algeria-spike", "--config", str(config)]
    )
    assert preview.exit_code == 0, preview.output
    assert "latest firing" in preview.output
    assert "Morocco–Algeria escalation" in preview.output
    written = preview.output.rsplit("written to ", 1)[1].strip()
    assert written.endswith(".eml") and "image/png" in Path(written).read_text("ascii")
