"""Building blocks shared by the EQL and Lucene compilers: predicates over one field's values.

A field's value is None (missing), a scalar, or a list (multi-valued). A term-level test on a
multi-valued field matches when any value matches, as a term query does in Elasticsearch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ...fieldpath import Getter

Predicate = Callable[[dict[str, Any]], bool]


def in_set(get: Getter, values: frozenset[Any]) -> Predicate:
    """Exact (case-sensitive) membership, like a `terms` query on a keyword field."""
    def test(doc: dict[str, Any]) -> bool:
        v = get(doc)
        if v is None:
            return False
        if type(v) is list:
            return any(x in values for x in v if type(x) is not dict)
        return v in values

    return test


def wildcard(get: Getter, patterns: list[str], case_insensitive: bool) -> Predicate:
    """`*` and `?` patterns (a `wildcard` query); other characters literal."""
    regex = re.compile(
        "|".join("(?:" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p) + ")"
                 for p in patterns),
        re.IGNORECASE | re.DOTALL if case_insensitive else re.DOTALL,
    )
    full = regex.fullmatch

    def test(doc: dict[str, Any]) -> bool:
        v = get(doc)
        if v is None:
            return False
        vs = v if type(v) is list else [v]
        return any(type(x) is str and full(x) is not None for x in vs)

    return test


def compare(get: Getter, op: str, literal: Any) -> Predicate:
    """<, <=, >, >= against a literal; values of another type never match."""
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }
    fn = ops[op]
    numeric = isinstance(literal, (int, float)) and not isinstance(literal, bool)

    def test(doc: dict[str, Any]) -> bool:
        v = get(doc)
        if v is None:
            return False
        for x in v if type(v) is list else [v]:
            if numeric and isinstance(x, (int, float)) and not isinstance(x, bool) and fn(x, literal):
                return True
            if not numeric and type(x) is str and type(literal) is str and fn(x, literal):
                return True
        return False

    return test


def exists(get: Getter) -> Predicate:
    return lambda doc: get(doc) is not None


def all_of(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda doc: a(doc) and b(doc)
    return lambda doc: all(p(doc) for p in preds)


def any_of(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    return lambda doc: any(p(doc) for p in preds)


def negate(pred: Predicate) -> Predicate:
    return lambda doc: not pred(doc)


def constant(value: bool) -> Predicate:
    return lambda doc: value


class Whole(str):
    """A literal that is a field's whole string value (a keyword term), not a part of one. In a JSON line it
    stands between quotes: `"read"` is not found in `"read_only":false`, so its needle is the quoted form
    (prefilter.py). Never equal to the plain literal, so a set holding both keeps both requirements."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is Whole and str.__eq__(self, other)

    def __hash__(self) -> int:
        return hash(("whole", str(self)))


def whole(values: Iterable[Any]) -> Literals:
    """The string values as whole-value literals (None unless all are non-empty strings)."""
    values = list(values)
    if values and all(type(v) is str and v for v in values):
        return frozenset(Whole(v) for v in values)
    return None


# Literal strings a line must contain for a condition to hold (None: no such requirement known).
Literals = frozenset[str] | None


def literals_all(parts: list[Literals]) -> Literals:
    """For AND: any one child's requirement is enough. Take the one with the longest literals on average
    (long literals such as API method names are rarer in a line than short ones such as dataset names)."""
    known = [p for p in parts if p is not None]
    if not known:
        return None
    return max(known, key=lambda s: sum(len(x) for x in s) / max(len(s), 1))


def literals_any(parts: list[Literals]) -> Literals:
    """For OR: every branch needs its own literal."""
    if any(p is None for p in parts):
        return None
    out: set[str] = set()
    for p in parts:
        out |= p  # type: ignore[operator]
    return frozenset(out)
