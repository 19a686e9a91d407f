"""Catalog placeholders in rule and hunting queries: `{{actions CLASS...}}`, `{{datasets CLASS...}}`,
`{{indices CLASS...}}`, `{{operations CLASS...}}` (the cloud_secrets.operation values themselves: Vault's
`read` action is a read, a metadata read or a sys/ call, only the tagged class tells them apart), rendered as a
value list in the query's language, and `{{summary CLASS...}}`, the alias of the hourly per-identity summary
built from those operations (see `assets.transform`), and `{{rule_ids SLUG...}}`, the `rule_id`s of the pack's
rules with these slugs (a rule over the alerts index selects the pack's alerts by them). Action lists and rule
ids are never typed by hand."""

from __future__ import annotations

import json
import re

from ..catalog import OPERATION_CLASSES, Catalog
from ..indices import datasets_of, rule_indices
from ..transform import DEST_ALIAS

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)((?:\s+\w+)*)\s*\}\}")
KINDS = ("actions", "datasets", "indices", "operations", "summary", "rule_ids")
LANGUAGES = ("eql", "esql", "lucene")


class TemplateError(ValueError):
    """A placeholder that names an unknown kind or operation class."""


def _values(cat: Catalog, kind: str, classes: list[str], rule_ids: dict[str, str] | None) -> list[str]:
    if kind not in KINDS:
        raise TemplateError(f"unknown placeholder {kind!r} (expected one of {', '.join(KINDS)})")
    if kind == "rule_ids":
        known = rule_ids or {}
        unknown = [s for s in classes if s not in known]
        if unknown or not classes:
            raise TemplateError(f"{{{{rule_ids ...}}}} needs slugs of the pack's rules ({', '.join(sorted(known))}), "
                                f"got {' '.join(unknown or classes) or 'none'}")
        return [known[s] for s in classes]
    bad = [c for c in classes if c not in OPERATION_CLASSES]
    if bad or not classes:
        raise TemplateError(f"{{{{{kind} ...}}}} needs operation classes from {', '.join(OPERATION_CLASSES)}, "
                            f"got {' '.join(classes) or 'none'}")
    if kind == "actions":
        return cat.actions(*classes)
    if kind == "operations":
        return [c for c in OPERATION_CLASSES if c in classes]
    if kind == "summary":
        return [DEST_ALIAS]
    return datasets_of(cat, classes) if kind == "datasets" else rule_indices(cat, classes)


def _render_list(kind: str, values: list[str], language: str) -> str:
    if kind in ("indices", "summary"):
        return ", ".join(values)
    quoted = [json.dumps(v) for v in values]
    if language == "lucene":
        return "(" + " OR ".join(quoted) + ")"
    return "(" + ", ".join(quoted) + ")"


def render(text: str, cat: Catalog, language: str, rule_ids: dict[str, str] | None = None) -> str:
    """Replace every placeholder with the catalog's values, quoted for `language` (`rule_ids`: slug -> rule_id
    of the pack's rules, for `{{rule_ids ...}}`)."""
    if language not in LANGUAGES:
        raise TemplateError(f"unknown query language {language!r}")

    def sub(match: re.Match[str]) -> str:
        kind, classes = match.group(1), match.group(2).split()
        return _render_list(kind, _values(cat, kind, classes, rule_ids), language)

    return PLACEHOLDER.sub(sub, text)


def classes_used(text: str) -> list[str]:
    """Operation classes named by the placeholders of a query, in order of first use."""
    out: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        if match.group(1) == "rule_ids":
            continue
        for c in match.group(2).split():
            if c not in out:
                out.append(c)
    return out
