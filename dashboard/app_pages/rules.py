"""Rules: the rule lab. Try any text; edit a draft of the rules, backtest it on stored
items against the current rules, and save it only when it validates."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import markup, queries, rulelab
from storage.rulelab_queries import LabItem
from tagging import Tagger, load_rules
from tensionwatch.config import load_settings

LANGS = {"": "unknown", "en": "English", "fr": "French", "ar": "Arabic", "es": "Spanish"}

rules_path = Path(load_settings().rules)
path = str(queries.database_path())


@st.cache_resource(show_spinner="Compiling the rules…", max_entries=4)
def current_tagger(rules_file: str, stamp: tuple[int, int]) -> Tagger:
    return Tagger(load_rules(rules_file))


@st.cache_data(ttl=300, show_spinner="Reading stored items…", max_entries=8)
def lab_items(database: str, stamp: tuple[int, ...], days: int | None) -> list[LabItem]:
    return rulelab.load_lab_items(database, days)


stat = rules_path.stat()
tagger = current_tagger(str(rules_path), (stat.st_mtime_ns, stat.st_size))

st.title("Rules")
st.caption(
    f"Rules file `{rules_path}` · version {tagger.version} · {tagger.rules.rule_count} rules. "
    "The format is described in docs/rules.md."
)
try_tab, draft_tab = st.tabs(["Try a text", "Draft and backtest"])

with try_tab:
    st.markdown("Paste a headline and a summary: see the labels, the words and the rules.")
    title = st.text_area("Title", key="lab_title", height=68)
    summary = st.text_area("Summary", key="lab_summary", height=120)
    lang = st.selectbox(
        "Language", list(LANGS), key="lab_lang", format_func=lambda code: LANGS[code]
    )
    if title.strip() or summary.strip():
        explained = rulelab.explain_text(tagger, title, summary, lang)
        actors = ", ".join(explained.actors) or "none"
        categories = ", ".join(explained.categories) or "none"
        st.markdown(f"**Actors**: {markup.escape_markdown(actors)}")
        st.markdown(f"**Categories**: {markup.escape_markdown(categories)}")
        with st.container(border=True):
            st.markdown(explained.title_marked or "*(no title)*")
            st.markdown(explained.summary_marked or "*(no summary)*")
        if explained.matches.empty:
            st.info("No rule fires on this text.")
        else:
            st.dataframe(explained.matches, hide_index=True, key="lab_matches")

with draft_tab:
    st.markdown(
        "Edit a draft of the rules, then **Backtest** it on stored items: what it adds and "
        "drops per label against the current rules. **Save** writes the rules file only if "
        "the draft validates."
    )
    draft = st.text_area(
        "Draft rules (YAML)", value=tagger.rules.source, height=420, key="lab_draft"
    )
    period_column, dyad_column = st.columns(2)
    period = period_column.selectbox("Period", list(rulelab.PERIODS), key="lab_period")
    dyad = dyad_column.selectbox("Dyad", rulelab.dyad_options(tagger.rules), key="lab_dyad")
    check_column, test_column, save_column = st.columns(3)
    check = check_column.button("Check", key="lab_check", icon=":material/fact_check:")
    test = test_column.button(
        "Backtest", key="lab_backtest", type="primary", icon=":material/science:"
    )
    save = save_column.button("Save rules", key="lab_save", icon=":material/save:")

    if check or test:
        draft_rules, problems = rulelab.check_draft(draft, rules_path)
        if draft_rules is None:
            st.error(f"The draft has {len(problems)} problem(s); nothing was run.")
            st.code("\n".join(problems), language=None)
        elif check:
            st.success(f"The draft is valid: {draft_rules.rule_count} rules.")
        else:
            items = lab_items(path, rulelab.database_stamp(path), rulelab.PERIODS[period])
            result = rulelab.backtest(tagger, Tagger(draft_rules), items, dyad or "")
            st.subheader(f"Backtest on {result.items:,} stored items")
            if result.changes.empty or not (
                result.changes["added"].any() or result.changes["dropped"].any()
            ):
                st.info("The draft tags these items exactly as the current rules do.")
            st.dataframe(result.changes, hide_index=True, key="lab_changes")
            if not result.samples.empty:
                st.markdown("**Samples** (the words that decided)")
                st.dataframe(result.samples, hide_index=True, key="lab_samples")
            st.markdown(f"**{markup.escape_markdown(result.dyad)}**: items per week")
            st.line_chart(result.series)

    if save:
        problems = rulelab.save_rules(rules_path, draft)
        if problems:
            st.error(f"Not saved: the draft has {len(problems)} problem(s).")
            st.code("\n".join(problems), language=None)
        else:
            current_tagger.clear()
            st.success(
                "Saved. The collector applies the new rules at its next poll; "
                "`tensionwatch retag` re-applies them to stored items."
            )
