"""Recall and false alerts, from the simulator's label file (one label per document, same order).

Definitions (docs/backtest.md, "Quality"):
- A rule **detects** an attack scenario when at least one of its alerts contains an event labelled with
  that scenario (kind `attack`). Alerts carry the exact documents they were raised on (sequence events,
  the events of an ES|QL or threshold group, the new-terms document), so this needs no time or identity
  matching. An alert over the transform's summary rows (`baseline_deviation`) holds the documents the
  transform counted for its identity in its hour (derived.py).
- A **false alert** is an alert none of whose events is an attack document: it was raised on benign
  identities only. False alerts per day = false alerts that start after the warm-up / days after the
  warm-up. The warm-up (default 1 day from the first document) is there because a new_terms rule has no
  history at the start of a file, while a live cluster has; its alerts still count for recall.
- The confusion table of a rule counts attack scenarios (detected or not) and benign identities (raised at
  least one false alert or not).
- Tiers: an analyst sees the alerts of the visible rules; building blocks (`building_block_type: default`)
  are hidden from the Alerts table and feed the higher-order rule. "visible" judges the visible rules of the
  pack together (a scenario is caught when one of them caught it; their false alerts add up), "whole pack"
  every rule of the pack.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ...errors import UserError
from ...timestamps import to_ms
from .alerts import Alert

DAY_MS = 86_400_000


@dataclass
class Labels:
    scenario: dict[int, str]  # document index -> attack scenario, for attack documents
    identity: dict[int, str]  # document index -> identity, for the documents of alerts
    scenarios: list[str]  # attack scenarios in order of first appearance
    benign_identities: set[str]
    first_ts: int
    last_ts: int
    attack_identities: dict[str, set[str]] = field(default_factory=dict)  # scenario -> identities


def read_labels(path: Path, wanted: set[int]) -> Labels:
    scenario: dict[int, str] = {}
    identity: dict[int, str] = {}
    order: dict[str, None] = {}
    benign: set[str] = set()
    attack_ids: dict[str, set[str]] = defaultdict(set)
    first = last = None
    try:
        handle = path.open("rb")
    except OSError as err:
        raise UserError(f"cannot read labels {path}: {err.strerror}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                index, kind, ts = row["index"], row["kind"], to_ms(row["timestamp"])
            except orjson.JSONDecodeError as err:
                raise UserError(f"{path.name}:{number}: not valid JSON ({err})") from None
            except KeyError as err:
                raise UserError(f"{path.name}:{number}: {err.args[0]}: missing (not a `simulate --labels` file?)") \
                    from None
            except (ValueError, TypeError) as err:
                raise UserError(f"{path.name}:{number}: timestamp: {err}") from None
            first = ts if first is None else min(first, ts)
            last = ts if last is None else max(last, ts)
            who = str(row.get("identity"))
            if kind == "attack":
                name = str(row.get("scenario"))
                scenario[index] = name
                order.setdefault(name)
                attack_ids[name].add(who)
            else:
                benign.add(who)
            if index in wanted:
                identity[index] = who
    if first is None or last is None:
        raise UserError(f"{path.name}: no labels")
    return Labels(scenario, identity, list(order), benign, first, last, dict(attack_ids))


@dataclass
class RuleQuality:
    rule: str
    alerts: int
    detected: set[str]
    false_alerts: int
    false_per_day: float
    benign_identities_alerted: set[str]
    missed: list[str]
    building_block: bool = False


@dataclass
class Quality:
    rules: list[RuleQuality]
    scenarios: list[str]
    benign_identities: int
    days: float
    warmup_days: float


#: The name of the column for the visible rules together (what an analyst sees) and for the whole pack.
VISIBLE = "visible"
WHOLE_PACK = "whole pack"
REFERENCES = ("seed_as_written",)  # run for comparison, not part of the pack


def assess(alerts: list[Alert], labels: Labels, rules: list[str], warmup_ms: int = DAY_MS,
           building_blocks: frozenset[str] = frozenset()) -> Quality:
    by_rule: dict[str, list[Alert]] = {r: [] for r in rules}
    for a in alerts:
        by_rule.setdefault(a.rule, []).append(a)
    warm_end = labels.first_ts + warmup_ms
    days_after = max((labels.last_ts - warm_end) / DAY_MS, 1e-9)
    out = []
    for rule, items in by_rule.items():
        detected: set[str] = set()
        false_alerts = 0
        benign_hit: set[str] = set()
        for a in items:
            hits = {labels.scenario[i] for i in a.events if i in labels.scenario}
            detected |= hits
            if not hits:
                benign_hit |= {labels.identity[i] for i in a.events if i in labels.identity}
                if a.start >= warm_end:
                    false_alerts += 1
        out.append(RuleQuality(rule, len(items), detected, false_alerts, false_alerts / days_after, benign_hit,
                               [s for s in labels.scenarios if s not in detected], rule in building_blocks))
    return Quality(out, labels.scenarios, len(labels.benign_identities),
                   (labels.last_ts - labels.first_ts) / DAY_MS, warmup_ms / DAY_MS)


def _total(name: str, members: list[RuleQuality], scenarios: list[str]) -> RuleQuality:
    """Rules judged together: a scenario is caught when any of them caught it; false alerts add up."""
    detected: set[str] = set().union(*(r.detected for r in members))
    return RuleQuality(
        name, sum(r.alerts for r in members), detected, sum(r.false_alerts for r in members),
        sum(r.false_per_day for r in members), set().union(*(r.benign_identities_alerted for r in members)),
        [s for s in scenarios if s not in detected])


def with_pack_total(q: Quality, name: str = WHOLE_PACK, leave_out: tuple[str, ...] = REFERENCES) -> Quality:
    """Columns in tiers: the visible rules, their total (what an analyst sees, when the pack has building
    blocks), the building blocks, the whole pack, then the rules left out (the seed as written)."""
    members = [r for r in q.rules if r.rule not in leave_out]
    if len(members) < 2:
        return q
    visible = [r for r in members if not r.building_block]
    blocks = [r for r in members if r.building_block]
    tiers = [*visible, _total(VISIBLE, visible, q.scenarios), *blocks] if blocks else visible
    rules = [*tiers, _total(name, members, q.scenarios), *(r for r in q.rules if r.rule in leave_out)]
    return Quality(rules, q.scenarios, q.benign_identities, q.days, q.warmup_days)


def summary(q: Quality, leave_out: tuple[str, ...] = REFERENCES) -> dict[str, Any]:
    """`backtest --summary-json`: recall as [caught, total] and false alerts a day (after the warm-up) per
    rule of the pack, with its tier, and for the visible rules together."""
    members = [r for r in q.rules if r.rule not in leave_out and r.rule not in (VISIBLE, WHOLE_PACK)]
    total = len(q.scenarios)
    visible = _total(VISIBLE, [r for r in members if not r.building_block], q.scenarios)
    return {
        "rules": {r.rule: {"recall": [len(r.detected), total], "false_alerts_per_day": round(r.false_per_day, 3),
                           "building_block": r.building_block} for r in members},
        "visible": {"recall": [len(visible.detected), total],
                    "false_alerts_per_day": round(visible.false_per_day, 3)},
    }


def tier_of(r: RuleQuality) -> str:
    if r.rule in REFERENCES:
        return "reference"
    if r.rule == VISIBLE:
        return "**what an analyst sees**"
    if r.rule == WHOLE_PACK:
        return "all tiers"
    return "building block" if r.building_block else "visible"


def markdown(q: Quality) -> str:
    """Which rule caught which scenario, and false alerts per benign day, as a Markdown table (with a tier
    row when the pack has building blocks)."""
    head = "| scenario | " + " | ".join(f"`{r.rule}`" for r in q.rules) + " |"
    lines = [head, "|---|" + "---|" * len(q.rules)]
    if any(r.building_block for r in q.rules):
        lines.append("| *tier* | " + " | ".join(tier_of(r) for r in q.rules) + " |")
    for s in q.scenarios:
        lines.append(f"| {s} | " + " | ".join("✓" if s in r.detected else "✗" for r in q.rules) + " |")
    lines.append("| **recall** | " + " | ".join(f"{len(r.detected)}/{len(q.scenarios)}" for r in q.rules) + " |")
    lines.append("| **false alerts / day** | " + " | ".join(f"{r.false_per_day:.1f}" for r in q.rules) + " |")
    lines.append("| **benign identities alerted** | "
                 + " | ".join(f"{len(r.benign_identities_alerted)}/{q.benign_identities}" for r in q.rules) + " |")
    return "\n".join(lines) + "\n"


