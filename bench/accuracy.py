"""Accuracy of the tagger on the hand-labelled items, dev and held-out parts.

    .venv/bin/python bench/accuracy.py [--rules FILE] [--misses dev|holdout]

Prints, for actors and for categories, precision, recall and F1 per label
and the macro-F1, on ``tests/data/labelled.jsonl`` (the dev part, looked at
while writing rules) and ``tests/data/labelled_holdout.jsonl`` (held out:
never tuned against). ``--misses dev`` lists the dev items where tagger and
labels disagree. Not part of the test suite (tests/test_accuracy.py asserts a
floor on the dev part).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from tagging import Tagger, load_rules  # noqa: E402
from tagging.evaluation import Evaluation, Scores, evaluate, load_labelled  # noqa: E402

PARTS = {
    "dev": ROOT / "tests" / "data" / "labelled.jsonl",
    "holdout": ROOT / "tests" / "data" / "labelled_holdout.jsonl",
}


def print_scores(title: str, scores: Scores) -> None:
    print(f"  {title:<28} {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}")
    for s in scores.labels:
        print(
            f"  {s.label:<28} {s.precision:6.2f} {s.recall:6.2f} {s.f1:6.2f}"
            f" {s.tp:4d} {s.fp:4d} {s.fn:4d}"
        )
    print(f"  {'macro-F1':<28} {'':>6} {'':>6} {scores.macro_f1:6.3f}\n")


def print_misses(result: Evaluation) -> None:
    for miss in result.misses:
        print(f"- {miss.item.id}: {miss.item.title}")
        print(f"    missing {list(miss.missing)} extra {list(miss.extra)}")
        for m in miss.tagging.matches:
            print(f"      {m.rule:<40} {m.field:<7} {m.text!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rules", type=Path, default=ROOT / "seeds" / "rules.yaml")
    parser.add_argument("--misses", choices=sorted(PARTS))
    args = parser.parse_args(argv)
    tagger = Tagger(load_rules(args.rules))
    print(f"rules {args.rules} (version {tagger.version})\n")
    results = {}
    for part, path in PARTS.items():
        items = load_labelled(path)
        traps = sum(i.trap for i in items)
        result = results[part] = evaluate(tagger, items)
        print(f"== {part}: {path.name}, {len(items)} items ({traps} traps)")
        print_scores("actors", result.actors)
        print_scores("categories", result.categories)
        exact = len(items) - len(result.misses)
        print(f"  items with exactly the labelled tags: {exact}/{len(items)}\n")
    print("summary (macro-F1)      actors  categories")
    for part, result in results.items():
        print(f"  {part:<22} {result.actors.macro_f1:6.3f}  {result.categories.macro_f1:10.3f}")
    if args.misses:
        print(f"\nmisses on {args.misses}:")
        print_misses(results[args.misses])
    return 0


if __name__ == "__main__":
    sys.exit(main())
