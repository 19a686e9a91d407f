"""Load and validate catalog/rules/*.yml; every mistake names file, line and field."""

from __future__ import annotations

import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from ... import paths
from ...errors import UserError
from ..alert_fields import ALERT_FIELD_MAP, alert_field_map
from ..catalog import Catalog, catalog
from ..fields import FieldDefs, load_fields
from ..transform import dest_field_types
from ..yamlsrc import Source, load
from . import syntax, templating
from .model import RISK_BANDS, RULE_TYPES, Guide, NewTerms, Rule, Suppression, Threshold

RULES_DIR = paths.CATALOG / "rules"
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
DURATION = re.compile(r"^[1-9][0-9]*[smhd]$")
# Fields a rule may never filter on: the automation evidence and user agents are set or influenced by the
# caller, so excluding on them would let anyone hide. Users allowlist identities through rule exceptions.
FORBIDDEN_FIELDS = ("cloud_secrets.automation", "cloud_secrets.automation_reason", "user_agent.")

REQUIRED = ("slug", "rule_id", "version", "name", "type", "severity", "risk_score", "interval", "lookback",
            "description", "query", "catches", "misses", "false_positives", "guide", "references")
OPTIONAL = ("threshold", "new_terms", "suppression", "allowlist", "deviations", "why_this_type", "building_block")
GUIDE_KEYS = ("summary", "investigation", "false_positive_analysis", "response")


def load_rule_fields() -> FieldDefs:
    """Fields a rule may read: the data stream's, and the summary transform's destination fields."""
    return load_fields().with_types(dest_field_types())


def _str(src: Source, data: dict[str, Any], key: str, where: str | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise src.fail(where or key, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _strs(src: Source, data: dict[str, Any], key: str, where: str | None = None,
          required: bool = True) -> tuple[str, ...]:
    where = where or key
    value = data.get(key, None if required else [])
    if not isinstance(value, list) or (required and not value):
        raise src.fail(where, "expected a non-empty list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise src.fail(f"{where}[{i}]", f"expected a non-empty string, got {item!r}")
    return tuple(v.strip() for v in value)


def _int(src: Source, data: dict[str, Any], key: str, where: str, minimum: int = 1) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise src.fail(where, f"expected an integer >= {minimum}, got {value!r}")
    return value


def _guide(src: Source, data: Any) -> Guide:
    if not isinstance(data, dict):
        raise src.fail("guide", "expected a mapping with " + ", ".join(GUIDE_KEYS))
    for key in data:
        if key not in GUIDE_KEYS:
            raise src.fail(f"guide.{key}", f"unknown key (expected one of {', '.join(GUIDE_KEYS)})")
    return Guide(
        summary=_str(src, data, "summary", "guide.summary"),
        investigation=_strs(src, data, "investigation", "guide.investigation"),
        false_positive_analysis=_strs(src, data, "false_positive_analysis", "guide.false_positive_analysis"),
        response=_strs(src, data, "response", "guide.response"),
    )


def _threshold(src: Source, data: Any) -> Threshold:
    if not isinstance(data, dict):
        raise src.fail("threshold", "expected a mapping with field, value and optional cardinality")
    fields = _strs(src, data, "field", "threshold.field")
    if len(fields) > 5:
        raise src.fail("threshold.field", "Kibana groups a threshold by at most 5 fields")
    value = _int(src, data, "value", "threshold.value")
    card = data.get("cardinality")
    if card is None:
        return Threshold(fields, value)
    if not isinstance(card, dict):
        raise src.fail("threshold.cardinality", "expected a mapping with field and value")
    return Threshold(fields, value, _str(src, card, "field", "threshold.cardinality.field"),
                     _int(src, card, "value", "threshold.cardinality.value"))


def _new_terms(src: Source, data: Any) -> NewTerms:
    if not isinstance(data, dict):
        raise src.fail("new_terms", "expected a mapping with fields and history_window")
    fields = _strs(src, data, "fields", "new_terms.fields")
    if len(fields) > 3:
        raise src.fail("new_terms.fields", "Kibana's new_terms rule takes 1 to 3 fields")
    window = _str(src, data, "history_window", "new_terms.history_window")
    if not re.fullmatch(r"[1-9][0-9]*d", window):
        raise src.fail("new_terms.history_window", f"expected a number of days such as 14d, got {window!r}")
    return NewTerms(fields, window)


def _suppression(src: Source, data: Any, rtype: str) -> Suppression:
    if not isinstance(data, dict) or set(data) - {"group_by", "duration"}:
        raise src.fail("suppression", "expected a mapping with group_by (1-3 fields) and duration")
    duration = str(data.get("duration"))
    if not re.fullmatch(r"[1-9][0-9]*[smh]", duration):
        raise src.fail("suppression.duration", f"expected seconds, minutes or hours such as 1h, "
                                               f"got {data.get('duration')!r}")
    if rtype == "threshold":
        # Kibana suppresses a threshold rule's alerts by the threshold's own fields.
        if "group_by" in data:
            raise src.fail("suppression.group_by", "a threshold rule is suppressed by its threshold fields")
        return Suppression((), duration)
    fields = _strs(src, data, "group_by", "suppression.group_by")
    if not 1 <= len(fields) <= 3:
        raise src.fail("suppression.group_by", "Kibana suppresses by 1 to 3 fields")
    return Suppression(fields, duration)


def _check_fields(src: Source, rule: Rule, defs: FieldDefs) -> None:
    names = list(syntax.fields(rule.language, rule.query))
    if reads_alerts(rule.query, rule.language):
        mapped = alert_field_map()
        for name in names + list(rule.suppression.group_by if rule.suppression else ()):
            if name not in mapped:
                raise src.fail("query", f"field {name} is not mapped in the alerts index "
                                        f"({ALERT_FIELD_MAP.name}): Kibana keeps it unsearchable in _source")
        return
    if rule.threshold:
        names += list(rule.threshold.field) + [f for f in [rule.threshold.cardinality_field] if f]
    if rule.new_terms:
        names += list(rule.new_terms.fields)
    if rule.suppression:
        names += list(rule.suppression.group_by)
    for name in names:
        if name.startswith(FORBIDDEN_FIELDS):
            raise src.fail("query", f"{name} is set or influenced by the caller; allowlist known automation "
                                    "with rule exceptions on the identity instead of filtering on it")
        if defs.lookup(name) is None:
            raise src.fail("query", f"field {name} is not declared in the package's fields "
                                    "(package/data_stream/secret_access/fields/) nor a summary transform field")


def reads_alerts(query: str, language: str) -> bool:
    """The rule reads Elastic Security's alerts (a higher-order rule), not events."""
    return language == "esql" and any(p.startswith(".alerts-security") for p in syntax.esql_sources(query))


def load_rule(path: Path, cat: Catalog, defs: FieldDefs, rule_ids: dict[str, str] | None = None) -> Rule:
    src = load(path)
    data = src.data
    if not isinstance(data, dict):
        raise src.fail("slug", "a rule definition is a mapping")
    for key in data:
        if key not in REQUIRED + OPTIONAL:
            raise src.fail(key, "unknown key")
    for key in REQUIRED:
        if key not in data:
            raise src.fail(key, "missing")
    slug = _str(src, data, "slug")
    if not SLUG.match(slug) or slug != path.stem:
        raise src.fail("slug", f"must be lower_snake_case and equal the file name ({path.stem}), got {slug!r}")
    rule_id = _str(src, data, "rule_id")
    try:
        if str(uuid.UUID(rule_id)) != rule_id:
            raise ValueError
    except ValueError:
        raise src.fail("rule_id", f"expected a lower-case UUID, got {rule_id!r}") from None
    rtype = _str(src, data, "type")
    if rtype not in RULE_TYPES:
        raise src.fail("type", f"must be one of {', '.join(RULE_TYPES)}, got {rtype!r}")
    severity = _str(src, data, "severity")
    if severity not in RISK_BANDS:
        raise src.fail("severity", f"must be one of {', '.join(RISK_BANDS)}, got {severity!r}")
    risk = _int(src, data, "risk_score", "risk_score", minimum=0)
    low, high = RISK_BANDS[severity]
    if not low <= risk <= high:
        raise src.fail("risk_score", f"{risk} is outside the {severity} band {low}-{high}")
    for key in ("interval", "lookback"):
        if not DURATION.match(str(data.get(key))):
            raise src.fail(key, f"expected a duration such as 10m, got {data.get(key)!r}")
    template = _str(src, data, "query")
    language = {"eql": "eql", "esql": "esql"}.get(rtype, "lucene")
    try:
        query = templating.render(template, cat, language, rule_ids)
        syntax.check(language, query)
    except (templating.TemplateError, syntax.QuerySyntaxError) as err:
        raise src.fail("query", str(err)) from None
    try:
        catches = templating.render_prose(_str(src, data, "catches"), cat)
    except templating.TemplateError as err:
        raise src.fail("catches", str(err)) from None
    if (rtype == "threshold") != ("threshold" in data):
        raise src.fail("threshold", "a threshold rule needs `threshold`, and only a threshold rule has it")
    if (rtype == "new_terms") != ("new_terms" in data):
        raise src.fail("new_terms", "a new_terms rule needs `new_terms`, and only a new_terms rule has it")
    allowlist = data.get("allowlist", False)
    if not isinstance(allowlist, bool):
        raise src.fail("allowlist", "expected true or false")
    building_block = data.get("building_block", False)
    if not isinstance(building_block, bool):
        raise src.fail("building_block", f"expected true or false, got {building_block!r}")
    rule = Rule(
        slug=slug, rule_id=rule_id, version=_int(src, data, "version", "version"),
        name=_str(src, data, "name"), type=rtype, severity=severity, risk_score=risk,
        interval=str(data["interval"]), lookback=str(data["lookback"]),
        description=_str(src, data, "description"), query_template=template, query=query,
        catches=catches, misses=_str(src, data, "misses"),
        false_positives=_strs(src, data, "false_positives"), guide=_guide(src, data.get("guide")),
        references=_strs(src, data, "references"), source=path, allowlist=allowlist,
        threshold=_threshold(src, data["threshold"]) if "threshold" in data else None,
        new_terms=_new_terms(src, data["new_terms"]) if "new_terms" in data else None,
        suppression=_suppression(src, data["suppression"], rtype) if "suppression" in data else None,
        deviations=_strs(src, data, "deviations", required=False),
        why_this_type=data["why_this_type"].strip() if isinstance(data.get("why_this_type"), str) else None,
        building_block=building_block,
    )
    _check_fields(src, rule, defs)
    return rule


def _rule_ids(files: list[Path]) -> dict[str, str]:
    """slug -> rule_id of every rule file (for `{{rule_ids ...}}`; each file is validated when it is loaded)."""
    out = {}
    for path in files:
        data = load(path).data
        if isinstance(data, dict) and isinstance(data.get("slug"), str) and isinstance(data.get("rule_id"), str):
            out[data["slug"]] = data["rule_id"]
    return out


def load_rules(directory: Path | None = None, cat: Catalog | None = None,
               defs: FieldDefs | None = None) -> tuple[Rule, ...]:
    """Every rule definition, sorted by slug; slugs and rule ids must be unique."""
    directory = directory or RULES_DIR
    cat = cat or catalog()
    defs = defs or load_rule_fields()
    files = sorted(directory.glob("*.yml"))
    rules = [load_rule(p, cat, defs, _rule_ids(files)) for p in files]
    if not rules:
        raise UserError(f"{directory}: no rule definitions (*.yml)")
    for attr in ("slug", "rule_id", "name"):
        seen: dict[str, Path] = {}
        for rule in rules:
            value = getattr(rule, attr)
            if value in seen:
                raise UserError(f"{rule.source.name}: {attr} {value!r} is also used by {seen[value].name}")
            seen[value] = rule.source
    return tuple(rules)


@cache
def rules() -> tuple[Rule, ...]:
    """The project's rule pack, loaded once."""
    return load_rules()
