"""Lucene query strings (the `query` of threshold and new_terms rules) to Python predicates.

Parsed with luqum (`cloud_secrets.rules.syntax.parse_lucene`). Fields are keywords in the rule pack, so a
term or phrase matches a value exactly and case-sensitively, and `*`/`?` make a case-sensitive wildcard
query, as the `query_string` query does on a keyword field. A bare term without a field, fuzzy and
proximity operators and boosts are refused rather than guessed. Implicit operators are OR (Lucene's
default operator).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from luqum import tree as lt

from ...assets.rules.syntax import QuerySyntaxError, parse_lucene
from ...errors import UserError
from ...fieldpath import compile_getter, recording
from . import conditions as c


class LuceneQuery(NamedTuple):
    predicate: c.Predicate
    literals: c.Literals
    fields: frozenset[str]  # every field the query reads


@lru_cache(maxsize=64)
def compile_lucene(query: str) -> LuceneQuery:
    try:
        node = parse_lucene(query)
    except QuerySyntaxError as err:
        raise UserError(f"Lucene: {err}") from None
    with recording() as reads:
        predicate, literals = _node(node, None)
    return LuceneQuery(predicate, literals, frozenset(reads))


def _term(node: Any) -> str:
    if isinstance(node, lt.Phrase):
        return node.value[1:-1].replace('\\"', '"')
    if isinstance(node, lt.Word):
        return node.value.replace("\\", "")
    raise UserError(f"Lucene: the backtest does not evaluate {node!r}")


def _value(text: str) -> list[Any]:
    """A term matches the keyword text and, when it reads as a number, the number."""
    out: list[Any] = [text]
    for kind in (int, float):
        try:
            out.append(kind(text))
            break
        except ValueError:
            continue
    return out


def _node(node: Any, field: str | None) -> tuple[c.Predicate, c.Literals]:
    if isinstance(node, (lt.AndOperation,)):
        parts = [_node(ch, field) for ch in node.children]
        return c.all_of([p for p, _ in parts]), c.literals_all([lit for _, lit in parts])
    if isinstance(node, (lt.OrOperation, lt.UnknownOperation)):
        parts = [_node(ch, field) for ch in node.children]
        return c.any_of([p for p, _ in parts]), c.literals_any([lit for _, lit in parts])
    if isinstance(node, (lt.Not, lt.Prohibit)):
        pred, _ = _node(node.a, field)
        return c.negate(pred), None
    if isinstance(node, lt.Plus):
        return _node(node.a, field)
    if isinstance(node, (lt.Group, lt.FieldGroup)):
        return _node(node.expr, field)
    if isinstance(node, lt.SearchField):
        if node.name == "_exists_":
            return c.exists(compile_getter(_term(node.expr))), None
        return _node(node.expr, node.name)
    if isinstance(node, lt.Range):
        if field is None:
            raise UserError("Lucene: a range needs a field")
        get = compile_getter(field)
        low, high = _value(_term(node.low))[-1], _value(_term(node.high))[-1]
        preds = []
        if _term(node.low) != "*":
            preds.append(c.compare(get, ">=" if node.include_low else ">", low))
        if _term(node.high) != "*":
            preds.append(c.compare(get, "<=" if node.include_high else "<", high))
        return c.all_of(preds or [c.exists(get)]), None
    if isinstance(node, (lt.Word, lt.Phrase)):
        if field is None:
            raise UserError(f"Lucene: term {node} has no field; the backtest needs field:value")
        text = _term(node)
        get = compile_getter(field)
        if isinstance(node, lt.Word) and text == "*":
            return c.exists(get), None
        if isinstance(node, lt.Word) and ("*" in node.value or "?" in node.value):
            return c.wildcard(get, [node.value], case_insensitive=False), None
        values = _value(text)  # a number's term may be an unquoted number in the line
        return c.in_set(get, frozenset(values)), (c.whole([text]) if len(values) == 1 else frozenset([text])) \
            if text else None
    raise UserError(f"Lucene: the backtest does not evaluate {type(node).__name__} ({node})")
