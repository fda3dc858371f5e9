"""Keyword tagging: the rules file's model and validation, and the compiled matcher.

Public API::

    rules = load_rules(path)            # model.RulesError lists every problem
    tagger = Tagger(rules)              # compiles every term once
    tagging = tagger.tag(title, summary, lang="")   # -> model.Tagging
    bad = tag_jsonl_stream(tagger, stdin, stdout, stderr)

The rules file format is described in ``docs/rules.md``.
"""

from tagging.jsonl import tag_jsonl_stream
from tagging.rules import load_rules, parse_rules
from tagging.ruleset import Context, Rule, RuleSet, Term
from tagging.tagger import Tagger

__all__ = [
    "Context",
    "Rule",
    "RuleSet",
    "Tagger",
    "Term",
    "load_rules",
    "parse_rules",
    "tag_jsonl_stream",
]
