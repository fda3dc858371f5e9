"""The rule lab: the Rules page through AppTest on the entry script, and its logic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import rulelab
from storage.db import open_database_readonly
from storage.rulelab_queries import latest_published, list_lab_items
from tagging import Tagger, load_rules
from tests.dbfactory import ItemSpec, build_database

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
SEEDED = ROOT / "seeds" / "rules.yaml"
HOSTILE = "<script>alert(1)</script> [x](javascript:alert(2)) $x^2$"

ITEMS = [
    ItemSpec("Algeria accuses Morocco of hostile acts", "2024-05-02", ("algeria", "morocco")),
    ItemSpec("Morocco and Algeria trade accusations", "2024-05-09", ("algeria", "morocco")),
    ItemSpec("Algeria recalls its ambassador from Rabat", "2024-05-16", ("algeria", "morocco")),
    ItemSpec("Polisario says it shelled the berm", "2024-05-20", ("polisario",)),
    ItemSpec("Sandstorm hits the south", "2024-05-21"),
]


@pytest.fixture(scope="module")
def lab_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rulelab") / "tensionwatch.db"
    return build_database(path, ITEMS)


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    shutil.copyfile(SEEDED, path)
    return path


def open_rules_page(database: Path, rules: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TENSIONWATCH_DATABASE", str(database))
    monkeypatch.setenv("TENSIONWATCH_RULES", str(rules))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/rules.py").run()
    assert not at.exception, at.exception
    return at


def markdown_of(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_pasted_text_shows_labels_words_and_rules(
    lab_db: Path, rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_rules_page(lab_db, rules_copy, monkeypatch)
    at.text_area(key="lab_title").input("Algeria severs diplomatic ties with Morocco").run()
    at.text_area(key="lab_summary").input(HOSTILE).run()
    assert not at.exception
    text = markdown_of(at)
    assert "**Actors**: algeria\\, morocco" in text
    assert "**Categories**: diplomatic\\_rupture" in text
    assert ":red-background[**Algeria**]" in text
    assert ":red-background[**Morocco**]" in text
    assert "<script>" not in text and "\\<script\\>" in text
    assert "\\[x\\]\\(javascript\\:alert\\(2\\)\\)" in text
    matches = at.dataframe[0].value
    assert {"algeria.name", "morocco.name"} <= set(matches["rule"])
    assert set(matches["field"]) == {"title"}


def test_text_without_labels_says_so(
    lab_db: Path, rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_rules_page(lab_db, rules_copy, monkeypatch)
    at.text_area(key="lab_title").input("Jazz concert tonight").run()
    assert "No rule fires on this text." in [i.value for i in at.info]


def test_backtest_counts_what_a_draft_adds_and_drops(
    lab_db: Path, rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_rules_page(lab_db, rules_copy, monkeypatch)
    source = rules_copy.read_text(encoding="utf-8")
    draft = source.replace("      - id: algeria.name\n", "      - id: algeria.name-old\n", 1)
    # the draft renames a rule (no change in labels) and drops a whole actor
    assert "  algeria:\n" in draft
    draft = draft.replace("  algeria:\n", "  algeria:\n    note: muted in the draft\n", 1)
    at.text_area(key="lab_draft").input(_without_actor(draft, "morocco")).run()
    at.selectbox(key="lab_period").set_value("All").run()
    at.selectbox(key="lab_dyad").set_value("morocco-algeria").run()
    at.button(key="lab_backtest").click().run()
    assert not at.exception, at.exception
    changes = at.dataframe[0].value.set_index("label")
    assert changes.loc["morocco", "dropped"] == 3
    assert changes.loc["morocco", "added"] == 0
    assert changes.loc["algeria", "dropped"] == 0
    samples = at.dataframe[1].value
    assert set(samples["change"]) == {"dropped"}
    assert "Morocco" in " ".join(samples["words"])
    assert rules_copy.read_text(encoding="utf-8") == source  # backtesting saves nothing


def test_invalid_draft_is_not_saved_and_every_problem_shows(
    lab_db: Path, rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_rules_page(lab_db, rules_copy, monkeypatch)
    source = rules_copy.read_text(encoding="utf-8")
    broken = source.replace("unless:", "unles:", 1).replace("format: 1", "format: 9", 1)
    at.text_area(key="lab_draft").input(broken).run()
    at.button(key="lab_save").click().run()
    assert not at.exception
    assert at.error and "Not saved" in at.error[0].value
    problems = at.code[0].value.splitlines()
    assert any("unknown key 'unles'" in p for p in problems)
    assert any("unsupported format '9'" in p for p in problems)
    assert rules_copy.read_text(encoding="utf-8") == source


def test_valid_draft_is_saved(
    lab_db: Path, rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_rules_page(lab_db, rules_copy, monkeypatch)
    draft = rules_copy.read_text(encoding="utf-8") + "\n# tuned in the rule lab\n"
    at.text_area(key="lab_draft").input(draft).run()
    at.button(key="lab_save").click().run()
    assert not at.exception
    assert at.success and "Saved" in at.success[0].value
    assert rules_copy.read_text(encoding="utf-8") == draft
    assert load_rules(rules_copy).source == draft


def _without_actor(source: str, actor: str) -> str:
    """``source`` with the rules of one actor section removed (keeps the YAML valid)."""
    lines = source.splitlines(keepends=True)
    out, skipping = [], False
    for line in lines:
        if line == f"  {actor}:\n":
            skipping = True
            out.append(line)
            out.append("    note: removed in the draft\n")
            continue
        if skipping and (line.startswith("    ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "".join(out)


def test_backtest_logic_and_weekly_series(lab_db: Path) -> None:
    current = Tagger(load_rules(SEEDED))
    db = open_database_readonly(lab_db)
    try:
        latest = latest_published(db)
        items = list_lab_items(db, rulelab.period_start(latest, 10), 100)
        everything = list_lab_items(db, None, 100)
    finally:
        db.conn.close()
    assert [i.title for i in items] == [spec.title for spec in ITEMS[:1:-1]]
    assert len(everything) == len(ITEMS)
    result = rulelab.backtest(current, current, everything, "morocco-algeria")
    assert result.changes["added"].sum() == 0 and result.changes["dropped"].sum() == 0
    assert result.samples.empty
    assert list(result.series.columns) == ["current rules", "draft"]
    both = sum(
        {"morocco", "algeria"} <= set(current.tag(i.title, i.summary, i.lang).actors)
        for i in everything
    )
    assert both >= 2
    assert result.series["current rules"].sum() == both == result.series["draft"].sum()
    assert len(result.series) == 3  # weeks of 29 April, 6 and 13 May, the gap filled


def test_highlight_escapes_and_merges() -> None:
    marked = rulelab.highlight("a *b* <c>", [(2, 5), (3, 4), (40, 50)])
    assert marked == "a :red-background[**\\*b\\***] \\<c\\>"


def test_check_says_whether_the_draft_is_valid(
    lab_db: Path, rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_rules_page(lab_db, rules_copy, monkeypatch)
    source = rules_copy.read_text(encoding="utf-8")
    at.button(key="lab_check").click().run()
    assert not at.exception
    rule_count = load_rules(rules_copy).rule_count
    assert [s.value for s in at.success] == [f"The draft is valid: {rule_count} rules."]
    broken = source.replace("within: 8", "within: eight", 1)
    at.text_area(key="lab_draft").input(broken).run()
    at.button(key="lab_check").click().run()
    assert at.error and "nothing was run" in at.error[0].value
    assert any("within" in line for line in at.code[0].value.splitlines())
    assert rules_copy.read_text(encoding="utf-8") == source  # checking saves nothing


def test_backtest_draws_the_dyad_before_and_after(
    lab_db: Path, rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_rules_page(lab_db, rules_copy, monkeypatch)
    at.selectbox(key="lab_period").set_value("All").run()
    at.button(key="lab_backtest").click().run()
    assert not at.exception, at.exception
    assert "The draft tags these items exactly as the current rules do." in [
        i.value for i in at.info
    ]
    assert "**morocco\\-algeria**: items per week" in markdown_of(at)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    assert '"type": "line"' in charts[0].proto.spec
