"""Benchmark: the Aho-Corasick tagger against one regular expression per term.

Builds ~50,000 news-like items (English, French, Spanish, Arabic) from word
lists with a fixed seed, folds them once, then times over the same folded
text:

- ``automaton``: ``tagging.matcher.Matcher.scan`` (one pass per field);
- ``naive``: ``tagging.reference.RegexMatcher.find_hits`` (every term's own
  regex scanned over every field);

checks that both return exactly the same hits for every field; then times
the whole ``Tagger.tag`` (folding, matching, vetoes, matches) end to end,
ours and the same tagger fed by the one-regex-per-term matcher, and checks
that both give identical taggings.

    .venv/bin/python bench/tagging.py [--items 50000] [--naive-items 2000] [--rules FILE]

The naive matcher runs on the first ``--naive-items`` items only (it needs
about a quarter of an hour for all 50,000); its rate is per item on that
subset, and hits and taggings are compared on those items.

Not part of the test suite; it prints figures and exits non-zero only if
the two matchers disagree.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is itself called tagging.py: run as a script, its own folder comes
# first on sys.path and would shadow the tagging package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from model import Tagging  # noqa: E402
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


def timed(label: str, items: int, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    print(f"{label:<34} {seconds:8.2f} s  {items / seconds:>10,.0f} items/s")
    return seconds


def find_all(finder: Matcher | RegexMatcher, texts: Sequence[str]) -> list[list[Hit]]:
    return [finder.find_hits(text) for text in texts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument(
        "--naive-items",
        type=int,
        default=2_000,
        help="items for the naive matcher, which runs ~400x slower (default 2000)",
    )
    parser.add_argument("--rules", type=Path, default=ROOT / "seeds" / "rules.yaml")
    args = parser.parse_args(argv)

    rules = load_rules(args.rules)
    patterns = sum(len(t.patterns) for r in rules.rules for t in r.terms + r.excepts)
    patterns += sum(len(t.patterns) for c in rules.contexts for t in c.terms)
    print(f"rules {rules.path} (version {rules.version})")
    print(f"{rules.rule_count} rules, {patterns} term patterns (terms, except phrases, contexts)")

    start = time.perf_counter()
    items = make_items(args.items)
    print(f"generated {len(items):,} items in {time.perf_counter() - start:.2f} s")
    chars = sum(len(t) + len(s) for t, s, _ in items)
    print(f"average item: {chars / len(items):.0f} characters (title + summary)\n")

    start = time.perf_counter()
    matcher = Matcher(rules)
    print(f"compile automaton                  {time.perf_counter() - start:8.3f} s")
    start = time.perf_counter()
    naive = RegexMatcher(rules)
    print(f"compile one regex per pattern      {time.perf_counter() - start:8.3f} s\n")

    folded: list[str] = []
    timed(
        "fold (normalise) title + summary",
        len(items),
        lambda: folded.extend(normalise_text(x).text for t, s, _ in items for x in (t, s)),
    )
    fast = timed(
        "automaton: scan (what Tagger uses)",
        len(items),
        lambda: [matcher.scan(text, 0, ([], [], [])) for text in folded],
    )
    naive_count = min(args.naive_items, len(items))
    # for the comparison, the automaton's finds as Hits, like the naive matcher's
    fast_hits = find_all(matcher, folded[: 2 * naive_count])
    naive_hits: list[list[Hit]] = []
    slow = timed(
        "naive regex per term: find hits",
        naive_count,
        lambda: naive_hits.extend(find_all(naive, folded[: 2 * naive_count])),
    )
    tagger = Tagger(rules)
    taggings: list[Tagging] = []
    ours = timed(
        "Tagger.tag end to end (ours)",
        len(items),
        lambda: taggings.extend(tagger.tag(t, s, lang) for t, s, lang in items),
    )
    naive_tagger = Tagger(rules, finder=RegexMatcher(rules))
    naive_taggings: list[Tagging] = []
    naive_full = timed(
        "Tagger.tag, one regex per term",
        naive_count,
        lambda: naive_taggings.extend(
            naive_tagger.tag(t, s, lang) for t, s, lang in items[:naive_count]
        ),
    )

    ours_rate = len(items) / ours
    naive_rate = naive_count / naive_full
    print(
        f"\nfull tagging: ours {ours_rate:,.0f} items/s on {len(items):,} items; "
        f"naive {naive_rate:,.0f} items/s on the first {naive_count:,} "
        f"(per-item rate, extrapolated to the whole set: {len(items) / naive_rate:,.1f} s)"
    )
    print(f"full tagging is {ours_rate / naive_rate:.1f}x the one-regex-per-term tagger")
    per_item_fast = fast / len(items)
    per_item_slow = slow / naive_count
    print(f"matching alone: automaton {per_item_slow / per_item_fast:.0f}x one regex per term")
    differing = [i for i in range(len(naive_hits)) if sorted(fast_hits[i]) != sorted(naive_hits[i])]
    total = sum(len(h) for h in naive_hits)
    print(f"compared {len(naive_hits):,} fields, {total:,} hits: {len(differing)} differ")
    for i in differing[:5]:
        print("  differs:", folded[i][:120])
    other = [i for i, t in enumerate(naive_taggings) if t != taggings[i]]
    matches = sum(len(t.matches) for t in naive_taggings)
    print(f"compared {len(naive_taggings):,} taggings, {matches:,} matches: {len(other)} differ")
    for i in other[:5]:
        print("  differs:", items[i][0][:120])
    return 1 if differing or other else 0


if __name__ == "__main__":
    sys.exit(main())
