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
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Quality:
    rules: list[RuleQuality]
    scenarios: list[str]
    benign_identities: int
    days: float
    warmup_days: float


def assess(alerts: list[Alert], labels: Labels, rules: list[str], warmup_ms: int = DAY_MS) -> Quality:
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
                               [s for s in labels.scenarios if s not in detected]))
    return Quality(out, labels.scenarios, len(labels.benign_identities),
                   (labels.last_ts - labels.first_ts) / DAY_MS, warmup_ms / DAY_MS)


def with_pack_total(q: Quality, name: str = "whole pack", leave_out: tuple[str, ...] = ("seed_as_written",)
                    ) -> Quality:
    """Add a column for the rule pack as a whole: a scenario is caught when any of its rules caught it."""
    members = [r for r in q.rules if r.rule not in leave_out]
    if len(members) < 2:
        return q
    detected = set().union(*(r.detected for r in members))
    total = RuleQuality(
        name, sum(r.alerts for r in members), detected, sum(r.false_alerts for r in members),
        sum(r.false_per_day for r in members), set().union(*(r.benign_identities_alerted for r in members)),
        [s for s in q.scenarios if s not in detected])
    rules = [*members, total, *(r for r in q.rules if r.rule in leave_out)]
    return Quality(rules, q.scenarios, q.benign_identities, q.days, q.warmup_days)


def markdown(q: Quality) -> str:
    """Which rule caught which scenario, and false alerts per benign day, as a Markdown table."""
    head = "| scenario | " + " | ".join(f"`{r.rule}`" for r in q.rules) + " |"
    lines = [head, "|---|" + "---|" * len(q.rules)]
    for s in q.scenarios:
        lines.append(f"| {s} | " + " | ".join("✓" if s in r.detected else "✗" for r in q.rules) + " |")
    lines.append("| **recall** | " + " | ".join(f"{len(r.detected)}/{len(q.scenarios)}" for r in q.rules) + " |")
    lines.append("| **false alerts / day** | " + " | ".join(f"{r.false_per_day:.1f}" for r in q.rules) + " |")
    lines.append("| **benign identities alerted** | "
                 + " | ".join(f"{len(r.benign_identities_alerted)}/{q.benign_identities}" for r in q.rules) + " |")
    return "\n".join(lines) + "\n"


