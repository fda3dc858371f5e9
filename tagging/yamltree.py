"""Reading a YAML node tree while collecting every problem with its line.

The rules loader composes the file into nodes (``yaml.compose``) rather than
Python objects, so every value still knows the line it was written on. The
helpers here read those nodes as the types the rules file expects; a value
of the wrong shape is recorded in ``Problems`` (line, where, what is wrong)
and reported as missing, so one pass finds every problem in the file.

Scalars that hold text (terms, ids) are read as written: ``no``, ``on`` or
``2021`` in a term list are the words themselves, not YAML booleans or numbers.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from model import RuleProblem

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class Problems:
    """Every problem found so far, in file order once sorted."""

    def __init__(self) -> None:
        self.items: list[RuleProblem] = []

    def add(self, at: Node | int, where: str, reason: str) -> None:
        self.items.append(RuleProblem(line_of(at), where, reason))

    def sorted(self) -> list[RuleProblem]:
        return sorted(self.items, key=lambda p: p.line)


def line_of(at: Node | int) -> int:
    """1-based line of a node (or a line number passed through)."""
    return at if isinstance(at, int) else at.start_mark.line + 1


# libyaml's loader builds the same nodes (values, tags, start lines) ten times
# faster; without libyaml, PyYAML has only its own
_FAST_LOADER: type[yaml.CSafeLoader] | None = getattr(yaml, "CSafeLoader", None)


def compose(text: str, problems: Problems) -> Node | None:
    """The node tree of ``text``, or None with the syntax error recorded.

    Composed by libyaml when PyYAML has it; a file libyaml rejects is composed
    again by the Python loader, whose messages the problems quote.
    """
    if _FAST_LOADER is not None:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        problems.add(line, "yaml", f"YAML syntax error: {e.problem or e.context}")
    except yaml.YAMLError as e:
        problems.add(1, "yaml", f"YAML error: {e}")
    return None


def mapping(node: Node, where: str, problems: Problems) -> list[tuple[str, Node, Node]]:
    """``(key, key node, value node)`` of a mapping; duplicate and non-text keys are problems."""
    if not isinstance(node, MappingNode):
        problems.add(node, where, f"expected a mapping (key: value), got {shape(node)}")
        return []
    items: list[tuple[str, Node, Node]] = []
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            problems.add(key_node, where, f"keys must be plain text, got {shape(key_node)}")
            continue
        key = str(key_node.value)
        if key in seen:
            problems.add(key_node, where, f"duplicate key '{key}' (first on line {seen[key]})")
            continue
        seen[key] = line_of(key_node)
        items.append((key, key_node, value_node))
    return items


def check_keys(
    items: Iterable[tuple[str, Node, Node]], allowed: Iterable[str], where: str, problems: Problems
) -> None:
    """Record every key of ``items`` that is not ``allowed``, suggesting a near spelling."""
    known = sorted(allowed)
    for key, key_node, _ in items:
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "expected one of: " + ", ".join(known)
        problems.add(key_node, where, f"unknown key '{key}' ({hint})")


def shape(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return "nothing"
    return f"'{node.value}'"


def text(node: Node, where: str, what: str, problems: Problems) -> str | None:
    """A scalar read as the text written; None (recorded) for lists, mappings, nulls."""
    if isinstance(node, ScalarNode) and node.tag != _NULL:
        return str(node.value)
    problems.add(node, where, f"{what} must be text, got {shape(node)}")
    return None


def text_list(node: Node, where: str, what: str, problems: Problems) -> list[tuple[str, Node]]:
    """Items of a list (or a single scalar) as ``(text, node)``; nulls come back as ''."""
    if isinstance(node, ScalarNode):
        return [("" if node.tag == _NULL else str(node.value), node)]
    if not isinstance(node, SequenceNode):
        problems.add(node, where, f"{what} must be a list, got {shape(node)}")
        return []
    out: list[tuple[str, Node]] = []
    for item in node.value:
        if isinstance(item, ScalarNode):
            out.append(("" if item.tag == _NULL else str(item.value), item))
        else:
            problems.add(item, where, f"{what}: each entry must be text, got {shape(item)}")
    return out


def _construct(node: ScalarNode) -> object:
    try:
        return SafeConstructor().construct_object(node, deep=True)
    except (ConstructorError, ValueError):
        return None


def boolean(node: Node, where: str, what: str, problems: Problems) -> bool | None:
    if isinstance(node, ScalarNode) and node.tag == _BOOL:
        value = _construct(node)
        if isinstance(value, bool):
            return value
    problems.add(node, where, f"{what} must be true or false, got {shape(node)}")
    return None


def number(node: Node, where: str, what: str, problems: Problems) -> float | None:
    if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
        value = _construct(node)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    problems.add(node, where, f"{what} must be a number, got {shape(node)}")
    return None


def positive_int(node: Node, where: str, what: str, problems: Problems) -> int | None:
    if isinstance(node, ScalarNode) and node.tag == _INT:
        value = _construct(node)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    problems.add(node, where, f"{what} must be a whole number above 0, got {shape(node)}")
    return None
