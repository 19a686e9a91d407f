"""One runner per rule type: how Kibana's detection engine turns query results into alerts, over a stream.

How a rule's scheduled runs are mapped onto a file (docs/backtest.md, "Kibana's runs over a file"):

- Kibana runs a rule every `interval`, each run searching `[now - lookback, now]` (`from: now-70m`).
  Scheduled runners (ES|QL, threshold) execute at every multiple of the interval (epoch-aligned) from the
  rule's first document on, and after the last document as long as a run's window still covers it, each
  over the documents of its window, with NOW() = the run time.
- EQL: each run returns the window's sequences; Kibana makes one building-block alert per event and a
  shell alert per sequence, with ids derived from the sequence's events ("the ID of each building block
  alert depends on all of the other building blocks", elastic/kibana x-pack/solutions/security/plugins/
  security_solution/server/lib/detection_engine/rule_types/eql/build_alert_group_from_sequence.ts), so a
  sequence found again by the next, overlapping run is the same alert.
  The backtest runs one continuous sequence matcher (sequences.py) and reports every sequence once. For
  rules whose lookback covers maxspan + interval (both EQL rules of the pack) every sequence fits inside
  some run's window, so the union of the runs' alerts is the continuous matcher's output.
- ES|QL with STATS: every run returns its rows and every row becomes an alert; Kibana does not
  deduplicate aggregating queries across runs ("Rules that use aggregating queries might create duplicate
  alerts ... when events that occur in the additional look-back time are aggregated both in the current
  and previous rule execution", https://www.elastic.co/guide/en/security/current/rules-ui-create.html).
  So the backtest reports each run's rows, and a harvest seen by several runs raises
  several alerts, as in Kibana. ES|QL without STATS: one alert per event, once.
- Threshold: each run buckets its window's events by the threshold fields and alerts on buckets at or over
  the threshold (and cardinality). Kibana remembers each bucket's last alert (threshold signal history) and
  later runs only count that bucket's events after it, so the same events never alert twice.
- New terms: an event alerts when its combination of values of the new-terms fields (every combination
  of a multi-valued field's values) was not seen in the `history_window` before it; one alert per new
  combination. Kibana checks each run's new values against history before the run's window and derives
  the alert id from the document, so overlapping runs report a new term once; continuously evaluated, the
  result is the same except at the very start of the file, where there is no history (see quality.py's
  warm-up).

Alert suppression (`alert_suppression` in the asset) is applied to the alerts a runner raises, and rule
exceptions (`--allowlist`) to the documents it is fed, in run.py (see suppression.py and exceptions.py).
Not modelled: `max_signals` (100 alerts per run), and gaps or delays in the schedule.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from ...fieldpath import compile_getter
from .alerts import ADDRESS_FIELD, ALERT_FIELDS, IDENTITY_FIELDS, Alert, alert_from_events
from .conditions import Literals, Predicate, literals_all, whole
from .eql_compile import compile_eql
from .esql_compile import Groups, Row, Stats, compile_esql
from .esql_values import EsDate
from .events import Event
from .exceptions import EXCEPTION_FIELDS
from .lucene_compile import compile_lucene
from .rulepack import Rule
from .sequences import matcher_for


class Runner:
    """Feed events in time order; `alerts` fills as rule runs fire."""

    literals: Literals = None
    reads: frozenset[str] | None = None  # the fields its compiled query reads (None: unknown)
    index: list[str]

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.alerts: list[Alert] = []
        self.index = list(rule.index)
        self.settled = 0  # alerts[:settled] went through alert suppression (see run.py)

    def feed(self, ev: Event) -> None:
        raise NotImplementedError

    def line_literals(self) -> Literals:
        """What a line must contain for this rule to read it: its query's literals or its indices' datasets."""
        datasets = [p.split("-", 1)[1].rsplit("-", 1)[0] if p.count("-") >= 2 else "" for p in self.index]
        by_index = whole(datasets) if all("*" not in d for d in datasets) else None
        return literals_all([self.literals, by_index])

    def fields(self) -> frozenset[str] | None:
        """Every field the rule reads of a document: its query's, its alerts', its suppression's and its
        exception's (None: unknown, so whole documents are needed)."""
        if self.reads is None:
            return None
        extra = set(ALERT_FIELDS)
        if self.rule.suppression is not None:
            extra.update(self.rule.suppression.group_by)
        if self.rule.exceptions is not None:
            extra.update(EXCEPTION_FIELDS)
        return self.reads | extra

    def advance(self, now: int) -> None:
        """Time has reached `now` (the next event's timestamp): execute the runs due before it."""

    def make_alert(self, events: list[Event], fields: dict[str, Any], run: int | None) -> Alert:
        """The alert of a result over `events` (a derived source's runner replaces it: see derived.py)."""
        return _alert(self.rule.slug, events, fields, run)

    def finish(self) -> None:
        """The input ended: execute the remaining runs whose windows still hold events."""


class EqlRunner(Runner):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        spec = compile_eql(rule.query)
        self.literals = spec.literals
        self.reads = spec.fields
        self.matcher = matcher_for(spec, self._matched)

    def _matched(self, events: list[Any], key: tuple[Any, ...]) -> None:
        self.alerts.append(self.make_alert(events, {}, None))

    def feed(self, ev: Event) -> None:
        self.matcher.feed(ev)


class ScheduledRunner(Runner):
    """Runs at every multiple of the rule's interval; each run sees `[run - lookback, run)`."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        self.next_run: int | None = None
        self.last_ts: int | None = None
        self.buffer: deque[Any] = deque()  # (ts, item), in time order

    def advance(self, now: int) -> None:
        """Every run is executed, also over empty windows (STATS without BY returns a row even then)."""
        interval = self.rule.interval_ms
        self.last_ts = now
        if self.next_run is None:
            self.next_run = (now // interval + 1) * interval
            return
        while self.next_run <= now:
            self._run(self.next_run)
            self.next_run += interval

    def finish(self) -> None:
        if self.next_run is None or self.last_ts is None:
            return
        while self.next_run - self.rule.lookback_ms <= self.last_ts:
            self._run(self.next_run)
            self.next_run += self.rule.interval_ms

    def _window(self, run: int) -> list[Any]:
        start = run - self.rule.lookback_ms
        buf = self.buffer
        while buf and buf[0][0] < start:
            buf.popleft()
        return [item for _, item in buf]

    def _run(self, run: int) -> None:
        raise NotImplementedError


class EsqlRunner(ScheduledRunner):
    """Each run executes the per-run steps over its window's rows. When they start with a STATS whose
    expressions do not call NOW() and the lookback is a whole number of intervals, the rows are read into
    STATS groups once, in slices of one interval each (`Stats.groups`), and each run joins the slices of its
    window (`Stats.rows`): the same rows as the STATS over the window, without reading each row at every
    run whose window holds it (24 times for a 24-hour lookback run hourly)."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        self.plan = compile_esql(rule.query)
        self.index = self.plan.sources
        self.literals = self.plan.literals
        self.reads = self.plan.fields
        self.reported: dict[int, int] = {}  # non-aggregating: event index -> ts, alerted once
        first = self.plan.table_steps[0] if self.plan.table_steps else None
        self.stats = first if isinstance(first, Stats) and not first.uses_now and rule.interval_ms > 0 \
            and rule.lookback_ms % rule.interval_ms == 0 else None
        # (interval start, the STATS groups of consecutive rows of that interval), in the order rows came
        self.slices: deque[tuple[int, Groups]] = deque()

    def feed(self, ev: Event) -> None:
        row = Row(ev.doc, {"@timestamp": EsDate(ev.ts)}, [ev])
        for step in self.plan.stream_steps:
            if not step(row):
                return
        self.plan.materialise(row)
        self.buffer.append((ev.ts, row))

    def _run(self, run: int) -> None:
        if self.stats is not None:
            rows = self.stats.rows(self._sliced(run))
            steps = self.plan.table_steps[1:]
        else:
            rows = [Row(r.doc, dict(r.cols), r.events) for r in self._window(run)]
            steps = self.plan.table_steps
        for step in steps:
            rows = step(rows, run)
        horizon = run - self.rule.lookback_ms
        for row in rows:
            events = row.events
            if not self.plan.aggregating:
                events = [e for e in events if e.index not in self.reported]
                if not events:
                    continue
                self.reported.update((e.index, e.ts) for e in events)
            self.alerts.append(self.make_alert(events, dict(row.cols), run))
        if self.reported:
            self.reported = {i: ts for i, ts in self.reported.items() if ts >= horizon}


    def _sliced(self, run: int) -> list[Groups]:
        """The STATS groups of the window's rows, slice by slice: rows buffered since the last run are read
        into new slices (a new one wherever the interval changes from one row to the next), and slices leave
        from the oldest while their interval starts before the window, as `_window` lets rows go."""
        stats, slices, interval = self.stats, self.slices, self.rule.interval_ms
        assert stats is not None
        buf = self.buffer
        while buf:
            pane = buf[0][0] - buf[0][0] % interval
            chunk = []
            while buf and buf[0][0] - buf[0][0] % interval == pane:
                chunk.append(buf.popleft()[1])
            slices.append((pane, stats.groups(chunk, run)))
        start = run - self.rule.lookback_ms
        while slices and slices[0][0] < start:
            slices.popleft()
        return [groups for _, groups in slices]


class ThresholdRunner(ScheduledRunner):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        self.predicate: Predicate
        self.predicate, self.literals, reads = compile_lucene(rule.query)
        spec = rule.threshold or {}
        fields = spec.get("field") or []
        self.by = [fields] if isinstance(fields, str) else list(fields)
        self.getters = [compile_getter(f) for f in self.by]
        self.value = int(spec.get("value", 1))
        cardinality = spec.get("cardinality") or []
        self.cardinality = [(compile_getter(cd["field"]), int(cd["value"])) for cd in cardinality]
        self.reads = reads | set(self.by) | {cd["field"] for cd in cardinality}
        self.last_alert: dict[tuple[Any, ...], int] = {}  # bucket -> ts of the last event it alerted on

    def feed(self, ev: Event) -> None:
        if not self.predicate(ev.doc):
            return
        values = _value_lists(self.getters, ev.doc)
        if values is None:
            return  # a terms aggregation has no bucket for a missing value
        for bucket in itertools.product(*values):
            self.buffer.append((ev.ts, (bucket, ev)))

    def _run(self, run: int) -> None:
        groups: dict[tuple[Any, ...], list[Event]] = {}
        for bucket, ev in self._window(run):
            if ev.ts > self.last_alert.get(bucket, -1):
                groups.setdefault(bucket, []).append(ev)
        for bucket, events in groups.items():
            if len(events) < self.value:
                continue
            distinct_ok = True
            for get, minimum in self.cardinality:
                seen: set[Any] = set()
                for e in events:
                    v = get(e.doc)
                    if v is not None:
                        seen.update(v if type(v) is list else [v])
                distinct_ok = distinct_ok and len(seen) >= minimum
            if not distinct_ok:
                continue
            self.last_alert[bucket] = events[-1].ts
            self.alerts.append(self.make_alert(events, dict(zip(self.by, bucket, strict=True)), run))
        horizon = run - self.rule.lookback_ms
        if len(self.last_alert) > 1024:
            self.last_alert = {b: ts for b, ts in self.last_alert.items() if ts >= horizon}


class NewTermsRunner(Runner):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        self.predicate: Predicate
        self.predicate, self.literals, reads = compile_lucene(rule.query)
        self.getters = [compile_getter(f) for f in rule.new_terms_fields]
        self.reads = reads | set(rule.new_terms_fields)
        self.last_seen: dict[tuple[Any, ...], int] = {}
        self.next_purge = 0

    def feed(self, ev: Event) -> None:
        if not self.predicate(ev.doc):
            return
        values = _value_lists(self.getters, ev.doc)
        if values is None:
            return
        history = self.rule.history_ms
        if ev.ts >= self.next_purge:  # forget terms older than the history window: they are new again
            self.last_seen = {k: ts for k, ts in self.last_seen.items() if ev.ts - ts <= history}
            self.next_purge = ev.ts + max(history // 14, 3_600_000)
        for combo in itertools.product(*values):
            last = self.last_seen.get(combo)
            self.last_seen[combo] = ev.ts
            if last is None or ev.ts - last > history:
                alert = self.make_alert([ev], dict(zip(self.rule.new_terms_fields, combo, strict=True)), None)
                alert.fields = {"new_terms": list(combo)}
                self.alerts.append(alert)


def _value_lists(getters: list[Any], doc: dict[str, Any]) -> list[list[Any]] | None:
    """Each field's values (a list even for one value), or None when a field is missing."""
    out = []
    for get in getters:
        v = get(doc)
        if v is None:
            return None
        out.append(v if type(v) is list else [v])
    return out


def _alert(slug: str, events: list[Event], fields: dict[str, Any], run: int | None) -> Alert:
    """An alert whose identity and address come from the result's fields when it has them."""
    identity = next((fields[f] for f in IDENTITY_FIELDS if f in fields), None)
    return alert_from_events(slug, events, identity=identity, source_ip=fields.get(ADDRESS_FIELD), detected_at=run,
                             fields=fields)


RUNNERS: dict[str, type[Runner]] = {
    "eql": EqlRunner, "esql": EsqlRunner, "threshold": ThresholdRunner, "new_terms": NewTermsRunner,
}
