"""The package's field definitions, flattened, and a check of documents against them."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import paths
from ..fieldpath import leaves


@dataclass(frozen=True)
class FieldDefs:
    types: dict[str, str]  # dotted name -> type (wildcards kept as `*`)

    def lookup(self, name: str) -> str | None:
        """The declared type of a leaf field, or `flattened`/`object` when a parent covers it."""
        own = self.types.get(name) or self.lookup_wildcard(name)
        if own:
            return own
        parent = name
        while "." in parent:
            parent = parent.rpartition(".")[0]
            ftype = self.types.get(parent) or self.lookup_wildcard(parent)
            if ftype in ("flattened", "object"):
                return ftype
        return None

    def with_types(self, extra: dict[str, str]) -> FieldDefs:
        """These definitions plus `extra` (e.g. a transform's destination fields)."""
        return FieldDefs({**self.types, **extra})

    def lookup_wildcard(self, name: str) -> str | None:
        for declared, ftype in self.types.items():
            if "*" in declared and re.fullmatch(re.escape(declared).replace(r"\*", "[^.]+"), name):
                return ftype
        return None


def _flatten(entries: list[dict[str, Any]], prefix: str, out: dict[str, str]) -> None:
    for entry in entries:
        name = f"{prefix}.{entry['name']}" if prefix else entry["name"]
        ftype = entry.get("type", "group")
        if ftype == "group":
            _flatten(entry.get("fields", []), name, out)
        else:
            out[name] = ftype


def field_types(entries: list[dict[str, Any]]) -> dict[str, str]:
    """Dotted name -> type of package-spec field entries (groups walked)."""
    out: dict[str, str] = {}
    _flatten(entries, "", out)
    return out


def load_fields(data_stream: str = "secret_access", package_dir: Path = paths.PACKAGE) -> FieldDefs:
    out: dict[str, str] = {}
    for path in sorted((package_dir / "data_stream" / data_stream / "fields").glob("*.yml")):
        _flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or [], "", out)
    return FieldDefs(out)


def _type_ok(ftype: str, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if v is None:
            continue
        if ftype in ("long", "integer", "short", "byte", "scaled_float", "float", "double"):
            if isinstance(v, bool) or not isinstance(v, int | float):
                return False
        elif ftype == "boolean":
            if not isinstance(v, bool) and v not in ("true", "false"):
                return False
        elif ftype == "ip":
            try:
                ipaddress.ip_address(v)
            except ValueError:
                return False
        elif ftype in ("keyword", "constant_keyword", "match_only_text", "text", "wildcard", "date") and not (
            isinstance(v, str)
        ):
            return False
    return True


def check_document(defs: FieldDefs, doc: dict[str, Any]) -> list[str]:
    """Problems with a document's fields: undeclared fields and values of the wrong type."""
    problems = []
    for name, value in leaves(doc):
        ftype = defs.lookup(name)
        if ftype is None:
            problems.append(f'field "{name}" is undefined')
        elif ftype not in ("flattened", "object") and not _type_ok(ftype, value):
            problems.append(f'field "{name}" has a value of the wrong type for {ftype}: {value!r}')
    return problems
