"""Catalog placeholders in rule and hunting queries: `{{actions CLASS...}}`, `{{datasets CLASS...}}`,
`{{indices CLASS...}}`, `{{operations CLASS...}}` (the cloud_secrets.operation values themselves: Vault's
`read` action is a read, a metadata read or a sys/ call, only the tagged class tells them apart), rendered as a
value list in the query's language, and `{{summary CLASS...}}`, the alias of the hourly per-identity summary
built from those operations (see `assets.transform`), and `{{rule_ids SLUG...}}`, the `rule_id`s of the pack's
rules with these slugs (a rule over the alerts index selects the pack's alerts by them). Action lists and rule
ids are never typed by hand.

`{{taggable CLASS...}}` is a condition, not a list: "the tagging pipeline would tag this event as an operation
of these classes if it ran", in the query's language, from the same catalog facts the pipelines are generated
from: per provider its datasets, `event_provider`, actions, Vault's `mount_types` and tagged entry type
(`catalog.TAGGED_ENTRIES`). Two parts of the pipeline's decision are left to it, both on the safe side for a
health check: an operation tagged only when a request parameter is true (`requires_true`, Parameter Store's
`withDecryption`) is left out, because the parameter is in a flattened field that ES|QL cannot read, and
Vault's path patterns are not matched (the backtest's ES|QL has no LIKE), only action and mount type, so an
untagged call of another class on the same action and mount (a KV v2 metadata read) counts too
(`shadowed_operations`).
`untagged_by_design(...)` says the same in prose for the rules' docs."""

from __future__ import annotations

import json
import re

from ..catalog import MOUNT_TYPE_FIELDS, OPERATION_CLASSES, PATH_PROVIDERS, TAGGED_ENTRIES, Catalog, Operation
from ..indices import datasets_of, rule_indices
from ..transform import DEST_ALIAS

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)((?:\s+\w+)*)\s*\}\}")
KINDS = ("actions", "datasets", "indices", "operations", "summary", "rule_ids", "taggable")
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
    if kind == "taggable":
        return []  # a condition, rendered by `taggable`
    return datasets_of(cat, classes) if kind == "datasets" else rule_indices(cat, classes)


# A condition: ("in", field, values) | ("and", parts) | ("or", parts).
Cond = tuple


def _in(field: str, values: list[str]) -> Cond:
    return ("in", field, tuple(values))


def _selected(cat: Catalog, classes: list[str]) -> dict[str, list[Operation]]:
    """Provider name -> its operations of these classes that the pipeline tags unconditionally."""
    out: dict[str, list[Operation]] = {}
    for op in cat.operations:
        if op.op_class in classes and op.requires_true is None:
            out.setdefault(op.provider, []).append(op)
    return out


def _grouped(ops: list[Operation], key: str) -> dict[object, list[Operation]]:
    out: dict[object, list[Operation]] = {}
    for op in ops:
        out.setdefault(getattr(op, key), []).append(op)
    return out


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def taggable(cat: Catalog, classes: list[str]) -> list[Cond]:
    """One condition per provider (to be ORed): an event of these classes' operations that its provider's
    pipeline tags, as the pipelines decide it (see the module docstring for what is left to the pipeline)."""
    out: list[Cond] = []
    for provider, ops in _selected(cat, classes).items():
        parts: list[Cond] = [_in("event.dataset", _unique([op.dataset for op in ops]))]
        if provider in TAGGED_ENTRIES:
            field, value = TAGGED_ENTRIES[provider]
            parts.append(_in(field, [value]))
        groups: list[Cond] = []
        if provider in PATH_PROVIDERS:
            for action, same in _grouped(ops, "action").items():
                mounts = _unique([m for op in same for m in op.mount_types])
                groups.append(("and", [_in("event.action", [str(action)]), _in(MOUNT_TYPE_FIELDS[provider], mounts)]))
        else:
            for event_provider, same in _grouped(ops, "event_provider").items():
                actions = _in("event.action", _unique([op.action for op in same]))
                groups.append(("and", [_in("event.provider", [str(event_provider)]), actions])
                              if event_provider else actions)
        if len(groups) == 1 and groups[0][0] == "and":
            parts.extend(groups[0][1])
        else:
            parts.append(groups[0] if len(groups) == 1 else ("or", groups))
        out.append(("and", parts))
    return out


def untagged_by_design(cat: Catalog, classes: list[str]) -> list[str]:
    """What `{{taggable ...}}` leaves out although its action is catalogued, one phrase per reason."""
    out: list[str] = []
    conditional = [op for op in cat.operations if op.op_class in classes and op.requires_true]
    for requires, ops in _grouped(conditional, "requires_true").items():
        out.append(f"{_and([op.name for op in ops])} calls (tagged only with `{requires}` true, which the "
                   "query cannot read: ES|QL does not read flattened fields)")
    providers = {p.name: p for p in cat.providers}
    for provider, ops in _selected(cat, classes).items():
        if provider in TAGGED_ENTRIES:
            field, value = TAGGED_ENTRIES[provider]
            out.append(f"{providers[provider].title} entries whose `{field}` is not `{value}` (each call counts "
                       "once, on that entry)")
        if provider in PATH_PROVIDERS:
            mounts = "; ".join(f"{action}: {', '.join(_unique([m for op in same for m in op.mount_types]))}"
                               for action, same in _grouped(ops, "action").items())
            out.append(f"{providers[provider].title} calls on other mount types than the catalog's ({mounts})")
    return out


def shadowed_operations(cat: Catalog, classes: list[str]) -> list[str]:
    """Path-provider operations of other classes that `{{taggable ...}}` cannot tell from these classes' ones:
    same action and a shared mount type (only the request path, which is not matched, tells them apart)."""
    chosen = [op for op in cat.operations if op.provider in PATH_PROVIDERS and op.op_class in classes]
    return [op.name for op in cat.operations if op.provider in PATH_PROVIDERS and op.op_class not in classes
            and any(c.action == op.action and set(c.mount_types) & set(op.mount_types) for c in chosen)]


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _render_cond(cond: Cond, language: str) -> str:
    if cond[0] == "in":
        field, values = cond[1], [json.dumps(v) for v in cond[2]]
        if language == "lucene":
            return f"{field}:{values[0]}" if len(values) == 1 else f"{field}:({' OR '.join(values)})"
        word = "IN" if language == "esql" else "in"
        return f"{field} == {values[0]}" if len(values) == 1 else f"{field} {word} ({', '.join(values)})"
    word = cond[0].upper() if language != "eql" else cond[0]
    return "(" + f" {word} ".join(_render_cond(c, language) for c in cond[1]) + ")"


def _render_taggable(conds: list[Cond], language: str, column: int) -> str:
    """The providers' conditions ORed, one provider a line (aligned under the placeholder's column), the whole
    in parentheses."""
    if not conds:
        raise TemplateError("{{taggable ...}}: no operation of these classes is tagged unconditionally")
    word = "OR" if language != "eql" else "or"
    return "(" + f"\n{' ' * column} {word} ".join(_render_cond(c, language) for c in conds) + ")"


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
        values = _values(cat, kind, classes, rule_ids)
        if kind == "taggable":
            column = match.start() - text.rfind("\n", 0, match.start()) - 1
            return _render_taggable(taggable(cat, classes), language, column)
        return _render_list(kind, values, language)

    return PLACEHOLDER.sub(sub, text)


PROSE = re.compile(r"\{\{\s*untagged_by_design((?:\s+\w+)*)\s*\}\}")


def render_prose(text: str, cat: Catalog) -> str:
    """Replace `{{untagged_by_design CLASS...}}` in a rule's documentation with sentences: what `{{taggable ...}}`
    leaves out (`untagged_by_design`), and what it counts too (`shadowed_operations`)."""

    def sub(match: re.Match[str]) -> str:
        classes = match.group(1).split()
        bad = [c for c in classes if c not in OPERATION_CLASSES]
        if bad or not classes:
            raise TemplateError(f"{{{{untagged_by_design ...}}}} needs operation classes from "
                                f"{', '.join(OPERATION_CLASSES)}, got {' '.join(classes) or 'none'}")
        out = f"Not counted, as untagged by design or not decidable in the query: " \
              f"{'; '.join(untagged_by_design(cat, classes)) or 'nothing'}."
        shadowed = shadowed_operations(cat, classes)
        if shadowed:
            out += (f" Counted too, as the request paths are not matched: untagged {_and(shadowed)} calls (another "
                    "class on the same action and mount type).")
        return out

    return PROSE.sub(sub, text)


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
