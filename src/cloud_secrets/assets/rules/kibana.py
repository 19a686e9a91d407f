"""Kibana security rule assets (package/kibana/security_rule/) and the ndjson of Kibana's rule import."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .. import indices
from ..alert_fields import alert_field_map
from ..catalog import OPERATION_CLASSES, Catalog
from ..fields import FieldDefs
from . import guide, syntax, templating
from .loader import load_rule_fields, reads_alerts
from .loader import rules as load_rules
from .model import Rule

RULE_DIR = "package/kibana/security_rule"
# The one value Kibana accepts for `building_block_type` (its rule schema: BuildingBlockType = "default").
BUILDING_BLOCK_TYPE = "default"
AUTHOR = ["cloud-secrets"]
LICENSE = "Apache-2.0"
# Integration package versions the rules were written against (documents shaped as in
# shared reference notes); Kibana shows whether the installed version satisfies the range.
INTEGRATION_VERSIONS = {"aws": ">=2.0.0", "azure": ">=1.0.0", "gcp": ">=2.0.0", "hashicorp_vault": ">=1.26.0"}
NON_ECS_PREFIXES = ("cloud_secrets.", "aws.", "azure.", "gcp.", "hashicorp_vault.", "kibana.")
#: The tag Elastic's higher-order rules carry (and exclude from their own queries).
HIGHER_ORDER_TAG = "Rule Type: Higher-Order Rule"
MITRE = [{
    "framework": "MITRE ATT&CK",
    "tactic": {"id": "TA0006", "name": "Credential Access",
               "reference": "https://attack.mitre.org/tactics/TA0006/"},
    "technique": [{
        "id": "T1555", "name": "Credentials from Password Stores",
        "reference": "https://attack.mitre.org/techniques/T1555/",
        "subtechnique": [{"id": "T1555.006", "name": "Cloud Secrets Management Stores",
                          "reference": "https://attack.mitre.org/techniques/T1555/006/"}],
    }],
}]


def asset_id(rule: Rule) -> str:
    return f"{rule.rule_id}_{rule.version}"


def rule_fields(rule: Rule) -> list[str]:
    names = set(syntax.fields(rule.language, rule.query))
    if rule.threshold:
        names.update(rule.threshold.field)
        if rule.threshold.cardinality_field:
            names.add(rule.threshold.cardinality_field)
    if rule.new_terms:
        names.update(rule.new_terms.fields)
    return sorted(names)


def required_fields(rule: Rule, defs: FieldDefs) -> list[dict[str, Any]]:
    out = []
    mapped = alert_field_map() if reads_alerts(rule.query, rule.language) else {}
    for name in rule_fields(rule):
        ftype = mapped.get(name) or defs.lookup(name) or "keyword"
        out.append({"ecs": not name.startswith(NON_ECS_PREFIXES), "name": name, "type": ftype})
    return out


def _classes(rule: Rule) -> list[str]:
    """The operation classes whose data the rule judges: its placeholders' or, for a rule over the alerts of
    the pack, every class (its signals come from all of them)."""
    if reads_alerts(rule.query, rule.language):
        return list(OPERATION_CLASSES)
    return templating.classes_used(rule.query_template)


def related_integrations(rule: Rule, cat: Catalog) -> list[dict[str, str]]:
    datasets = indices.datasets_of(cat, _classes(rule))
    out = []
    for dataset in datasets:
        provider = next(p for p in cat.providers if dataset in p.datasets)
        out.append({"integration": dataset.split(".", 1)[1], "package": provider.integration,
                    "version": INTEGRATION_VERSIONS.get(provider.integration, "*")})
    return out


def tags(rule: Rule, cat: Catalog) -> list[str]:
    datasets = indices.datasets_of(cat, _classes(rule))
    sources = [f"Data Source: {p.title}" for p in cat.providers if set(p.datasets) & set(datasets)]
    kind = [HIGHER_ORDER_TAG] if reads_alerts(rule.query, rule.language) else []
    return ["Domain: Cloud", *sources, "Use Case: Threat Detection", "Tactic: Credential Access", *kind,
            "Resources: Investigation Guide"]


def attributes(rule: Rule, cat: Catalog, defs: FieldDefs) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "author": AUTHOR,
        "description": rule.description,
        "false_positives": list(rule.false_positives),
        "from": f"now-{rule.lookback}",
        "interval": rule.interval,
        "language": rule.language,
        "license": LICENSE,
        "max_signals": 100,
        "name": rule.name,
        "note": guide.note(rule),
        "query": rule.query,
        "references": list(rule.references),
        "related_integrations": related_integrations(rule, cat),
        "required_fields": required_fields(rule, defs),
        "risk_score": rule.risk_score,
        "rule_id": rule.rule_id,
        "setup": guide.setup(cat),
        "severity": rule.severity,
        "tags": tags(rule, cat),
        "threat": MITRE,
        "type": rule.type,
        "version": rule.version,
    }
    if rule.building_block:
        attrs["building_block_type"] = BUILDING_BLOCK_TYPE
    if rule.type != "esql":
        attrs["index"] = indices.rule_indices(cat, templating.classes_used(rule.query_template))
    if rule.threshold:
        threshold: dict[str, Any] = {"field": list(rule.threshold.field), "value": rule.threshold.value}
        if rule.threshold.cardinality_field:
            threshold["cardinality"] = [{"field": rule.threshold.cardinality_field,
                                         "value": rule.threshold.cardinality_value}]
        attrs["threshold"] = threshold
    if rule.suppression:
        amount, unit = int(rule.suppression.duration[:-1]), rule.suppression.duration[-1]
        duration = {"value": amount, "unit": unit}
        if rule.threshold:  # suppressed by the threshold's own fields
            attrs["alert_suppression"] = {"duration": duration}
        else:
            attrs["alert_suppression"] = {"group_by": list(rule.suppression.group_by), "duration": duration,
                                          "missing_fields_strategy": "doNotSuppress"}
    if rule.new_terms:
        attrs["new_terms_fields"] = list(rule.new_terms.fields)
        attrs["history_window_start"] = f"now-{rule.new_terms.history_window}"
    return dict(sorted(attrs.items()))


def asset(rule: Rule, cat: Catalog, defs: FieldDefs) -> dict[str, Any]:
    return {"attributes": attributes(rule, cat, defs), "id": asset_id(rule), "type": "security-rule"}


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=4, ensure_ascii=False) + "\n"


def generate(cat: Catalog) -> Iterable[tuple[str, str]]:
    """Generator for `cloud_secrets.generate`: one JSON file per rule."""
    defs = load_rule_fields()
    for rule in load_rules():
        yield f"{RULE_DIR}/{asset_id(rule)}.json", dumps(asset(rule, cat, defs))


def import_lines(rule_list: Iterable[Rule], cat: Catalog, extra: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """One Kibana rule-import object per rule (disabled, as prebuilt rules install)."""
    defs = load_rule_fields()
    out = []
    for rule in rule_list:
        attrs = attributes(rule, cat, defs) | {"enabled": False} | (extra or {}).get(rule.slug, {})
        out.append(json.dumps(dict(sorted(attrs.items())), ensure_ascii=False, separators=(",", ":")))
    return out
