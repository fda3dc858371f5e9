"""The JSON Lines tag stream: one output line per item line, in order; bad lines reported."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tagging import Tagger, load_rules, tag_jsonl_stream

RULES = Path(__file__).resolve().parent.parent / "seeds" / "rules.yaml"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_rules(RULES))


def run(tagger: Tagger, text: str) -> tuple[int, list[dict[str, Any]], list[str]]:
    stdout, stderr = io.StringIO(), io.StringIO()
    bad = tag_jsonl_stream(tagger, io.StringIO(text), stdout, stderr)
    out = [json.loads(line) for line in stdout.getvalue().splitlines()]
    return bad, out, stderr.getvalue().splitlines()


def line(**fields: object) -> str:
    return json.dumps(fields, ensure_ascii=False) + "\n"


def test_good_lines(tagger: Tagger) -> None:
    text = line(id="a", title="Algeria severs ties with Morocco", summary="") + line(
        id="b", title="Concert tonight", summary="A singer in Rabat", lang="en"
    )
    bad, out, err = run(tagger, text)
    assert (bad, err) == (0, [])
    assert [o["id"] for o in out] == ["a", "b"]
    assert out[0]["actors"] == ["algeria", "morocco"]
    assert out[0]["categories"] == ["diplomatic_rupture"]
    assert out[1] == {"id": "b", "actors": [], "categories": [], "matches": []}
    first = out[0]["matches"][0]
    assert first == {
        "rule": "algeria.name",
        "kind": "actor",
        "target": "algeria",
        "field": "title",
        "start": 0,
        "end": 7,
        "text": "Algeria",
    }


def test_offsets_in_output_point_into_input(tagger: Tagger) -> None:
    summary = "Le Front Polisario accuse l’armée marocaine d’attaques près de Guerguerat"
    bad, out, _ = run(tagger, line(id="x", title="", summary=summary, lang="fr"))
    assert bad == 0
    matches = out[0]["matches"]
    assert isinstance(matches, list) and matches
    for m in matches:
        assert summary[m["start"] : m["end"]] == m["text"]


MALFORMED = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object, got a list"),
    ('"just a string"', "expected a JSON object, got a string"),
    ('{"title": "t", "summary": "s"}', '"id" is missing'),
    ('{"id": 7, "title": "t", "summary": "s"}', '"id" must be a string, got a number'),
    ('{"id": "k", "summary": "s"}', '"title" is missing'),
    ('{"id": "k", "title": null, "summary": "s"}', '"title" must be a string, got null'),
    ('{"id": "k", "title": "t", "summary": ["s"]}', '"summary" must be a string, got a list'),
    ('{"id": "k", "title": "t", "summary": "s", "lang": 3}', '"lang" must be a string'),
]


@pytest.mark.parametrize(("bad_line", "reason"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_malformed_line_is_reported_and_the_run_goes_on(
    tagger: Tagger, bad_line: str, reason: str
) -> None:
    text = (
        line(id="before", title="Morocco", summary="")
        + bad_line
        + "\n"
        + line(id="after", title="Algeria", summary="")
    )
    bad, out, err = run(tagger, text)
    assert bad == 1
    assert len(err) == 1 and err[0].startswith("line 2: ") and reason in err[0]
    assert len(out) == 3 and out[0]["id"] == "before"
    assert out[1]["line"] == 2 and reason in str(out[1]["error"])
    assert out[2]["id"] == "after" and out[2]["actors"] == ["algeria"]


def test_malformed_line_keeps_a_known_id(tagger: Tagger) -> None:
    _, out, _ = run(tagger, '{"id": "k1", "title": 5, "summary": ""}\n')
    assert out == [{"id": "k1", "line": 1, "error": '"title" must be a string, got a number'}]


def test_blank_lines_are_skipped_and_order_is_kept(tagger: Tagger) -> None:
    ids = [f"item-{i}" for i in range(30)]
    body = "".join(line(id=i, title="Israel", summary="") + "\n  \n" for i in ids)
    bad, out, err = run(tagger, "\ufeff" + body)
    assert (bad, err) == (0, [])
    assert [o["id"] for o in out] == ids


def test_line_numbers_count_blank_lines(tagger: Tagger) -> None:
    bad, _, err = run(tagger, "\n\n{oops\n" + line(id="a", title="", summary="") + "[]\n")
    assert bad == 2
    assert [e.split(":")[0] for e in err] == ["line 3", "line 5"]


def test_real_files(tagger: Tagger, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        line(id="ar", title="الجزائر تقطع العلاقات مع المغرب", summary="", lang="ar")
        + "not json\n",
        encoding="utf-8",
    )
    out_path, err_path = tmp_path / "out.jsonl", tmp_path / "err.txt"
    with (
        source.open(encoding="utf-8") as stdin,
        out_path.open("w", encoding="utf-8") as stdout,
        err_path.open("w", encoding="utf-8") as stderr,
    ):
        bad = tag_jsonl_stream(tagger, stdin, stdout, stderr)
    assert bad == 1
    records = [json.loads(x) for x in out_path.read_text(encoding="utf-8").splitlines()]
    assert records[0]["actors"] == ["algeria", "morocco"]
    assert records[0]["categories"] == ["diplomatic_rupture"]
    assert records[1]["error"].startswith("not valid JSON")
    assert err_path.read_text(encoding="utf-8").startswith("line 2: not valid JSON")
    assert "الجزائر" in out_path.read_text(encoding="utf-8")  # not \u-escaped
