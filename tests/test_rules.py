"""Loading rules files: every validation error names the file, the line and the rule."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from model import RulesError
from tagging import Tagger, load_rules

GOOD = """\
format: 1
contexts:
  sport:
    en: [football]
actors:
  morocco:
    rules:
      - id: morocco.name
        terms:
          en: [Morocco]
        unless: [sport]
categories:
  military_violence:
    weight: 10
    rules:
      - id: military_violence.attack
        terms:
          en: [attack*]
"""


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> RulesError:
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    return caught.value


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def assert_reported(error: RulesError, path: Path, line: int, where: str, reason: str) -> None:
    message = str(error)
    expected = f"{path}:{line}: {where}: "
    matching = [m for m in message.splitlines() if m.startswith(expected)]
    assert matching, f"{expected!r} not in:\n{message}"
    assert any(reason in m for m in matching), message


def test_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    rules = load_rules(path)
    assert rules.version == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert rules.path == path
    assert rules.source == GOOD
    assert rules.rule_count == 2
    assert rules.weights["military_violence"] == 10.0
    assert rules.weights["mediation_deescalation"] == -5.0  # seeded default
    tagging = Tagger(rules).tag("Morocco attacked", "")
    assert tagging.actors == ("morocco",)
    assert tagging.categories == ("military_violence",)
    assert tagging.rules_version == rules.version


def test_version_changes_with_any_edit(tmp_path: Path) -> None:
    first = load_rules(write(tmp_path, GOOD, "a.yaml")).version
    second = load_rules(write(tmp_path, GOOD + "# a comment\n", "b.yaml")).version
    assert len(first) == 16 and first != second


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = GOOD.replace("en: [Morocco]", "en: [Morocco")
    path = write(tmp_path, text)
    error = problems_of(path)
    assert len(error.problems) == 1
    assert error.problems[0].where == "yaml"
    assert f"{path}:" in str(error) and "YAML syntax error" in str(error)
    assert error.problems[0].line >= line_of(text, "en: [Morocco")


def test_unknown_key_in_a_rule(tmp_path: Path) -> None:
    text = GOOD.replace("unless: [sport]", "unles: [sport]")
    path = write(tmp_path, text)
    error = problems_of(path)
    line = line_of(text, "unles:")
    assert_reported(error, path, line, "rule morocco.name", "unknown key 'unles'")
    assert "did you mean 'unless'?" in str(error)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "actor: {}\n")
    error = problems_of(path)
    assert_reported(error, path, line_of(GOOD + "actor:", "actor:"), "top level", "'actor'")


def test_empty_term(tmp_path: Path) -> None:
    text = GOOD.replace("en: [attack*]", "en: [attack*, '']")
    path = write(tmp_path, text)
    error = problems_of(path)
    line = line_of(text, "[attack*, '']")
    assert_reported(error, path, line, "rule military_violence.attack", "empty term")


@pytest.mark.parametrize(
    ("term", "reason"),
    [
        ("'*'", "not a wildcard"),
        ("att*ck", "may only end a word"),
        ("'*attack'", "may only end a word"),
        ("attack**", "may only end a word"),
        ("un*", "at least 3 letters"),
    ],
)
def test_bad_wildcard(tmp_path: Path, term: str, reason: str) -> None:
    text = GOOD.replace("en: [attack*]", f"en: [{term}]")
    path = write(tmp_path, text)
    error = problems_of(path)
    line = line_of(text, f"en: [{term}]")
    assert_reported(error, path, line, "rule military_violence.attack", reason)


def test_unknown_taxonomy_id(tmp_path: Path) -> None:
    text = GOOD.replace("  morocco:", "  moroco:").replace("id: morocco.name", "id: moroco.name")
    path = write(tmp_path, text)
    error = problems_of(path)
    line = line_of(text, "  moroco:")
    assert_reported(error, path, line, "actors.moroco", "unknown actor id 'moroco'")


def test_declared_ids_are_accepted(tmp_path: Path) -> None:
    text = GOOD + ("declare:\n  actors: [kabylie_mak]\n  categories: [migration_pressure]\n")
    text = text.replace(
        "actors:\n  morocco:",
        "actors:\n  kabylie_mak:\n    rules:\n      - id: mak.name\n"
        "        terms: {fr: [MAK]}\n  morocco:",
    ).replace(
        "categories:\n  military_violence:",
        "categories:\n  migration_pressure:\n    weight: 1.5\n    rules:\n"
        "      - id: migration.crossings\n        terms: {en: [crossing*]}\n"
        "  military_violence:",
    )
    rules = load_rules(write(tmp_path, text))
    assert "kabylie_mak" in rules.actor_ids
    assert rules.weights["migration_pressure"] == 1.5
    tagging = Tagger(rules).tag("MAK reports crossings", "")
    assert tagging.actors == ("kabylie_mak",)
    assert tagging.categories == ("migration_pressure",)


def test_declared_category_needs_a_weight(tmp_path: Path) -> None:
    text = GOOD.replace("format: 1\n", "format: 1\ndeclare:\n  categories: [migration]\n")
    text += "  migration:\n    rules:\n      - id: migration.x\n        terms: {en: [boats]}\n"
    path = write(tmp_path, text)
    error = problems_of(path)
    line = line_of(text, "      - id: migration.x") - 1
    assert_reported(error, path, line, "categories.migration", "needs a weight")


def test_duplicate_rule_id(tmp_path: Path) -> None:
    text = GOOD.replace("id: military_violence.attack", "id: morocco.name")
    path = write(tmp_path, text)
    error = problems_of(path)
    first = line_of(text, "id: morocco.name")
    second = line_of(text.replace("id: morocco.name", "xx", 1), "id: morocco.name")
    assert_reported(
        error, path, second, "rule morocco.name", f"duplicate rule id (first on line {first})"
    )


@pytest.mark.parametrize("weight", ["high", "true", "[10]", "'ten'", ".nan"])
def test_weight_not_a_number(tmp_path: Path, weight: str) -> None:
    text = GOOD.replace("weight: 10", f"weight: {weight}")
    path = write(tmp_path, text)
    error = problems_of(path)
    line = line_of(text, f"weight: {weight}")
    assert_reported(error, path, line, "categories.military_violence", "must be a number")


def test_unknown_context(tmp_path: Path) -> None:
    text = GOOD.replace("unless: [sport]", "unless: [sports]")
    path = write(tmp_path, text)
    error = problems_of(path)
    line = line_of(text, "unless: [sports]")
    assert_reported(error, path, line, "rule morocco.name", "unknown context 'sports'")


def test_rule_without_id_or_terms(tmp_path: Path) -> None:
    unnamed = "      - id: military_violence.attack\n        terms:\n"
    text = GOOD.replace(unnamed, "      - terms:\n")
    text = text.replace("        terms:\n          en: [Morocco]\n", "")
    path = write(tmp_path, text)
    error = problems_of(path)
    line = line_of(text, "- terms:")
    assert_reported(error, path, line, "categories.military_violence[0]", "no id")
    line = line_of(text, "id: morocco.name")
    assert_reported(error, path, line, "rule morocco.name", "at least one term")


def test_rule_with_empty_terms(tmp_path: Path) -> None:
    text = GOOD.replace("        terms:\n          en: [attack*]\n", "        terms: {}\n")
    path = write(tmp_path, text)
    line = line_of(text, "id: military_violence.attack")
    where = "rule military_violence.attack"
    assert_reported(problems_of(path), path, line, where, "at least one term")


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("weight: 10", "weight: lots")
        .replace("en: [attack*]", "en: ['*']")
        .replace("unless: [sport]", "unless: [sport]\n        colour: red")
    )
    path = write(tmp_path, text)
    error = problems_of(path)
    lines = [p.line for p in error.problems]
    assert lines == sorted(lines)
    assert len(error.problems) == 3
    assert error.path == str(path)
    assert str(error).count(f"{path}:") == 3


def test_missing_and_unsupported_format(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("format: 1\n", ""), "a.yaml")
    assert "missing 'format: 1'" in str(problems_of(path))
    path = write(tmp_path, GOOD.replace("format: 1", "format: 2"), "b.yaml")
    assert_reported(problems_of(path), path, 1, "format", "unsupported format '2'")


def test_empty_file_and_wrong_shape(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing\n", "empty.yaml")
    assert "empty" in str(problems_of(path))
    path = write(tmp_path, "- a\n- b\n", "list.yaml")
    assert_reported(problems_of(path), path, 1, "top level", "expected a mapping")


def test_unreadable_and_not_utf8(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert f"{missing}:0: file: cannot read" in str(problems_of(missing))
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.encode("utf-8") + b"# caf\xe9\n")
    assert_reported(problems_of(path), path, GOOD.count("\n") + 1, "file", "not UTF-8")


def test_language_keys_and_misplaced_options(tmp_path: Path) -> None:
    text = GOOD.replace("en: [Morocco]", "English: [Morocco]").replace(
        "unless: [sport]", "unless: [sport]\n        requires_actor: true\n        within: 2"
    )
    path = write(tmp_path, text)
    error = problems_of(path)
    where = "rule morocco.name"
    assert_reported(error, path, line_of(text, "English:"), where, "not a language code")
    line = line_of(text, "requires_actor: true")
    assert_reported(error, path, line, where, "only applies to category rules")
    assert_reported(error, path, line_of(text, "within: 2"), where, "within only applies")


def test_yaml_words_stay_words(tmp_path: Path) -> None:
    text = GOOD.replace("en: [Morocco]", "en: [Morocco, no, 2021]")
    rules = load_rules(write(tmp_path, text))
    assert [t.text for t in rules.rule("morocco.name").terms] == ["Morocco", "no", "2021"]


def test_rules_check_command_prints_every_problem(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).parent / "tensionwatch")
    text = (
        GOOD.replace("  morocco:\n", "  moroco:\n")
        .replace("en: [Morocco]", "en: ['', 'att*ck']")
        .replace("unless: [sport]", "unles: [sport]")
    )
    bad = write(tmp_path, text, "bad.yaml")
    done = subprocess.run(
        [exe, "rules", "check", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    reported = [line for line in done.stderr.splitlines() if f"{bad}:" in line]
    wanted = ["unknown actor id 'moroco'", "empty term", "'att*ck'", "unknown key 'unles'"]
    for reason in wanted:
        assert any(reason in line for line in reported), done.stderr
    assert len(reported) == len(wanted)
    good = write(tmp_path, GOOD, "good.yaml")
    done = subprocess.run(
        [exe, "rules", "check", str(good)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.startswith(f"{good}: ok, 2 rules, version ")


def test_libyaml_and_python_loaders_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C loader, when present, gives the rules, problems and lines of the Python one."""
    import tagging.yamltree as yamltree

    if yamltree._FAST_LOADER is None:  # pragma: no cover
        pytest.skip("PyYAML without libyaml")
    seeds = Path(__file__).resolve().parent.parent / "seeds" / "rules.yaml"
    broken = GOOD.replace("unless: [sport]", "unles: [sport]").replace("weight: 10", "weight: no")
    fast = (load_rules(seeds), yamltree.compose(broken, yamltree.Problems()))
    syntax_error = yamltree.Problems()
    assert yamltree.compose(GOOD.replace("[Morocco]", "[Morocco"), syntax_error) is None
    monkeypatch.setattr(yamltree, "_FAST_LOADER", None)
    slow = (load_rules(seeds), yamltree.compose(broken, yamltree.Problems()))
    slow_error = yamltree.Problems()
    assert yamltree.compose(GOOD.replace("[Morocco]", "[Morocco"), slow_error) is None
    assert fast[0] == slow[0]
    assert [(p.line, p.where, p.reason) for p in syntax_error.items] == [
        (p.line, p.where, p.reason) for p in slow_error.items
    ]
    assert fast[1] is not None and slow[1] is not None
    assert _nodes(fast[1]) == _nodes(slow[1])


def _nodes(node: Node) -> list[tuple[int, int, str, str]]:
    """Every node of a tree: line, column, tag, and a scalar's value."""
    value = str(node.value) if isinstance(node, ScalarNode) else ""
    out = [(node.start_mark.line, node.start_mark.column, node.tag, value)]
    if isinstance(node, SequenceNode):
        for item in node.value:
            out += _nodes(item)
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            out += _nodes(key) + _nodes(value)
    return out
