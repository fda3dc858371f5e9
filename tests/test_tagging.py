"""Tagging against the seeded rules: the seed article, labelled cases, traps, offsets.

Each table case is ``(name, text, actors, categories)``: the first line of
``text`` is the title, the rest the summary. The expected labels follow
``shared/TAXONOMY.md``'s conventions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model import Tagging
from tagging import RuleSet, Tagger, load_rules
from tagging.matcher import Matcher
from tagging.reference import RegexMatcher
from tagging.taxonomy import SEEDED_ACTORS, SEEDED_CATEGORIES, SEEDED_WEIGHTS
from tagging.text import normalise_text

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "seeds" / "rules.yaml"
PARAPHRASE = REPO / "seeds" / "seed_paraphrase.txt"
ORIGINAL = REPO.parent / "shared" / "seeds" / "000_53f5005e8be909a9.txt"

SEED_ACTORS = (
    "algeria",
    "france",  # President Macron, the alleged spyware target
    "israel",
    "morocco",
    "palestine",  # Palestinian officials spied on; the cause of the rally
    "polisario",
    "united_states",  # Washington brokered the deal and recognised the claim
    "western_sahara",
)
SEED_CATEGORIES = (
    "accusation_threat",
    "defence_cooperation",
    "diplomatic_rupture",
    "economic_energy",
    "military_violence",
    "normalisation_cooperation",
    "protest_unrest",
    "sovereignty_dispute",
    "surveillance_espionage",
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES)


@pytest.fixture(scope="module")
def tagger(rules: RuleSet) -> Tagger:
    return Tagger(rules)


def tag_text(tagger: Tagger, text: str, lang: str = "") -> Tagging:
    title, _, summary = text.partition("\n")
    return tagger.tag(title, summary, lang)


def assert_spans_hold(text: str, tagging: Tagging) -> None:
    title, _, summary = text.partition("\n")
    for m in tagging.matches:
        original = title if m.field == "title" else summary
        assert original[m.start : m.end] == m.text, m


@pytest.mark.parametrize(
    "path",
    [
        PARAPHRASE,
        pytest.param(
            ORIGINAL,
            marks=pytest.mark.skipif(not ORIGINAL.exists(), reason="shared seed not present"),
        ),
    ],
    ids=["paraphrase", "original"],
)
def test_seed_article(tagger: Tagger, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tagging = tag_text(tagger, text, "en")
    assert tagging.actors == SEED_ACTORS
    assert tagging.categories == SEED_CATEGORIES
    assert "mediation_deescalation" not in tagging.categories
    assert_spans_hold(text, tagging)


def test_paraphrase_is_not_the_article() -> None:
    if not ORIGINAL.exists():
        pytest.skip("shared seed not present")
    ours = PARAPHRASE.read_text(encoding="utf-8")
    theirs = ORIGINAL.read_text(encoding="utf-8")
    assert 0.8 < len(ours) / len(theirs) < 1.25
    words = theirs.split()
    shared = [
        " ".join(words[i : i + 8])
        for i in range(len(words) - 7)
        if " ".join(words[i : i + 8]) in ours
    ]
    assert shared == []  # no run of eight words copied


CASES = [
    # --- English ---
    (
        "en_severed_ties",
        "Algeria severs diplomatic ties with Morocco over 'hostile acts'",
        ["algeria", "morocco"],
        ["accusation_threat", "diplomatic_rupture"],
    ),
    (
        "en_polisario_shelling",
        "Polisario says its fighters shelled Moroccan army positions near Mahbes",
        ["morocco", "polisario", "western_sahara"],
        ["military_violence"],
    ),
    (
        "en_drone_strike_capital_as_government",
        "Moroccan drone strike kills three Algerian truck drivers, Algiers says",
        ["algeria", "morocco"],
        ["military_violence"],
    ),
    (
        "en_denial_keeps_the_category",
        "Morocco denies buying spyware\nRabat says it never acquired Pegasus.",
        ["morocco"],
        ["accusation_threat", "surveillance_espionage"],
    ),
    (
        "en_recognition_and_reaction",
        "US recognises Moroccan sovereignty over Western Sahara; Polisario condemns the move",
        ["morocco", "polisario", "united_states", "western_sahara"],
        ["accusation_threat", "sovereignty_dispute"],
    ),
    (
        "en_spain_backs_plan",
        "Spain backs Morocco's autonomy plan for Western Sahara",
        ["morocco", "spain", "western_sahara"],
        ["sovereignty_dispute"],
    ),
    (
        "en_un_envoy_talks",
        "UN envoy Staffan de Mistura holds talks with Polisario leader Brahim Ghali",
        ["polisario", "united_nations"],
        ["mediation_deescalation"],
    ),
    (
        "en_un_not_under",
        "Under pressure, lawmakers pass the budget\nThe understanding was reached in Rabat.",
        [],
        [],
    ),
    (
        "en_gaza_solidarity_rally",
        "Thousands rally in Rabat in solidarity with Gaza",
        ["palestine"],
        ["protest_unrest"],
    ),
    (
        "en_private_firm_not_state",
        "Israeli firm NSO sued by Apple over spyware",
        [],
        ["surveillance_espionage"],
    ),
    (
        "en_gas_contract",
        "Algeria will not renew the Maghreb-Europe gas pipeline contract via Morocco",
        ["algeria", "morocco"],
        ["economic_energy"],
    ),
    (
        "en_capitals_headline",
        "ALGERIA RECALLS ITS AMBASSADOR FROM MADRID",
        ["algeria", "spain"],
        ["diplomatic_rupture"],
    ),
    (
        "en_capitals_us",
        "US RECOGNISES MOROCCAN SOVEREIGNTY OVER WESTERN SAHARA",
        ["morocco", "united_states", "western_sahara"],
        ["sovereignty_dispute"],
    ),
    (
        "en_conflict_elsewhere",
        "Sudan: paramilitary shelling kills 40 in El Fasher market",
        [],
        ["military_violence"],
    ),
    (
        "en_treaty_suspended",
        "Algeria suspended the 2002 treaty of friendship with Spain on Wednesday",
        ["algeria", "spain"],
        ["diplomatic_rupture"],
    ),
    (
        "en_airspace_closed",
        "Algeria shut its airspace on Wednesday to all Moroccan civilian planes",
        ["algeria"],
        ["diplomatic_rupture"],
    ),
    (
        "en_coastguards_fire",
        "Algerian coastguards fired on four jet-skiers, killing two",
        ["algeria"],
        ["military_violence"],
    ),
    (
        "en_military_visit",
        "Israeli army chief makes first official visit to Morocco",
        ["israel", "morocco"],
        ["defence_cooperation"],
    ),
    (
        "en_referendum_in_a_sahara_story",
        "Polisario demands the referendum promised in 1991",
        ["polisario"],
        ["sovereignty_dispute"],
    ),
    # --- English traps ---
    (
        "en_trap_constitutional_referendum",
        "Algeria's constitutional referendum draws a low turnout",
        ["algeria"],
        [],
    ),
    (
        "en_trap_background_border",
        "Tebboune and the King exchange messages\nThe land border, shut since 1994, stays closed.",
        ["algeria"],
        [],
    ),
    (
        "en_trap_ceasefire_over",
        "Polisario says the 1991 ceasefire is over",
        ["polisario"],
        [],
    ),
    (
        "en_trap_party_name",
        "National Rally of Independents wins the vote",
        [],
        [],
    ),
    (
        "en_trap_verbal_attack",
        "MPs call the report an attack on the kingdom's sovereignty",
        [],
        ["sovereignty_dispute"],
    ),
    (
        "en_trap_football_attack",
        "Morocco's attack dazzles as the Atlas Lions beat Spain 3-0 at the World Cup",
        [],
        [],
    ),
    (
        "en_trap_algeria_clash_in_cairo",
        "Algeria clash with Egypt in Cairo for a place in the AFCON final",
        [],
        [],
    ),
    (
        "en_trap_earthquake_deaths",
        "Earthquake in Morocco's Al Haouz kills 2,900\nThousands were wounded in the villages.",
        [],
        [],
    ),
    (
        "en_trap_desert_tourism",
        "Record numbers of tourists ride camels across the Moroccan Sahara dunes near Merzouga",
        [],
        [],
    ),
    (
        "en_trap_concert_in_rabat",
        "Stromae plays to 50,000 fans at a concert in Rabat",
        [],
        [],
    ),
    ("en_trap_israel_first_name", "Israel Adesanya wins back his title in Perth", [], []),
    (
        "en_trap_talks_without_actor",
        "Real Madrid in talks with a Moroccan winger",
        [],
        [],
    ),
    (
        "en_trap_dakhla_camp",
        "Floods damage tents in the Dakhla camp near Tindouf",
        [],
        [],
    ),
    (
        "en_trap_dateline",
        "TEL AVIV (AFP) - A heatwave grips the coast",
        [],
        [],
    ),
    # --- French ---
    (
        "fr_rupture",
        "L'Algérie rompt ses relations diplomatiques avec le Maroc",
        ["algeria", "morocco"],
        ["diplomatic_rupture"],
    ),
    (
        "fr_missing_accents",
        "L'Algerie rappelle son ambassadeur en France",
        ["algeria", "france"],
        ["diplomatic_rupture"],
    ),
    (
        "fr_elision_and_adjective",
        "Le Polisario accuse l’armée marocaine d’avoir bombardé des civils près de Tifariti",
        ["morocco", "polisario", "western_sahara"],
        ["accusation_threat", "military_violence"],
    ),
    (
        "fr_defence_pact",
        "Israël et le Maroc signent un accord de défense à Rabat",
        ["israel", "morocco"],
        ["defence_cooperation"],
    ),
    (
        "fr_protest_against_normalisation",
        "Manifestation à Rabat contre la normalisation avec Israël",
        ["israel"],
        ["protest_unrest"],
    ),
    (
        "fr_capitals",
        "LE MAROC ET L'ESPAGNE RÉTABLISSENT LEURS RELATIONS",
        ["morocco", "spain"],
        ["normalisation_cooperation"],
    ),
    (
        "fr_trap_football",
        "Les Lions de l'Atlas dominent l'Algérie en demi-finale de la CAN",
        [],
        [],
    ),
    (
        "fr_trap_earthquake",
        "Séisme au Maroc : plus de 2 900 morts dans la province d'Al Haouz",
        [],
        [],
    ),
    (
        "fr_trap_cultural_event",
        "Une grande manifestation culturelle à Rabat pour le festival Mawazine",
        [],
        [],
    ),
    # --- Spanish ---
    (
        "es_treaty",
        "Argelia suspende el tratado de amistad con España por el Sáhara Occidental",
        ["algeria", "spain", "western_sahara"],
        ["diplomatic_rupture"],
    ),
    (
        "es_attack",
        "El Frente Polisario asegura haber atacado posiciones del ejército marroquí en Mahbes",
        ["morocco", "polisario", "western_sahara"],
        ["military_violence"],
    ),
    (
        "es_spying_denial",
        "Pegasus: Marruecos niega haber espiado el teléfono de Pedro Sánchez",
        ["morocco", "spain"],
        ["accusation_threat", "surveillance_espionage"],
    ),
    (
        "es_restored_relations",
        "Marruecos e Israel restablecen relaciones diplomáticas",
        ["israel", "morocco"],
        ["normalisation_cooperation"],
    ),
    (
        "es_missing_accents",
        "Argelia cierra su espacio aereo a los aviones marroquies",
        ["algeria"],
        ["diplomatic_rupture"],
    ),
    (
        "es_trap_football",
        "Marruecos elimina a España en los cuartos de final del Mundial",
        [],
        [],
    ),
    (
        "es_trap_earthquake",
        "Un terremoto en Marruecos deja más de 2.000 muertos",
        [],
        [],
    ),
    # --- Arabic ---
    (
        "ar_rupture",
        "الجزائر تقطع العلاقات الدبلوماسية مع المغرب",
        ["algeria", "morocco"],
        ["diplomatic_rupture"],
    ),
    (
        "ar_attached_prefixes",
        "وزير الخارجية الجزائري يتهم المغرب بالتصعيد، والبوليساريو تعلن هجمات جديدة",
        ["algeria", "morocco", "polisario"],
        ["accusation_threat", "military_violence"],
    ),
    (
        "ar_lil_prefix_and_capital",
        "دعم الجزائر للبوليساريو يثير غضب الرباط",
        ["algeria", "morocco", "polisario"],
        [],
    ),
    (
        "ar_spyware_denial",
        "المغرب ينفي استخدام برنامج التجسس بيغاسوس",
        ["morocco"],
        ["accusation_threat", "surveillance_espionage"],
    ),
    (
        "ar_tashkeel",
        "المَغْرِبُ وإسْرائِيلُ يُوَقِّعَانِ اتِّفَاقِيَّةَ تَعَاوُنٍ عَسْكَرِيٍّ",
        ["israel", "morocco"],
        ["defence_cooperation"],
    ),
    (
        "ar_end_of_ceasefire",
        "البوليساريو تعلن إنهاء وقف إطلاق النار",
        ["polisario"],
        [],
    ),
    (
        "ar_trap_football",
        "أسود الأطلس يفوزون على الجزائر في نصف النهائي",
        [],
        [],
    ),
    (
        "ar_trap_earthquake",
        "زلزال الحوز: ارتفاع عدد القتلى في المغرب إلى 2900",
        [],
        [],
    ),
    (
        "ar_trap_arab_maghreb",
        "قمة اتحاد المغرب العربي تؤجل مرة أخرى",
        [],
        [],
    ),
    # --- host states of diplomatic posts; titles and venues (traps) ---
    (
        "en_host_of_recalled_ambassador",
        "Algeria recalls its ambassador to Paris for consultations",
        ["algeria", "france"],
        ["diplomatic_rupture"],
    ),
    (
        "fr_host_of_new_embassy",
        "Israël va ouvrir une ambassade au Maroc\nLe bureau de liaison sera rehaussé.",
        ["israel", "morocco"],
        ["normalisation_cooperation"],
    ),
    (
        "es_host_of_recalled_ambassador",
        "Argelia retira a su embajador en Madrid",
        ["algeria", "spain"],
        ["diplomatic_rupture"],
    ),
    (
        "ar_host_of_recalled_ambassador",
        "الجزائر تستدعي سفيرها في باريس للتشاور",
        ["algeria", "france"],
        ["diplomatic_rupture"],
    ),
    (
        "en_trap_embassy_as_venue",
        "Reception at the embassy in Madrid celebrates national day",
        [],
        [],
    ),
    (
        "en_trap_ambassador_to_the_un_is_a_title",
        "Algeria's ambassador to the UN opens a photography exhibition",
        [],
        [],
    ),
    (
        "fr_trap_court_in_the_capital",
        "Le tribunal de Paris juge un ancien maire pour fraude",
        [],
        [],
    ),
    (
        "es_adjective_next_to_a_military_act",
        "Manifestación en Sevilla contra los bombardeos israelíes",
        ["israel"],
        ["military_violence", "protest_unrest"],
    ),
    (
        "en_trap_state_not_acting",
        "Spain has not commented on the Tunisian election",
        [],
        [],
    ),
    (
        "fr_state_not_acting_beside_one_acting",
        "Le Maroc rompt ses relations avec l'Iran\nL'Algérie n'a pas réagi.",
        ["morocco"],
        ["diplomatic_rupture"],
    ),
    (
        "es_direct_flights_in_a_normalisation_package",
        "Marruecos e Israel inauguran vuelos directos entre Rabat y Tel Aviv",
        ["israel", "morocco"],
        ["normalisation_cooperation"],
    ),
    (
        "fr_trap_direct_flights_for_tourists",
        "Des vols directs amènent les touristes à Essaouira",
        [],
        [],
    ),
    (
        "ar_threat_of_punishment",
        "الجزائر: الاعتداء المغربي لن يمر دون عقاب",
        ["algeria"],
        ["accusation_threat"],
    ),
    (
        "en_goods_refused_at_the_ports",
        "Algeria refuses goods shipped from Morocco at its ports",
        ["algeria", "morocco"],
        ["economic_energy"],
    ),
    (
        "en_relations_back_to_normal",
        "Rabat says its relations with Madrid are back to normal",
        ["morocco", "spain"],
        ["normalisation_cooperation"],
    ),
    (
        "es_adjective_after_a_ministry",
        "El ministro de Exteriores argelino acusa a Marruecos de provocación",
        ["algeria", "morocco"],
        ["accusation_threat"],
    ),
    (
        "fr_envoy_visit",
        "Tebboune reçoit l'envoyé américain pour le Sahel",
        ["algeria", "united_states"],
        ["mediation_deescalation"],
    ),
    (
        "es_trap_hurricane_deaths",
        "Un huracán deja doce muertos en Cuba",
        [],
        [],
    ),
    (
        "en_trap_heat_in_a_country",
        "Extreme heat grips Algeria as temperatures pass 50C",
        [],
        [],
    ),
    (
        "fr_summoned_ambassador_acts_upon_the_state_he_represents",
        "Rabat convoque l'ambassadeur d'Espagne",
        ["morocco", "spain"],
        ["accusation_threat"],
    ),
    (
        "ar_expelled_ambassador_acts_upon_the_state_he_represents",
        "الجزائر تطرد السفير الفرنسي",
        ["algeria", "france"],
        ["diplomatic_rupture"],
    ),
    (
        "en_trap_ambassador_title_without_a_move",
        "Spain's ambassador opens a photography exhibition in Tangier",
        [],
        [],
    ),
    (
        "ar_trap_exhibition_in_the_capital",
        "مدريد تحتضن معرضا للفن المعاصر",
        [],
        [],
    ),
    (
        "fr_protest_against_the_war_is_a_grievance",
        "Des milliers de manifestants contre la guerre à Rabat",
        [],
        ["protest_unrest"],
    ),
    (
        "en_war_reported_is_violence",
        "Clashes between the Moroccan army and Polisario fighters near the berm",
        ["morocco", "polisario", "western_sahara"],
        ["military_violence"],
    ),
    # --- Hebrew ---
    (
        "he_defence_pact",
        "ישראל ומרוקו חתמו על הסכם שיתוף פעולה ביטחוני",
        ["israel", "morocco"],
        ["defence_cooperation"],
    ),
]


@pytest.mark.parametrize(("name", "text", "actors", "categories"), CASES, ids=[c[0] for c in CASES])
def test_case(
    tagger: Tagger, name: str, text: str, actors: list[str], categories: list[str]
) -> None:
    tagging = tag_text(tagger, text)
    assert (list(tagging.actors), list(tagging.categories)) == (actors, categories)
    assert_spans_hold(text, tagging)


# (text, rule, expected matched text) — offsets must point into the original text
SPANS = [
    ("والمغرب يرد", "morocco.name", "المغرب"),
    ("زيارة بالجزائر", "algeria.name", "الجزائر"),
    ("دعم للبوليساريو", "polisario.front", "للبوليساريو"),
    ("دعم فللبوليساريو", "polisario.front", "للبوليساريو"),
    ("l'Algérie proteste", "algeria.name", "Algérie"),
    ("l’Algerie proteste", "algeria.name", "Algerie"),
    ("la position d’Israël", "israel.name", "Israël"),
    ("ALGÉRIE : la présidence", "algeria.name", "ALGÉRIE"),
    ("Alge\u0301rie decomposed", "algeria.name", "Alge\u0301rie"),
    ("موقف المَغْرِبُ", "morocco.name", "المَغْرِبُ"),
    ("موقف المغــــرب", "morocco.name", "المغــــرب"),
    ("le Sahara-Occidental encore", "western_sahara.name", "Sahara-Occidental"),
    ("the Western\n  Sahara file", "western_sahara.name", "Western\n  Sahara"),
    ("Ｍｏｒｏｃｃｏ full width", "morocco.name", "Ｍｏｒｏｃｃｏ"),
    ("Morocco’s army", "morocco.name", "Morocco"),
    ("ישראל ובישראל", "israel.name", "ישראל"),
    # alef forms, ta marbuta, alef maqsura, each attached prefix (spans start after it)
    ("وإسرائيل ترد", "israel.name", "إسرائيل"),
    ("موقف اسرائيل", "israel.name", "اسرائيل"),
    ("موقف آسرائيل", "israel.name", "آسرائيل"),
    ("الامم المتحده تدعو", "united_nations.name", "الامم المتحده"),
    ("وفد الولايات المتحده", "united_states.name", "الولايات المتحده"),
    ("بيان الكيان الصهيونى", "israel.epithet", "الكيان الصهيونى"),
    ("فالمغرب يرد", "morocco.name", "المغرب"),
    ("بالمغرب", "morocco.name", "المغرب"),
    ("والمغرب", "morocco.name", "المغرب"),
    ("للمغرب", "morocco.name", "للمغرب"),
    ("وللمغرب", "morocco.name", "للمغرب"),
    ("لإسرائيل", "israel.name", "إسرائيل"),
    ("بإسرائيل", "israel.name", "إسرائيل"),
    ("والبوليساريو", "polisario.front", "البوليساريو"),
    ("بالبوليساريو", "polisario.front", "البوليساريو"),
    ("دعم للجزائر", "algeria.name", "للجزائر"),
    ("الكيان الصّهيونيّ", "israel.epithet", "الكيان الصّهيونيّ"),
]


@pytest.mark.parametrize(("text", "rule", "surface"), SPANS, ids=[s[0] for s in SPANS])
def test_offsets_point_into_the_original(
    tagger: Tagger, text: str, rule: str, surface: str
) -> None:
    tagging = tagger.tag("", text)
    found = [m for m in tagging.matches if m.rule == rule]
    assert found, tagging.matches
    for m in found:
        assert text[m.start : m.end] == m.text
    assert surface in [m.text for m in found]


WORD_BOUNDARIES = [
    "the undersecretary spoke",  # UN
    "Israelites in the story",  # Israel
    "a Moroccanist conference",  # Moroccan (adjective rule needs a state body anyway)
    "Algerians abroad",  # Algeria
    "the ghanaian minister",  # not a taxonomy id at all
    "la Marocaine des jeux",  # adjective without a state body
    "المغربي وحده",  # adjective without a state body
    "سالمغرب",  # س is not an attached prefix
    "المغربية",  # a longer word, not the name
]


@pytest.mark.parametrize("text", WORD_BOUNDARIES)
def test_no_match_inside_a_word(tagger: Tagger, text: str) -> None:
    assert tagger.tag(text, "").actors == ()


def test_cased_terms_need_their_capitals(tagger: Tagger) -> None:
    assert tagger.tag("Let us talk about it", "").actors == ()
    assert tagger.tag("The US talks about it", "").actors == ("united_states",)
    assert tagger.tag("A UN-brokered truce from 1991", "").actors == ()


def test_strict_lang_rule_follows_the_item_language(tagger: Tagger) -> None:
    text = "Une démonstration de force de l'armée"
    assert "protest_unrest" not in tagger.tag(text, "", "fr").categories
    english = "A demonstration outside the embassy"
    assert tagger.tag(english, "", "en-GB").categories == ("protest_unrest",)
    assert tagger.tag(english, "", "fr").categories == ()


def test_sentence_end_stops_the_window(tagger: Tagger) -> None:
    one = tagger.tag("", "The Moroccan army moved.")
    two = tagger.tag("", "He met officials. Moroccan food was served.")
    assert one.actors == ("morocco",)
    assert two.actors == ()


def test_match_fields(tagger: Tagger, rules: RuleSet) -> None:
    tagging = tagger.tag("Algeria accuses Morocco", "Rabat denies it")
    assert tagging.rules_version == rules.version
    by_rule = {(m.rule, m.field): m for m in tagging.matches}
    accuse = by_rule[("accusation_threat.accuse", "title")]
    assert (accuse.kind, accuse.target, accuse.weight) == ("category", "accusation_threat", 5.0)
    assert (accuse.start, accuse.end, accuse.text) == (8, 15, "accuses")
    rabat = by_rule[("morocco.capital", "summary")]
    assert (rabat.kind, rabat.target, rabat.weight, rabat.start) == ("actor", "morocco", 0.0, 0)
    assert list(tagging.matches) == sorted(
        tagging.matches, key=lambda m: (m.field != "title", m.start, m.end, m.rule)
    )


def test_nested_matches_of_one_rule_collapse(tagger: Tagger) -> None:
    tagging = tagger.tag("The Polisario Front said", "")
    assert [m.text for m in tagging.matches] == ["Polisario Front"]


def test_same_input_same_tagging(tagger: Tagger) -> None:
    text = PARAPHRASE.read_text(encoding="utf-8")
    assert tag_text(tagger, text) == tag_text(tagger, text)


def test_rules_cover_the_taxonomy(rules: RuleSet) -> None:
    assert rules.weights == SEEDED_WEIGHTS
    for target in SEEDED_ACTORS + SEEDED_CATEGORIES:
        langs = {t.lang for r in rules.rules if r.target == target for t in r.terms}
        assert {"en", "fr", "ar", "es"} <= langs, target
    ids = [r.id for r in rules.rules]
    assert len(ids) == len(set(ids))
    assert all(r.id.startswith(r.target + ".") for r in rules.rules)


def test_automaton_finds_what_one_regex_per_term_finds(rules: RuleSet) -> None:
    fast, slow = Matcher(rules), RegexMatcher(rules)
    texts = [c[1] for c in CASES] + [s[0] for s in SPANS] + WORD_BOUNDARIES
    texts.append(PARAPHRASE.read_text(encoding="utf-8"))
    for text in texts:
        folded = normalise_text(text).text
        assert sorted(fast.find_hits(folded)) == sorted(slow.find_hits(folded)), text


def test_normalised_text_maps_back() -> None:
    text = "L’ALGÉRIE  et\tl'Œuvre — ﬁn"
    folded = normalise_text(text)
    assert folded.text == "l'algerie et l'oeuvre fin"
    start = folded.text.index("oeuvre")
    s, e = folded.source_span(start, start + len("oeuvre"))
    assert text[s:e] == "Œuvre"
    start = folded.text.index("fin")
    s, e = folded.source_span(start, start + 3)
    assert text[s:e] == "ﬁn"


def test_fast_fold_equals_the_table_fold_for_every_character() -> None:
    # text.py lower-cases in C, then replaces what still changes; the per
    # character table (_FOLD) is the definition it must agree with
    from tagging.text import _FOLD, _fast_fold

    for code in range(0x30000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        c = chr(code)
        for text in (c, "Ab" + c + "é", c + c.upper()):
            fast = _fast_fold(text)
            if fast is not None:
                assert fast[0] == text.translate(_FOLD), hex(code)
                assert fast[1] == any(len(_FOLD[ord(x)]) != 1 for x in text), hex(code)


def test_sentence_ends_are_where_the_regex_matches() -> None:
    # text.sentence_ends finds ". " with str.find; SENTENCE_END is the definition
    import random

    from tagging.text import SENTENCE_END, sentence_ends

    rng = random.Random(11)
    for _ in range(20000):
        text = "".join(rng.choice("a.!?; \n") for _ in range(rng.randint(0, 12)))
        assert sentence_ends(text) == [m.start() for m in SENTENCE_END.finditer(text)], text


def test_offset_map_gives_each_folded_character_its_source() -> None:
    # text._origin maps only the characters that do not fold to exactly one; the
    # definition: character i of the text gives len(fold(character)) entries i
    import random

    from tagging.text import _FOLD, _FOLD_KEEP_CASE, _fold

    alphabet = ["a", "B", " ", "é", "É", "œ", "Œ", "ß", "ẞ", "ﬁ", "ǅ", "Ǆ", "ǆ", "ΐ"]
    alphabet += ["\u0301", "\u200d", "ـ", "ا", "َ", "ّ", "ﷺ", "İ", "x"]
    rng = random.Random(3)
    checked = 0
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for table in (_FOLD, _FOLD_KEEP_CASE):
            folded = _fold(text, table)
            expected = [i for i, c in enumerate(text) for _ in table[ord(c)]]
            if folded.origin is not None and "  " not in text.translate(table):
                assert list(folded.origin) == expected, text
                checked += 1
    assert checked > 10000


def test_ascii_text_folds_as_the_table_folds() -> None:
    # ASCII text takes its own path in text._fold; the table (_FOLD) is the definition
    from tagging.text import _FOLD, normalise_text

    for code in range(0x80):
        text = "Ab" + chr(code) + "Z"
        folded = normalise_text(text)
        assert folded.text == text.translate(_FOLD), hex(code)
        assert folded.origin is None


def test_distance_counts_the_words_of_text_word() -> None:
    """``_distance`` counts, between two spans, the words ``text.WORD`` lists."""
    import random
    from bisect import bisect_right

    from tagging.tagger import _distance, _Field
    from tagging.text import WORD, normalise_text

    rng = random.Random(7)
    pieces = ["a", "ab", "abc", "x1", "_", "é", "المغرب", "2021", " ", "  ", "-", "'", ", "]
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        f = _Field("summary", text, normalise_text(text))
        folded = f.folded.text
        if len(folded) < 2:
            continue
        starts = [m.start() for m in WORD.finditer(folded)]
        a_start = rng.randrange(len(folded) - 1)
        a_end = rng.randint(a_start + 1, len(folded))
        b_start = rng.randrange(len(folded) - 1)
        b_end = rng.randint(b_start + 1, len(folded))
        first, second = sorted([(a_start, a_end), (b_start, b_end)])
        expected = max(0, bisect_right(starts, second[0]) - bisect_right(starts, first[1] - 1))
        assert _distance(f, a_start, a_end, b_start, b_end) == expected
