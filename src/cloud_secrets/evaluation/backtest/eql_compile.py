"""EQL (Elasticsearch syntax) to Python predicates and a sequence specification.

Parsed with Elastic's `eql` library (`cloud_secrets.rules.syntax.parse_eql`); the AST is compiled into
closures once, with Elasticsearch's semantics where they differ from the library's evaluator:

- `==` and `in` compare keywords case-sensitively (the library folds case); `:` is case-insensitive
  (https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-syntax.html#eql-syntax-operators).
- A term test on a multi-valued field holds when any value matches (Elasticsearch runs it as a term query).
- `!=` and `not` behave as a `must_not` clause: a missing field is "not equal".
- The library drops two markers the parse tree cannot carry, so the query text is checked for them:
  `?field` (optional field: a null join key still joins) and the `~` case-insensitive operator variants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import eql

from ...assets.rules.syntax import QuerySyntaxError, parse_eql
from ...errors import UserError
from ...fieldpath import Getter, compile_getter, recording
from . import conditions as c

_OPTIONAL = re.compile(r"\?([A-Za-z_@][\w.@]*)")
_INSENSITIVE_OPS = re.compile(r"\b(?:in|like|regex)~")
_LIKE = re.compile(r"\blike\b", re.IGNORECASE)


@dataclass
class Stage:
    condition: int  # index into SequenceSpec.conditions (identical stages share one)
    keys: list[Getter]
    optional: list[bool]
    names: list[str] = field(default_factory=list)


@dataclass
class SequenceSpec:
    """A sequence (or, with one stage and no keys, a plain event query)."""

    conditions: list[c.Predicate]
    stages: list[Stage]
    maxspan_ms: int | None
    until: Stage | None
    literals: c.Literals
    key_names: list[str] = field(default_factory=list)
    is_sequence: bool = True
    fields: frozenset[str] = frozenset()  # every field the query reads


class _Compiler:
    def __init__(self, case_insensitive_wildcards: bool) -> None:
        self.ci = case_insensitive_wildcards

    def expr(self, node: Any) -> tuple[c.Predicate, c.Literals]:
        if isinstance(node, eql.ast.And):
            parts = [self.expr(t) for t in node.terms]
            return c.all_of([p for p, _ in parts]), c.literals_all([lit for _, lit in parts])
        if isinstance(node, eql.ast.Or):
            parts = [self.expr(t) for t in node.terms]
            return c.any_of([p for p, _ in parts]), c.literals_any([lit for _, lit in parts])
        if isinstance(node, eql.ast.Not):
            pred, _ = self.expr(node.term)
            return c.negate(pred), None
        if isinstance(node, eql.ast.Boolean):
            return c.constant(bool(node.value)), None if node.value else frozenset()
        if isinstance(node, eql.ast.IsNull):
            return c.negate(c.exists(self.getter(node.expr))), None
        if isinstance(node, eql.ast.IsNotNull):
            return c.exists(self.getter(node.expr)), None
        if isinstance(node, eql.ast.InSet):
            values = [self.literal(v) for v in node.container]
            return c.in_set(self.getter(node.expression), frozenset(values)), _strings(values)
        if isinstance(node, eql.ast.Comparison):
            return self.comparison(node)
        if isinstance(node, eql.ast.FunctionCall) and node.name == "wildcard":
            get = self.getter(node.arguments[0])
            patterns = [self.literal(a) for a in node.arguments[1:]]
            if not all(isinstance(p, str) for p in patterns):
                raise UserError(f"EQL: pattern of {node.render()} must be a string")
            return c.wildcard(get, patterns, self.ci), None
        raise UserError(f"EQL: the backtest does not evaluate {type(node).__name__} ({node.render()})")

    def comparison(self, node: Any) -> tuple[c.Predicate, c.Literals]:
        left, op, right = node.left, node.comparator, node.right
        if not isinstance(left, eql.ast.Field):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if not isinstance(left, eql.ast.Field):
            raise UserError(f"EQL: comparison {node.render()} needs a field on one side")
        value = self.literal(right)
        get = self.getter(left)
        if op == "==":
            return c.in_set(get, frozenset([value])), _strings([value])
        if op == "!=":
            return c.negate(c.in_set(get, frozenset([value]))), None
        return c.compare(get, op, value), None

    @staticmethod
    def getter(node: Any) -> Getter:
        if not isinstance(node, eql.ast.Field):
            raise UserError(f"EQL: expected a field, got {node.render()}")
        return compile_getter(node.render())

    @staticmethod
    def literal(node: Any) -> Any:
        if isinstance(node, (eql.ast.String, eql.ast.Number, eql.ast.Boolean)):
            return node.value
        raise UserError(f"EQL: expected a literal value, got {node.render()}")


def _strings(values: list[Any]) -> c.Literals:
    return c.whole(values)


def _event_type(event_type: str) -> tuple[c.Predicate | None, c.Literals]:
    if event_type == "any":
        return None, None
    return c.in_set(compile_getter("event.category"), frozenset([event_type])), frozenset([event_type])


@lru_cache(maxsize=64)
def compile_eql(query: str) -> SequenceSpec:
    """Compile an EQL query of the rule pack's subset: event queries and sequences (by, maxspan, runs, until).

    Compiled once per query text: a spec is never changed by the matchers that use it."""
    with recording() as reads:
        spec = _compile(query)
    spec.fields = frozenset(reads)
    return spec


def _compile(query: str) -> SequenceSpec:
    if _INSENSITIVE_OPS.search(query):
        raise UserError("EQL: the case-insensitive operators (in~, like~, regex~) are not supported by the backtest")
    try:
        tree = parse_eql(query)
    except QuerySyntaxError as err:
        raise UserError(f"EQL: {err}") from None
    if tree.pipes:
        raise UserError("EQL: pipes are not supported by the backtest")
    ci = not _LIKE.search(query)  # `:` is case-insensitive; `like` (the library parses both as wildcard) is not
    compiler = _Compiler(case_insensitive_wildcards=ci)
    optional = set(_OPTIONAL.findall(query))
    first = tree.first
    rendered: dict[str, int] = {}
    conditions: list[c.Predicate] = []
    literal_sets: list[c.Literals] = []

    def stage(sub: Any, join: list[Any]) -> Stage:
        query_node = sub if isinstance(sub, eql.ast.EventQuery) else sub.query
        key = query_node.render()
        if key not in rendered:
            pred, lits = compiler.expr(query_node.query)
            category, cat_lits = _event_type(query_node.event_type)
            if category is not None:
                pred = c.all_of([category, pred])
                lits = c.literals_all([lits, cat_lits])
            rendered[key] = len(conditions)
            conditions.append(pred)
            literal_sets.append(lits)
        names = [f.render() for f in join]
        return Stage(rendered[key], [compile_getter(n) for n in names], [n in optional for n in names], names)

    if isinstance(first, eql.ast.EventQuery):
        s = stage(first, [])
        return SequenceSpec(conditions, [s], None, None, literal_sets[0], [], is_sequence=False)
    if not isinstance(first, eql.ast.Sequence):
        raise UserError(f"EQL: the backtest runs event queries and sequences, not {type(first).__name__}")
    stages = [stage(sub, sub.join_values) for sub in first.queries]
    until = stage(first.close, first.close.join_values) if first.close is not None else None
    maxspan = first.max_span.as_milliseconds() if first.max_span is not None else None
    key_names = [f.render() for f in first.queries[0].join_values]
    literals = c.literals_any(literal_sets)  # every stage's events, and the until events, must get through
    return SequenceSpec(conditions, stages, int(maxspan) if maxspan else None, until, literals, key_names)
