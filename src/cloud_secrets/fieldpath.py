"""Dotted field names in JSON documents, read the way Elasticsearch sees them, and written.

Elasticsearch flattens objects and arrays: `a.b` of `{"a": [{"b": 1}, {"b": [2, 3]}]}` has the values
1, 2 and 3, and a field whose value is `null` or `[]` is missing. Documents may also spell a field with a
dotted key (`{"a.b": 1}`); every spelling is read (shorter keys first). This module is the one definition of
a field's values: the compiled reader (native/src/flat.rs) computes the same for its flat documents
(`FlatDoc`), which the getters read with one lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

Getter = Callable[[Any], Any]

_recorders: list[set[str]] = []


class FlatDoc(dict[str, Any]):
    """A document read down to its fields: each key a dotted field name, each value what the field's getter
    returns for the whole document (one value, or a flat list of several; a missing field has no key).
    The compiled reader (native/) hands documents over in this shape; getters read a field of one with a
    single lookup, and read nested documents (the Python reader's, summary rows, alert documents) by
    walking them."""

    __slots__ = ()


@contextmanager
def recording() -> Iterator[set[str]]:
    """The paths `compile_getter` compiles inside the block: the fields a query compiled there reads, which
    the compiled reader parses and no others (see readers.py). Every compiler reads fields through getters."""
    seen: set[str] = set()
    _recorders.append(seen)
    try:
        yield seen
    finally:
        _recorders.remove(seen)


def values_of(doc: Any, path: str) -> list[Any]:
    """Every non-null value of `path` in `doc` (arrays flattened)."""
    value = doc.get(path) if type(doc) is FlatDoc else _cached_getter(path)(doc)
    if value is None:
        return []
    return value if type(value) is list else [value]


def first_value(doc: Any, path: str) -> Any:
    """The field's one value (the first of several), None when missing."""
    values = values_of(doc, path)
    return values[0] if values else None


def put_dotted(doc: dict[str, Any], name: str, value: Any) -> None:
    """Set `a.b.c` in nested objects (as a transform turns dotted names into objects); a dict value is merged
    key by key, each key taken as a dotted name."""
    *parents, leaf = name.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    if isinstance(value, dict):
        target = doc.setdefault(leaf, {})
        for k, v in value.items():
            put_dotted(target, k, v)
    else:
        doc[leaf] = value


def pop_nested(doc: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Remove `a.b.c` spelled as nested objects: (True, its value), or (False, None) when absent."""
    *parents, leaf = name.split(".")
    node: Any = doc
    for part in parents:
        node = node.get(part) if type(node) is dict else None
    if type(node) is dict and leaf in node:
        return True, node.pop(leaf)
    return False, None


def leaves(doc: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted name, value) for every leaf; arrays of scalars are one leaf, arrays of objects are walked."""
    if isinstance(doc, dict):
        out = []
        for key, value in doc.items():
            out.extend(leaves(value, f"{prefix}.{key}" if prefix else key))
        return out
    if isinstance(doc, list) and any(isinstance(v, dict) for v in doc):
        return [leaf for item in doc for leaf in leaves(item, prefix)]
    return [(prefix, doc)]


def compile_getter(path: str) -> Getter:
    """A function doc -> None (missing), a scalar (one value) or a list (several values), for a FlatDoc
    (one lookup) or a nested document.

    In a nested document the values are collected from every spelling of the path (`a.b.c`, `a` then `b.c`,
    `a.b` then `c`, ...), through arrays, in that order. Fast paths walk nested objects when no object on
    the way holds another spelling (a few key lookups); the general walk runs only when one does, or when an
    array is on the way.
    """
    for seen in _recorders:
        seen.add(path)
    parts = tuple(path.split("."))
    # per step of the walk: the part, and the keys spelling more than one part from there on (`b.c` for `b`)
    steps = tuple((part, tuple(".".join(parts[i:j]) for j in range(i + 2, len(parts) + 1)))
                  for i, part in enumerate(parts))
    slow, leaf, flat = _slow, _leaf, FlatDoc

    def get(doc: Any) -> Any:
        if type(doc) is flat:
            return doc.get(path)
        cur = doc
        for part, others in steps:
            if type(cur) is not dict:
                return slow(doc, parts) if type(cur) is list else None
            for other in others:
                if other in cur:
                    return slow(doc, parts)
            cur = cur.get(part)
            if cur is None:
                return None
        return leaf(cur)

    if len(parts) == 2:
        first, second = parts

        def get_two(doc: Any) -> Any:
            if type(doc) is flat:
                return doc.get(path)
            if type(doc) is dict and path not in doc:
                inner = doc.get(first)
                if type(inner) is dict:
                    value = inner.get(second)
                    if value is None or type(value) is not list:
                        return None if type(value) is dict else value
                    return _scalars(value)
                if type(inner) is not list:
                    return None
            return get(doc)

        return get_two
    return get


def _leaf(value: Any) -> Any:
    """The values of the field whose value in the document is `value`."""
    kind = type(value)
    if kind is list:
        return _scalars(value)
    return None if kind is dict else value


def _scalars(values: list[Any]) -> Any:
    """A list value: None if it holds no value, the value if only one, else the flat list. Nulls are
    missing values and objects hold other fields, not values of this one."""
    if len(values) == 1:
        only = values[0]
        kind = type(only)
        if kind is not list and kind is not dict:
            return only
    for x in values:
        kind = type(x)
        if kind is dict or kind is list or x is None:
            return _normalise(values)
    return values if values else None


@lru_cache(maxsize=256)
def _cached_getter(path: str) -> Getter:
    return compile_getter(path)


def _normalise(value: Any) -> Any:
    if type(value) is list:
        flat = _flatten(value)
        if not flat:
            return None
        return flat[0] if len(flat) == 1 else flat
    return value


def _flatten(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if type(v) is list:
            out.extend(_flatten(v))
        elif v is not None and type(v) is not dict:
            out.append(v)
    return out


def _slow(doc: Any, parts: tuple[str, ...]) -> Any:
    """The general case: arrays of objects on the way, and dotted keys."""
    found: list[Any] = []
    _collect(doc, parts, 0, found)
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def _collect(node: Any, parts: tuple[str, ...], i: int, out: list[Any]) -> None:
    if i == len(parts):
        if type(node) is list:
            out.extend(_flatten(node))
        elif node is not None and type(node) is not dict:
            out.append(node)
        return
    if type(node) is list:
        for item in node:
            _collect(item, parts, i, out)
        return
    if type(node) is not dict:
        return
    for j in range(i + 1, len(parts) + 1):  # "a.b" as one key, or "a" then "b"
        key = ".".join(parts[i:j])
        if key in node:
            _collect(node[key], parts, j, out)
