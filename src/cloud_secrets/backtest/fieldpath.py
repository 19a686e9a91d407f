"""Reading a dotted field from a JSON document the way Elasticsearch sees it.

Elasticsearch flattens objects and arrays: `a.b` of `{"a": [{"b": 1}, {"b": [2, 3]}]}` has the values
1, 2 and 3, and a field whose value is `null` or `[]` is missing. Documents may also spell a field with a
dotted key (`{"a.b": 1}`); both spellings are read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Getter = Callable[[Any], Any]


def values_of(doc: Any, path: str) -> list[Any]:
    """Every non-null value of `path` in `doc` (arrays flattened)."""
    value = compile_getter(path)(doc)
    if value is None:
        return []
    return value if type(value) is list else [value]


def compile_getter(path: str) -> Getter:
    """A function doc -> None (missing), a scalar (one value) or a list (several values)."""
    parts = tuple(path.split("."))
    if len(parts) == 1:
        key = parts[0]

        def get_one(doc: Any) -> Any:
            return _normalise(doc.get(key)) if type(doc) is dict else None

        return get_one
    if len(parts) == 2:
        first, second = parts

        def get_two(doc: Any) -> Any:
            if type(doc) is not dict:
                return None
            inner = doc.get(first)
            if type(inner) is dict:
                value = inner.get(second)
                if value is not None and type(value) is not list:
                    return value
            return _slow(doc, parts)

        return get_two
    first, second, third = parts[0], parts[1], parts[2:]

    def get_deep(doc: Any) -> Any:
        if type(doc) is not dict:
            return None
        cur = doc.get(first)
        if type(cur) is dict:
            cur = cur.get(second)
            for part in third:
                if type(cur) is not dict:
                    break
                cur = cur.get(part)
            else:
                if cur is not None and type(cur) is not list and type(cur) is not dict:
                    return cur
        return _slow(doc, parts)

    return get_deep


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
        elif v is not None:
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
