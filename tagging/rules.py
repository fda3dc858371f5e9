"""Loading and validating a rules file (format described in ``docs/rules.md``).

``load_rules(path)`` returns a ``RuleSet`` or raises ``model.RulesError``
listing every problem of the file at once, each with its line, the rule (or
key) concerned and what is wrong: YAML syntax, unknown keys, wrong types,
empty terms, misplaced wildcards, unknown taxonomy ids or context names,
duplicate rule ids, weights that are not numbers.

The version of a rules file is the sha256 of its bytes (first 16 hex
characters): any edit, even a comment, is a new version, so a stored tag
always points at the exact text that produced it.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from yaml.nodes import MappingNode, Node, SequenceNode

from model import RuleProblem, RulesError
from tagging import yamltree as yt
from tagging.ruleset import ACTOR, CATEGORY, Context, Rule, RuleSet, Term
from tagging.taxonomy import SEEDED_ACTORS, SEEDED_CATEGORIES, SEEDED_WEIGHTS
from tagging.terms import TermError, compile_term
from tagging.yamltree import Problems

FORMAT = 1
TOP_KEYS = ("format", "declare", "contexts", "scoring", "actors", "categories")
SCORING_KEYS = ("title_factor", "summary_decay")
DECLARE_KEYS = ("actors", "categories")
ACTOR_KEYS = ("rules", "note")
CATEGORY_KEYS = ("weight", "requires_actor", "rules", "note")
RULE_KEYS = (
    "id",
    "terms",
    "cased",
    "except",
    "unless",
    "unless_near",
    "only_with",
    "only_near",
    "within",
    "requires_actor",
    "strict_lang",
    "note",
)
RULE_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*\Z")
TAXONOMY_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
LANG = re.compile(r"[a-z]{2,3}\Z")
DEFAULT_WITHIN = 3  # words
DEFAULT_TITLE_FACTOR = 2.0
DEFAULT_SUMMARY_DECAY = 0.5


def load_rules(path: str | os.PathLike[str]) -> RuleSet:
    """Load and validate the rules file at ``path``; ``RulesError`` lists every problem."""
    where = Path(path)
    try:
        data = where.read_bytes()
    except OSError as e:
        reason = f"cannot read the rules file: {e.strerror or e}"
        raise RulesError(str(where), [RuleProblem(0, "file", reason)]) from e
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        problem = RuleProblem(line, "file", f"not UTF-8 text (byte {e.start})")
        raise RulesError(str(where), [problem]) from e
    return parse_rules(source, where, hashlib.sha256(data).hexdigest()[:16])


def parse_rules(source: str, path: Path, version: str | None = None) -> RuleSet:
    """Validate rules text; ``path`` names it in messages (the rule tester passes its own)."""
    if version is None:
        version = hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]
    reader = _Reader()
    root = yt.compose(source, reader.problems)
    if root is None and not reader.problems.items:
        reader.problems.add(1, "file", "the rules file is empty")
    rules: tuple[Rule, ...] = ()
    if root is not None:
        rules = reader.read(root)
    if reader.problems.items:
        raise RulesError(str(path), reader.problems.sorted())
    return RuleSet(
        path=path,
        source=source,
        version=version,
        rules=rules,
        contexts=tuple(reader.contexts.values()),
        actor_ids=reader.actor_ids,
        category_ids=reader.category_ids,
        weights=reader.weights,
        title_factor=reader.title_factor,
        summary_decay=reader.summary_decay,
    )


class _Reader:
    """One validation pass over the node tree; problems accumulate, nothing raises."""

    def __init__(self) -> None:
        self.problems = Problems()
        self.contexts: dict[str, Context] = {}
        self.rule_lines: dict[str, int] = {}
        self.actor_ids: tuple[str, ...] = SEEDED_ACTORS
        self.category_ids: tuple[str, ...] = SEEDED_CATEGORIES
        self.weights: dict[str, float] = dict(SEEDED_WEIGHTS)
        self.title_factor = DEFAULT_TITLE_FACTOR
        self.summary_decay = DEFAULT_SUMMARY_DECAY

    def read(self, root: Node) -> tuple[Rule, ...]:
        items = yt.mapping(root, "top level", self.problems)
        yt.check_keys(items, TOP_KEYS, "top level", self.problems)
        top = {key: value for key, _, value in items}
        self._format(top.get("format"), root)
        if "declare" in top:
            self._declare(top["declare"])
        if "contexts" in top:
            self._contexts(top["contexts"])
        if "scoring" in top:
            self._scoring(top["scoring"])
        rules: list[Rule] = []
        if "actors" in top:
            rules += self._section(top["actors"], ACTOR)
        if "categories" in top:
            rules += self._section(top["categories"], CATEGORY)
        return tuple(rules)

    def _format(self, node: Node | None, root: Node) -> None:
        if node is None:
            self.problems.add(root, "format", f"missing 'format: {FORMAT}' at the top level")
            return
        value = yt.text(node, "format", "format", self.problems)
        if value is not None and value != str(FORMAT):
            reason = f"unsupported format {value!r}; this tensionwatch reads format {FORMAT}"
            self.problems.add(node, "format", reason)

    def _declare(self, node: Node) -> None:
        items = yt.mapping(node, "declare", self.problems)
        yt.check_keys(items, DECLARE_KEYS, "declare", self.problems)
        for key, _, value in items:
            seeded = SEEDED_ACTORS if key == "actors" else SEEDED_CATEGORIES
            known = list(seeded)
            for name, name_node in yt.text_list(value, "declare", key, self.problems):
                where = f"declare.{key}"
                if not TAXONOMY_ID.match(name):
                    reason = f"'{name}' is not a valid id (lower-case letters, digits, _)"
                    self.problems.add(name_node, where, reason)
                elif name in known:
                    self.problems.add(name_node, where, f"'{name}' is already known")
                else:
                    known.append(name)
            if key == "actors":
                self.actor_ids = tuple(known)
            elif key == "categories":
                self.category_ids = tuple(known)

    def _scoring(self, node: Node) -> None:
        items = yt.mapping(node, "scoring", self.problems)
        yt.check_keys(items, SCORING_KEYS, "scoring", self.problems)
        for key, _, value in items:
            if key not in SCORING_KEYS:
                continue
            number = yt.number(value, "scoring", key, self.problems)
            if number is None:
                continue
            if key == "title_factor":
                if number <= 0:
                    reason = f"title_factor must be above 0, got {number:g}"
                    self.problems.add(value, "scoring", reason)
                self.title_factor = number
            elif key == "summary_decay":
                if number < 0:
                    reason = f"summary_decay must be 0 or more, got {number:g}"
                    self.problems.add(value, "scoring", reason)
                self.summary_decay = number

    def _contexts(self, node: Node) -> None:
        for name, name_node, value in yt.mapping(node, "contexts", self.problems):
            where = f"context {name}"
            if not TAXONOMY_ID.match(name):
                reason = "context names are lower-case letters, digits and _"
                self.problems.add(name_node, where, reason)
            terms = self._terms(value, where, "terms", cased=False)
            if not terms:
                self.problems.add(name_node, where, "a context needs at least one term")
            self.contexts[name] = Context(name, yt.line_of(name_node), tuple(terms))

    def _section(self, node: Node, kind: str) -> list[Rule]:
        section = "actors" if kind == ACTOR else "categories"
        known = self.actor_ids if kind == ACTOR else self.category_ids
        rules: list[Rule] = []
        for target, target_node, value in yt.mapping(node, section, self.problems):
            where = f"{section}.{target}"
            if target not in known:
                declared_as = f"declare.{section}"
                reason = (
                    f"unknown {kind} id '{target}': not in TAXONOMY.md and not declared "
                    f"under {declared_as}"
                )
                self.problems.add(target_node, where, reason)
            rules += self._group(value, kind, target, where)
        return rules

    def _group(self, node: Node, kind: str, target: str, where: str) -> list[Rule]:
        items = yt.mapping(node, where, self.problems)
        yt.check_keys(items, ACTOR_KEYS if kind == ACTOR else CATEGORY_KEYS, where, self.problems)
        group = {key: value for key, _, value in items}
        weight = 0.0
        requires_actor = False
        if kind == CATEGORY:
            if "weight" in group:
                weight = yt.number(group["weight"], where, "weight", self.problems) or 0.0
            elif target in SEEDED_WEIGHTS:
                weight = SEEDED_WEIGHTS[target]
            else:
                self.problems.add(node, where, "a declared category needs a weight")
            self.weights[target] = weight
            if "requires_actor" in group:
                flag = yt.boolean(group["requires_actor"], where, "requires_actor", self.problems)
                requires_actor = bool(flag)
        if "note" in group:
            yt.text(group["note"], where, "note", self.problems)
        if "rules" not in group:
            return []
        rule_nodes = group["rules"]
        if not isinstance(rule_nodes, SequenceNode):
            self.problems.add(
                rule_nodes, where, f"rules must be a list, got {yt.shape(rule_nodes)}"
            )
            return []
        out: list[Rule] = []
        for index, rule_node in enumerate(rule_nodes.value):
            rule = self._rule(rule_node, kind, target, weight, requires_actor, f"{where}[{index}]")
            if rule is not None:
                out.append(rule)
        return out

    def _rule(
        self, node: Node, kind: str, target: str, weight: float, requires_actor: bool, where: str
    ) -> Rule | None:
        start = len(self.problems.items)
        items = yt.mapping(node, where, self.problems)
        fields = {key: value for key, _, value in items}
        rule_id = self._rule_id(fields.get("id"), node, where)
        if rule_id:
            where = f"rule {rule_id}"
        yt.check_keys(items, RULE_KEYS, where, self.problems)
        before = len(self.problems.items)
        terms = self._terms(fields.get("terms"), where, "terms", cased=False)
        terms += self._terms(fields.get("cased"), where, "cased", cased=True)
        if not terms and len(self.problems.items) == before and isinstance(node, MappingNode):
            self.problems.add(node, where, "a rule needs at least one term (terms or cased)")
        excepts = self._terms(fields.get("except"), where, "except", cased=False)
        unless = self._contexts_ref(fields, "unless", where)
        unless_near = self._contexts_ref(fields, "unless_near", where)
        only_with = self._contexts_ref(fields, "only_with", where)
        only_near = self._contexts_ref(fields, "only_near", where)
        within = DEFAULT_WITHIN
        if "within" in fields:
            within = yt.positive_int(fields["within"], where, "within", self.problems) or 1
            if "unless_near" not in fields and "only_near" not in fields:
                reason = "within only applies to unless_near and only_near"
                self.problems.add(fields["within"], where, reason)
        if "requires_actor" in fields:
            flag = yt.boolean(fields["requires_actor"], where, "requires_actor", self.problems)
            requires_actor = bool(flag)
            if kind == ACTOR:
                reason = "requires_actor only applies to category rules"
                self.problems.add(fields["requires_actor"], where, reason)
        strict = False
        if "strict_lang" in fields:
            strict = bool(yt.boolean(fields["strict_lang"], where, "strict_lang", self.problems))
        note = ""
        if "note" in fields:
            note = yt.text(fields["note"], where, "note", self.problems) or ""
        if len(self.problems.items) > start or not rule_id:
            return None
        return Rule(
            id=rule_id,
            kind=kind,
            target=target,
            line=yt.line_of(node),
            weight=weight if kind == CATEGORY else 0.0,
            terms=tuple(terms),
            excepts=tuple(excepts),
            unless=unless,
            unless_near=unless_near,
            only_with=only_with,
            only_near=only_near,
            within=within,
            requires_actor=requires_actor and kind == CATEGORY,
            strict_lang=strict,
            note=note,
        )

    def _rule_id(self, node: Node | None, rule_node: Node, where: str) -> str | None:
        if node is None:
            if isinstance(rule_node, MappingNode):
                self.problems.add(rule_node, where, "the rule has no id")
            return None
        rule_id = yt.text(node, where, "id", self.problems)
        if rule_id is None:
            return None
        if not RULE_ID.match(rule_id):
            reason = f"rule id '{rule_id}' must be lower-case letters, digits, '.', '_' or '-'"
            self.problems.add(node, where, reason)
            return None
        line = yt.line_of(node)
        if rule_id in self.rule_lines:
            first = self.rule_lines[rule_id]
            self.problems.add(node, f"rule {rule_id}", f"duplicate rule id (first on line {first})")
            return None
        self.rule_lines[rule_id] = line
        return rule_id

    def _terms(self, node: Node | None, where: str, what: str, cased: bool) -> list[Term]:
        if node is None:
            return []
        terms: list[Term] = []
        for lang, lang_node, value in yt.mapping(node, f"{where}: {what}", self.problems):
            if not LANG.match(lang):
                reason = f"{what}: '{lang}' is not a language code (en, fr, ar, es, he...)"
                self.problems.add(lang_node, where, reason)
                continue
            for index, (raw, term_node) in enumerate(
                yt.text_list(value, where, f"{what}.{lang}", self.problems)
            ):
                try:
                    patterns = compile_term(raw)
                except TermError as e:
                    self.problems.add(term_node, where, f"{what}.{lang}[{index}]: {e}")
                    continue
                terms.append(Term(raw, lang, yt.line_of(term_node), cased, patterns))
        return terms

    def _contexts_ref(self, fields: dict[str, Node], key: str, where: str) -> tuple[str, ...]:
        names: list[str] = []
        if key not in fields:
            return ()
        for name, name_node in yt.text_list(fields[key], where, key, self.problems):
            if name in self.contexts:
                names.append(name)
            else:
                known = ", ".join(self.contexts) or "none defined"
                reason = f"{key}: unknown context '{name}' (contexts: {known})"
                self.problems.add(name_node, where, reason)
        return tuple(names)
