"""Benchmark: the Aho-Corasick tagger against one regular expression per term.

Builds 50,000 news-like items (English, French, Spanish, Arabic) from word
lists with a fixed seed and times, over every item, ours against the naive
approach in the same run:

1. normalise + match (the measure of the issue): fold title and summary
   (``tagging.text.normalise_text``) and find every term in them, ours with
   ``tagging.matcher.Matcher.scan`` (one automaton pass per field), the
   naive one with ``tagging.reference.RegexMatcher.find_hits`` (every term's
   own regex searched over every field); both must find exactly the same hits
   (slot and span) in every field;
2. full tagging: ``Tagger.tag`` end to end (folding, matching, vetoes,
   outermost matches, ``Match`` objects), ours and the same tagger fed by the
   one-regex-per-term matcher; both must give identical taggings.

    .venv/bin/python bench/tagging.py [--items 50000] [--naive-items N] [--rules FILE]
                                      [--repeat 3]

Times are wall-clock and process CPU time (other processes on the machine
slow the first, hardly the second); ratios are on CPU time. Each loop runs
``--repeat`` times and the fastest run counts, for both sides alike: on a
shared machine single runs of the same loop vary by 10% or more. The
tagger keeps small caches (characters folded, decisions per combination of
contexts found), so its later runs are warm, as in a running collector; each
run's CPU seconds are printed. Timed loops keep
no results (a collector tags an item, stores it and moves on); the naive
loops also hash each result for the comparison, which costs them under 1%.
With all 50,000 items the naive side takes a few minutes; ``--naive-items``
limits it (and the comparison) to the first N items.

Not part of the test suite; it prints figures and exits non-zero only if
the two approaches disagree.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is itself called tagging.py: run as a script, its own folder comes
# first on sys.path and would shadow the tagging package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from tagging import Tagger, load_rules  # noqa: E402
from tagging.matcher import Hit, Matcher  # noqa: E402
from tagging.reference import RegexMatcher  # noqa: E402
from tagging.text import normalise_text  # noqa: E402

WORDS = {
    "en": {
        "subjects": [
            "Morocco", "Algeria", "Israel", "the Polisario Front", "Rabat", "Algiers",
            "Washington", "Spain", "France", "the UN Security Council", "Tebboune",
            "King Mohammed VI", "the Moroccan army", "Algerian officials", "Brahim Ghali",
            "Benny Gantz", "the Sahrawi army", "Madrid", "Paris", "the European Union",
            "a regional analyst", "the football federation", "Egypt", "Tunisia", "Mauritania",
        ],
        "verbs": [
            "accuses", "condemns", "signs a defence pact with", "severs diplomatic ties with",
            "holds talks with", "warns", "recalls its ambassador from",
            "backs the autonomy plan of", "denies spying on", "restores relations with",
            "invests in", "plans a gas pipeline with", "reports attacks by", "meets",
            "welcomes", "praises", "beats", "hosts",
        ],
        "objects": [
            "over Western Sahara", "near Guerguerat", "after drone strikes near Mahbes",
            "amid Pegasus spyware claims", "in a World Cup qualifier", "ahead of the AFCON final",
            "at a concert in Rabat", "after the Al Haouz earthquake", "as tourists fill Merzouga",
            "on offshore exploration off Dakhla", "over the Maghreb-Europe pipeline",
            "as protesters rally against normalisation", "over a ceasefire proposal",
            "at the UN General Assembly", "over phosphate exports", "on Tuesday", "in a statement",
        ],
        "fillers": [
            "The ministry said in a statement that", "According to officials,",
            "Diplomats said", "Local media reported that", "Analysts noted that",
            "In a speech on Monday,", "Residents said", "A spokesman added that",
            "the situation remained calm", "prices rose sharply", "the region is watching closely",
            "the decision was expected", "several ministers attended", "markets reacted",
        ],
    },
    "fr": {
        "subjects": [
            "Le Maroc", "L'Algérie", "Israël", "Le Front Polisario", "Rabat", "Alger",
            "L'Espagne", "La France", "L'ONU", "Le roi Mohammed VI", "L’armée marocaine",
            "Les Lions de l'Atlas", "Le président Tebboune",
        ],
        "verbs": [
            "accuse", "condamne", "rompt ses relations avec", "signe un accord de défense avec",
            "rappelle son ambassadeur en", "dément avoir espionné", "soutient", "reçoit", "bat",
            "rétablit les relations avec", "investit au", "menace",
        ],
        "objects": [
            "au sujet du Sahara occidental", "près de Tifariti", "en demi-finale de la CAN",
            "lors d'un concert à Rabat", "après le séisme d'Al Haouz",
            "à propos du logiciel Pegasus", "dans le cadre du plan d'autonomie",
            "après des bombardements", "mardi",
        ],
        "fillers": [
            "Selon des sources diplomatiques,", "Le ministère a indiqué que",
            "la situation reste tendue", "les prix ont augmenté",
            "les observateurs restent prudents", "une délégation est attendue",
        ],
    },
    "es": {
        "subjects": [
            "Marruecos", "Argelia", "Israel", "El Frente Polisario", "España", "Pedro Sánchez",
            "El Gobierno de Sánchez", "La ONU", "Rabat",
        ],
        "verbs": [
            "acusa a", "condena a", "rompe relaciones con", "niega haber espiado a", "apoya a",
            "firma un acuerdo de defensa con", "restablece relaciones con", "invierte en",
        ],
        "objects": [
            "por el Sáhara Occidental", "tras el terremoto", "en los cuartos de final del Mundial",
            "por el gasoducto Medgaz", "cerca de Mahbes", "con la mediación de la ONU", "el martes",
        ],
        "fillers": [
            "Según fuentes diplomáticas,", "El ministerio indicó que", "la tensión aumenta",
            "los precios subieron", "la delegación llegará mañana",
        ],
    },
    "ar": {
        "subjects": [
            "المغرب", "الجزائر", "إسرائيل", "جبهة البوليساريو", "الرباط", "وزير الخارجية الجزائري",
            "الملك محمد السادس", "الأمم المتحدة", "أسود الأطلس",
        ],
        "verbs": [
            "يتهم", "تدين", "تقطع العلاقات الدبلوماسية مع", "يوقع اتفاقية تعاون عسكري مع",
            "ينفي التجسس على", "يستقبل", "يفوز على", "تعلن هجمات على",
        ],
        "objects": [
            "بشأن الصحراء الغربية", "قرب الكركرات", "في نصف النهائي", "بعد زلزال الحوز",
            "حول برنامج التجسس بيغاسوس", "والبوليساريو", "بالجزائر", "للمغرب",
        ],
        "fillers": [
            "وقالت مصادر دبلوماسية إن", "وأعلنت الوزارة أن", "الوضع لا يزال متوترا",
            "وارتفعت الأسعار", "ويتابع المراقبون التطورات",
        ],
    },
}  # fmt: skip


def _sentence(rng: random.Random, w: dict[str, list[str]]) -> str:
    parts = ("fillers", "subjects", "verbs", "subjects", "objects")
    return " ".join(rng.choice(w[part]) for part in parts)


def make_items(count: int, seed: int = 20211123) -> list[tuple[str, str, str]]:
    """``count`` items ``(title, summary, lang)``, the same for the same seed."""
    rng = random.Random(seed)
    langs = ["en"] * 5 + ["fr"] * 2 + ["es"] + ["ar"] * 2
    items = []
    for _ in range(count):
        lang = rng.choice(langs)
        w = WORDS[lang]
        title = " ".join(
            [rng.choice(w["subjects"]), rng.choice(w["verbs"]), rng.choice(w["subjects"])]
        )
        if rng.random() < 0.5:
            title += " " + rng.choice(w["objects"])
        summary = ". ".join(_sentence(rng, w) for _ in range(rng.randint(2, 4))) + "."
        items.append((title, summary, lang))
    return items


class Timing:
    """Wall-clock and CPU seconds of a timed loop over ``items`` items: the fastest of
    ``repeat`` runs of it (as ``timeit`` reports, the run least slowed by other work
    on the machine), each run printed."""

    def __init__(self, label: str, items: int, work: Callable[[], object], repeat: int = 1) -> None:
        runs = []
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            work()
            runs.append((time.process_time() - cpu, time.perf_counter() - wall))
        self.cpu, self.wall = min(runs)
        self.items = items
        every = "" if repeat == 1 else "  (runs: " + ", ".join(f"{c:.2f}" for c, _ in runs) + ")"
        print(
            f"{label:<40} {items:>7,} items {self.wall:8.2f} s wall {self.rate_wall:>9,.0f}/s"
            f" {self.cpu:8.2f} s CPU {self.rate:>9,.0f}/s{every}"
        )

    @property
    def rate(self) -> float:
        """Items per CPU second."""
        return self.items / self.cpu

    @property
    def rate_wall(self) -> float:
        return self.items / self.wall


def hit_digest(hits: list[Hit]) -> int:
    return hash(tuple(sorted(hits)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument(
        "--naive-items", type=int, default=None, help="items for the naive side (default: all)"
    )
    parser.add_argument("--rules", type=Path, default=ROOT / "seeds" / "rules.yaml")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each timed loop; the fastest is kept"
    )
    args = parser.parse_args(argv)

    rules = load_rules(args.rules)
    patterns = sum(len(t.patterns) for r in rules.rules for t in r.terms + r.excepts)
    patterns += sum(len(t.patterns) for c in rules.contexts for t in c.terms)
    print(f"rules {rules.path} (version {rules.version})")
    print(f"{rules.rule_count} rules, {patterns} term patterns (terms, except phrases, contexts)")
    items = make_items(args.items)
    chars = sum(len(t) + len(s) for t, s, _ in items)
    print(f"{len(items):,} items, {chars / len(items):.0f} characters on average (title + summary)")
    naive_items = items[: args.naive_items] if args.naive_items else items
    matcher, naive = Matcher(rules), RegexMatcher(rules)
    tagger, naive_tagger = Tagger(rules), Tagger(rules, finder=RegexMatcher(rules))
    fields = [x for t, s, _ in items for x in ((0, t), (1, s))]  # (field, text)
    naive_fields = fields[: 2 * len(naive_items)]

    def match_ours() -> None:
        for title, summary, _ in items:
            matcher.scan((normalise_text(title).text, normalise_text(summary).text), ([], [], []))

    naive_hits: list[int] = []

    def match_naive() -> None:
        naive_hits.clear()
        for _, text in naive_fields:
            naive_hits.append(hit_digest(naive.find_hits(normalise_text(text).text)))

    naive_taggings: list[int] = []

    def tag_ours() -> None:
        for title, summary, lang in items:
            tagger.tag(title, summary, lang)

    def tag_naive() -> None:
        naive_taggings.clear()
        for title, summary, lang in naive_items:
            naive_taggings.append(hash(naive_tagger.tag(title, summary, lang)))

    print("\n1. normalise + match")
    ours_match = Timing("ours: fold + automaton scan", len(items), match_ours, args.repeat)
    naive_match = Timing(
        "naive: fold + one regex per term", len(naive_items), match_naive, args.repeat
    )
    ours_hits = [hit_digest(matcher.find_hits(normalise_text(t).text)) for _, t in naive_fields]
    hits = sum(len(matcher.find_hits(normalise_text(t).text)) for _, t in naive_fields)
    differing = [i for i, d in enumerate(naive_hits) if d != ours_hits[i]]
    print(f"compared {len(naive_fields):,} fields, {hits:,} hits: {len(differing)} differ")
    for i in differing[:5]:
        print("  differs:", naive_fields[i][1][:120])

    print("\n2. full tagging (Tagger.tag)")
    ours_tag = Timing("ours: Tagger.tag", len(items), tag_ours, args.repeat)
    naive_tag = Timing(
        "naive: Tagger.tag, one regex per term", len(naive_items), tag_naive, args.repeat
    )
    ours_taggings = [hash(tagger.tag(t, s, lang)) for t, s, lang in naive_items]
    matches = sum(len(tagger.tag(t, s, lang).matches) for t, s, lang in naive_items)
    other = [i for i, d in enumerate(naive_taggings) if d != ours_taggings[i]]
    print(f"compared {len(naive_items):,} taggings, {matches:,} matches: {len(other)} differ")
    for i in other[:5]:
        print("  differs:", naive_items[i][0][:120])

    same = "yes" if not differing and not other else "NO"
    print(
        f"\nsummary: {patterns} patterns, {len(items):,} items; identical matches and taggings"
        f" on {len(naive_items):,} items: {same}"
    )
    for name, ours_t, naive_t in (
        ("normalise + match", ours_match, naive_match),
        ("full tagging", ours_tag, naive_tag),
    ):
        print(
            f"  {name:<18} ours {ours_t.rate:>8,.0f} items/s CPU ({ours_t.rate_wall:,.0f} wall),"
            f" naive {naive_t.rate:>6,.0f} items/s CPU ({naive_t.rate_wall:,.0f} wall),"
            f" ratio {ours_t.rate / naive_t.rate:.1f}x"
        )
    return 1 if differing or other else 0


if __name__ == "__main__":
    sys.exit(main())
