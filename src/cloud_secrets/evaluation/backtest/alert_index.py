"""Elastic Security's alerts index, rebuilt from the alerts the pack raises, for rules that read it.

A higher-order rule (`FROM .alerts-security.alerts-*`) reads alert documents, not events. Kibana writes one
alert document per alert a rule creates (after alert suppression) into `.alerts-security.alerts-<space>`,
building blocks included (`kibana.alert.building_block_type: default`), with:

- the `kibana.alert.*` fields of the rule and the alert: `kibana.alert.rule.rule_id`, `.name`, `.type`,
  `kibana.alert.risk_score`, `kibana.alert.severity`, `kibana.alert.building_block_type`,
  `kibana.alert.original_time` (the first event), `kibana.alert.workflow_status: open`, and `@timestamp`,
  the time of the rule run that created it;
- the source fields: for rules that alert on documents (EQL, new_terms, non-aggregating ES|QL) the
  event's own fields (a sequence's shell alert keeps the fields its events share: our sequences join on the
  identity and address, so the first event's identity and address are the sequence's); for aggregating
  ES|QL rules only the columns of the row, and for threshold rules only the threshold's terms.

Kibana's alerts index is `dynamic: false`: only ECS and `kibana.alert.*` fields are searchable
(catalog/kibana_alert_fields.yml), so the alert document is built with exactly those fields of its source
and a rule over it reads nothing else. See Kibana's
x-pack/solutions/security/plugins/security_solution/server/lib/detection_engine/rule_types/factories/utils/
build_alert.ts and eql/build_alert_group_from_sequence.ts.

The backtest feeds each alert document, at its `@timestamp`, to the runners of the rules over the alerts
index, with the source documents the alert was raised on: a higher-order alert's documents are the
events behind the signals it combines, so the quality report judges it on them.
"""

from __future__ import annotations

import fnmatch
import heapq
import itertools
from typing import Any

from ...assets.alert_fields import alert_field_map
from ...fieldpath import values_of
from .alerts import Alert
from .esql_compile import Row
from .esql_values import EsDate
from .events import Event
from .rulepack import Rule
from .runners import EsqlRunner, Runner

#: The concrete index Kibana writes alerts of the default space to.
ALERTS_INDEX = ".alerts-security.alerts-default"
#: Rule types whose alerts copy the fields of the documents they alert on.
SOURCE_COPY_TYPES = ("eql", "new_terms")


def reads_alerts(runner: Runner) -> bool:
    return any(fnmatch.fnmatchcase(ALERTS_INDEX, p) for p in runner.index)


def created_at(alert: Alert, rule: Rule) -> int:
    """When Kibana created the alert: the run that raised it, or, for rules matched continuously (EQL
    sequences, new terms), the first scheduled run after its last event."""
    if alert.detected_at is not None:
        return alert.detected_at
    interval = max(rule.interval_ms, 1)
    return (alert.end // interval + 1) * interval


def alert_document(alert: Alert, rule: Rule, source: dict[str, Any] | None, copies_source: bool) -> dict[str, Any]:
    """The fields of the alert document that the alerts index maps (dotted keys). `copies_source`: the rule
    alerts on documents and copies their fields (else its alert holds its result's columns or terms)."""
    doc: dict[str, Any] = {
        "@timestamp": created_at(alert, rule),
        "kibana.alert.rule.rule_id": rule.rule_id,
        "kibana.alert.rule.name": rule.name,
        "kibana.alert.rule.type": rule.type,
        "kibana.alert.risk_score": rule.risk_score,
        "kibana.alert.severity": rule.severity,
        "kibana.alert.original_time": alert.start,
        "kibana.alert.workflow_status": "open",
    }
    if rule.building_block:
        doc["kibana.alert.building_block_type"] = "default"
    mapped = alert_field_map()
    if copies_source:
        if source is not None:
            for name in mapped:
                if name.startswith(("kibana.", "@timestamp")):
                    continue
                vals = values_of(source, name)
                if vals:
                    doc[name] = vals if len(vals) > 1 else vals[0]
    else:  # aggregating ES|QL: its columns; threshold: its terms (only mapped names are searchable)
        for name, value in alert.fields.items():
            if name in mapped and not name.startswith("kibana.") and value not in (None, []):
                doc[name] = value
    return doc


def runner_alert_document(alert: Alert, runner: Runner, source: dict[str, Any] | None) -> dict[str, Any]:
    """The alert document of an alert `runner` raised on `source` (its first document)."""
    rule = runner.rule
    copies = rule.type in SOURCE_COPY_TYPES or (isinstance(runner, EsqlRunner) and not runner.plan.aggregating)
    return alert_document(alert, rule, source, copies)


class AlertIndex:
    """Alert documents waiting for their `@timestamp`, and the runners of the rules that read them."""

    def __init__(self, readers: list[Runner]) -> None:
        self.readers = readers
        self.pending: list[tuple[int, int, Row]] = []
        self._order = itertools.count()
        self.fed = False

    def add(self, alert: Alert, runner: Runner, source: dict[str, Any] | None) -> None:
        self.push(alert, runner_alert_document(alert, runner, source))

    def push(self, alert: Alert, doc: dict[str, Any]) -> None:
        """An alert and its alert document (runner_alert_document), waiting for the document's `@timestamp`."""
        ts = doc["@timestamp"]
        events = [Event(i, line, alert.end if n == len(alert.events) - 1 else alert.start, None)
                  for n, (i, line) in enumerate(zip(alert.events, alert.lines, strict=True))]
        row = Row(doc, {"@timestamp": EsDate(ts)}, events)
        heapq.heappush(self.pending, (ts, next(self._order), row))

    def advance(self, now: int) -> None:
        """Feed the documents written by `now` in time order, running each reader's schedule up to each."""
        pending = self.pending
        while pending and pending[0][0] <= now:
            ts, _, row = heapq.heappop(pending)
            for runner in self.readers:
                runner.advance(ts)
                _feed_row(runner, row)
            self.fed = True
        if self.fed:
            for runner in self.readers:
                runner.advance(now)

    def finish(self) -> None:
        if self.pending:
            self.advance(self.pending[-1][0] if len(self.pending) == 1 else max(p[0] for p in self.pending))
        for runner in self.readers:
            runner.finish()


def _feed_row(runner: Runner, row: Row) -> None:
    """An alert document into an ES|QL runner (the rule type higher-order rules of the pack use)."""
    if not isinstance(runner, EsqlRunner):
        raise TypeError(f"{runner.rule.slug}: the backtest reads the alerts index with ES|QL rules only")
    copy = Row(row.doc, dict(row.cols), row.events)
    for step in runner.plan.stream_steps:
        if not step(copy):
            return
    runner.plan.materialise(copy)
    runner.buffer.append((int(copy.cols["@timestamp"]), copy))
