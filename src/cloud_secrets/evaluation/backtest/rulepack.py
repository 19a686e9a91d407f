"""The rules a backtest runs: the package's Kibana security rule assets, and the seed rule as written.

Rules are read from `package/kibana/security_rule/*.json` (the saved objects Fleet installs), not from the
catalog, so the backtest judges exactly what users get. The catalog only supplies each rule's slug.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ... import paths
from ...assets.rules.exceptions import Allowlist
from ...errors import UserError
from .durations import duration_ms
from .exceptions import ExceptionFilter
from .suppression import Suppressor, suppressor_for

RULE_DIR = paths.PACKAGE / "kibana" / "security_rule"
SEED_AS_WRITTEN = paths.CATALOG / "backtest" / "seed_as_written.eql"
SEED_SLUG = "seed_as_written"


@dataclass
class Rule:
    slug: str
    name: str
    type: str  # eql | esql | threshold | new_terms
    language: str
    query: str
    index: list[str]
    interval_ms: int
    lookback_ms: int  # how far back each run looks: `from` (now-70m) -> 70m
    threshold: dict[str, Any] | None = None
    new_terms_fields: list[str] = field(default_factory=list)
    history_ms: int = 0
    source: str = ""
    suppression: Suppressor | None = None  # Kibana's alert suppression, when the asset asks for it (a template)
    takes_allowlist: bool = False  # `allowlist: true` in the catalog: `rules export --allowlist` attaches it
    exceptions: ExceptionFilter | None = None  # the allowlist in force for this run (see with_allowlist)
    rule_id: str = ""
    risk_score: float = 0.0
    severity: str = ""
    building_block: bool = False  # `building_block_type: default`: its alerts are hidden, they feed others


def _catalog_rules() -> dict[str, dict[str, Any]]:
    """The catalog's rule definitions by rule_id (for their slugs and allowlist flags)."""
    out = {}
    for path in sorted((paths.CATALOG / "rules").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and data.get("rule_id") and data.get("slug"):
            out[str(data["rule_id"])] = data
    return out


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def rule_from_saved_object(obj: dict[str, Any], source: str, slugs: dict[str, str] | None = None) -> Rule:
    """A Kibana security-rule saved object (`{"attributes": {...}}`) -> Rule."""
    attrs = obj.get("attributes", obj)
    where = f"{source}: attributes"
    try:
        rtype, query = attrs["type"], attrs["query"]
    except KeyError as err:
        raise UserError(f"{where}.{err.args[0]}: missing") from None
    slug = (slugs or {}).get(str(attrs.get("rule_id")), "") or _slugify(attrs.get("name", source))
    lookback = duration_ms(attrs.get("from", "now-6m"), f"{where}.from")
    rule = Rule(
        slug=slug, name=attrs.get("name", slug), type=rtype, language=attrs.get("language", rtype), query=query,
        index=list(attrs.get("index") or []),
        interval_ms=duration_ms(attrs.get("interval", "5m"), f"{where}.interval"), lookback_ms=lookback,
        threshold=attrs.get("threshold"), new_terms_fields=list(attrs.get("new_terms_fields") or []),
        source=source, suppression=suppressor_for(attrs, where), rule_id=str(attrs.get("rule_id", "")),
        risk_score=float(attrs.get("risk_score", 0)), severity=str(attrs.get("severity", "")),
        building_block=_building_block(attrs.get("building_block_type"), where),
    )
    if rtype == "new_terms":
        rule.history_ms = duration_ms(attrs.get("history_window_start", "now-7d"), f"{where}.history_window_start")
    if rtype not in ("eql", "esql", "threshold", "new_terms"):
        raise UserError(f"{where}.type: rule type {rtype!r} is not supported by the backtest")
    return rule


def _building_block(value: Any, where: str) -> bool:
    if value is None:
        return False
    if value != "default":
        raise UserError(f"{where}.building_block_type: Kibana knows only \"default\", got {value!r}")
    return True


def package_rules(rule_dir: Path = RULE_DIR) -> list[Rule]:
    defs = _catalog_rules()
    slugs = {rule_id: str(data["slug"]) for rule_id, data in defs.items()}
    allowlisted = {str(data["slug"]) for data in defs.values() if data.get("allowlist") is True}
    rules = []
    for path in sorted(rule_dir.glob("*.json")):
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise UserError(f"{path.name}:{err.lineno}: not valid JSON ({err.msg})") from None
        rule = rule_from_saved_object(obj, path.name, slugs)
        rule.takes_allowlist = rule.slug in allowlisted
        rules.append(rule)
    return sorted(rules, key=lambda r: r.slug)


def with_allowlist(rules: list[Rule], allow: Allowlist | None) -> list[Rule]:
    """Copies of the rules with the allowlist as their exception, on the rules that accept one."""
    if allow is None:
        return rules
    exceptions = ExceptionFilter.of(allow)
    return [replace(r, exceptions=exceptions) if r.takes_allowlist else r for r in rules]


def seed_as_written(path: Path = SEED_AS_WRITTEN) -> Rule:
    """The seed rule as originally written; its header comments give its indices and schedule."""
    text = path.read_text(encoding="utf-8")
    index = re.search(r"^//\s*index:\s*(.+)$", text, re.MULTILINE)
    schedule = re.search(r"^//\s*schedule:\s*interval\s+(\w+),\s*lookback\s+(\w+)", text, re.MULTILINE)
    if not index or not schedule:
        raise UserError(f"{path.name}: needs `// index: ...` and `// schedule: interval X, lookback Y` comments")
    return Rule(
        slug=SEED_SLUG, name="Seed rule as written", type="eql", language="eql", query=text,
        index=[p.strip() for p in index.group(1).split(",")], interval_ms=duration_ms(schedule.group(1)),
        lookback_ms=duration_ms(schedule.group(2)), source=path.name,
    )


def select(rules: list[Rule], slugs: list[str] | None) -> list[Rule]:
    if not slugs:
        return rules
    known = {r.slug: r for r in rules}
    missing = [s for s in slugs if s not in known]
    if missing:
        raise UserError(f"unknown rule {', '.join(missing)}; the pack has {', '.join(known)}")
    return [known[s] for s in slugs]
