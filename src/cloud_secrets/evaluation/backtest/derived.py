"""Derived sources: indices that Elasticsearch fills from other documents, rebuilt from the tagged stream.

A rule reads the index patterns of its asset (`index`, or the ES|QL `FROM`). When a pattern names no raw
data stream but the destination of something the package ships, such as the `identity_hourly`
transform's alias `logs-cloud_secrets.identity_hourly.latest` (or its destination indices,
`logs-cloud_secrets.identity_hourly-*`), the rule's runner is wrapped in a `DerivedRunner`:
the raw documents go to the derived source, which hands the rule the documents Elasticsearch would have
written, at the time it would have written them.

`SummarySource` is the transform: `evaluation.baselines.SummaryBuilder` (the reference computation of its pivot,
which tests/test_baselines.py proves equal to the pivot run as a composite aggregation on Elasticsearch)
counts the documents its source query selects, per identity and hour. The transform syncs on
`event.ingested`, not on the hour's `@timestamp`, so Elasticsearch updates an hour's row at every
checkpoint while its events arrive; with events stored as they happen (the input has one time, its
`@timestamp`), the row is complete at the first checkpoint at least `sync.time.delay` past the end of the
hour. The backtest takes the hour starting at H as written at H + 1h + delay + frequency (`frequency: 5m`,
`delay: 15m`: H + 1h20m) and feeds its rows to the rule then: the rule never reads an hour younger than
that (`baseline_deviation` judges hours 80 to 140 minutes old), so the partial rows before it change no
result. Only the open hours are held, so memory does not grow with the input. Rules over the same derived
index in one run (`runners_for`) share its source: each document is counted once and every rule reads every
written row, as every rule reads the one summary index in Elasticsearch.

Alerts: a rule over summary rows aggregates an identity's history, so its alert stands for the identity
and the newest hour among the rows of its group (for `baseline_deviation`, the hour judged: later hours
are not written yet when it runs). The alert's documents are the tagged documents the transform counted
in those rows (that identity, that hour), so the quality report can tell whether it contains an attack.
"""

from __future__ import annotations

import fnmatch
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ... import paths
from ...assets.transform import DEST_ALIAS, DEST_INDEX, SOURCE_FIELDS, TRANSFORM
from ...errors import UserError
from ...timestamps import to_datetime
from .. import baselines
from . import baseline_runner, unusual_hour_runner
from .alerts import Alert, alert_from_events
from .conditions import Literals, whole
from .durations import duration_ms
from .events import Event
from .rulepack import Rule
from .runners import RUNNERS, Runner

HOUR_MS = 3_600_000
TRANSFORM_DIR = paths.PACKAGE / "elasticsearch" / "transform"


class RowEvent(Event):
    """A derived document (a summary row) and the input documents it was computed from."""

    __slots__ = ("first", "last", "lines", "sources")

    def __init__(self, index: int, ts: int, doc: dict[str, Any]) -> None:
        super().__init__(index, 0, ts, doc)
        self.sources = array("q")  # 0-based indices of the input documents counted in the row
        self.lines = array("q")
        self.first = self.last = 0  # their first and last @timestamp


@dataclass
class Transform:
    """What the backtest needs of a shipped transform (`transform.yml`)."""

    name: str
    source: list[str]
    dest: str
    delay_ms: int
    frequency_ms: int

    @classmethod
    def load(cls, name: str, directory: Path = TRANSFORM_DIR) -> Transform:
        path = directory / name / "transform.yml"
        try:
            body = yaml.safe_load(path.read_text(encoding="utf-8"))
            group = body["pivot"]["group_by"]["@timestamp"]["date_histogram"]
            where = f"{path.name} of {name}"
            if group.get("fixed_interval") != "1h":
                raise UserError(f"{where}: the backtest rebuilds hourly summaries only, not {group}")
            return cls(name, list(body["source"]["index"]), body["dest"]["index"],
                       duration_ms(body["sync"]["time"].get("delay", "60s"), f"{where}: sync.time.delay"),
                       duration_ms(body.get("frequency", "1m"), f"{where}: frequency"))
        except (OSError, KeyError, TypeError) as err:
            raise UserError(f"{path}: cannot read the transform ({err})") from None


class SummarySource:
    """The `identity_hourly` transform over the input: summary rows per closed hour."""

    def __init__(self, transform: Transform) -> None:
        self.transform = transform
        self.index = transform.source
        self.builder = baselines.SummaryBuilder()
        self.open: dict[tuple[Any, ...], RowEvent] = {}  # group key -> the documents counted in it
        self.rows = 0
        self._hour = (-1, datetime.min)
        self._last: Event | None = None
        # Written rows not yet taken by every reader (rules over the same summary share one source):
        self._written: list[tuple[int, list[RowEvent]]] = []
        self._base = 0  # the position of _written[0] among all written batches
        self._taken: list[int] = []  # per reader: the batches it has taken

    def reader(self) -> int:
        """A new reader of the written rows (a rule over the summary); `due` takes its id."""
        self._taken.append(self._base + len(self._written))
        return len(self._taken) - 1

    def line_literals(self) -> Literals:
        return whole(["secret_access"])  # the source query's `tags: secret_access`

    def feed(self, ev: Event) -> None:
        """Count the document once, however many rules over the summary hand it over."""
        if ev is self._last:
            return
        self._last = ev
        hour_ms = ev.ts - ev.ts % HOUR_MS
        if self._hour[0] != hour_ms:
            self._hour = (hour_ms, to_datetime(hour_ms))
        key = self.builder.add(ev.doc, self._hour[1])
        if key is None:
            return
        row = self.open.get(key)
        if row is None:
            row = self.open[key] = RowEvent(-1, hour_ms, {})
            row.first = ev.ts
        row.sources.append(ev.index)
        row.lines.append(ev.line)
        row.last = ev.ts

    def written_at(self, hour_ms: int) -> int:
        return hour_ms + HOUR_MS + self.transform.delay_ms + self.transform.frequency_ms

    def due(self, now: int | None, reader: int | None = None) -> list[tuple[int, list[RowEvent]]]:
        """(write time, rows) of the hours written by `now` (all open hours when None), oldest first, that
        `reader` has not taken yet (None: a source read by one caller, which takes what is written now)."""
        written = self._write(now)
        if reader is None:
            return written
        self._written.extend(written)
        start = self._taken[reader] - self._base
        out = self._written[start:]
        self._taken[reader] = self._base + len(self._written)
        done = min(self._taken) - self._base  # taken by every reader: let go
        if done:
            del self._written[:done]
            self._base += done
        return out

    def _write(self, now: int | None) -> list[tuple[int, list[RowEvent]]]:
        bound_ms = now - HOUR_MS - self.transform.delay_ms - self.transform.frequency_ms if now is not None else None
        bound = datetime.max.replace(tzinfo=UTC) if bound_ms is None else \
            to_datetime(bound_ms // HOUR_MS * HOUR_MS + HOUR_MS)
        out: list[tuple[int, list[RowEvent]]] = []
        for key, doc in self.builder.rows_before(bound):
            row = self.open.pop(key)
            row.doc = doc
            row.index = self.rows
            self.rows += 1
            at = self.written_at(row.ts)
            if out and out[-1][0] == at:
                out[-1][1].append(row)
            else:
                out.append((at, [row]))
        return out


class DerivedRunner(Runner):
    """A rule over a derived index: raw documents feed the source; the source's rows feed the rule's runner."""

    def __init__(self, rule: Rule, inner: Runner, source: SummarySource) -> None:
        # A rule exception (the allowlist) filters the rule's own source, the derived rows, not the documents
        # the transform summarises: run.py, which filters what it routes, gets the rule without it.
        super().__init__(replace(rule, exceptions=None))
        self.exceptions = rule.exceptions
        self.inner, self.source = inner, source
        self.reader = source.reader()
        self.last_write: int | None = None
        self.index = source.index
        self.alerts = inner.alerts  # one list: run.py settles and drains it in place
        self.literals = source.line_literals()
        inner.make_alert = self._alert  # type: ignore[method-assign]

    def line_literals(self) -> Literals:
        return self.literals

    def fields(self) -> frozenset[str] | None:
        """What the transform reads of a document (the rule itself reads summary rows, built here)."""
        return frozenset(SOURCE_FIELDS)

    def _release(self, now: int | None) -> None:
        for at, rows in self.source.due(now, self.reader):
            self.inner.advance(at)
            self.last_write = at
            for row in rows:
                if self.exceptions is None or not self.exceptions.excludes(row.doc):
                    self.inner.feed(row)

    def advance(self, now: int) -> None:
        self._release(now)
        self.inner.advance(now)

    def feed(self, ev: Event) -> None:
        self.source.feed(ev)

    def finish(self) -> None:
        """The source writes its last hours; the rule runs until one interval after the last write. Later runs
        would see no new row, only NOW() moving past the end of the input (14 days of them for a 14-day
        lookback): nothing a rule judging written hours can alert on, and artefacts for one alerting on
        absence."""
        self._release(None)
        if self.last_write is not None:
            self.inner.advance(self.last_write + self.rule.interval_ms)

    def _alert(self, events: list[Event], fields: dict[str, Any], run: int | None) -> Alert:
        """The alert of a result row over summary rows: the identity and newest hour of its rows, with the
        input documents counted in them."""
        rows = [e for e in events if isinstance(e, RowEvent)]
        if not rows:
            return alert_from_events(self.rule.slug, events, detected_at=run, fields=fields)
        newest = max(r.ts for r in rows)
        rows = [r for r in rows if r.ts == newest]
        sources = sorted((i, line) for r in rows for i, line in zip(r.sources, r.lines, strict=True))
        identity = fields.get("cloud_secrets.identity")
        return Alert(self.rule.slug, None if identity is None else str(identity), None,
                     min(r.first for r in rows), max(r.last for r in rows), len(sources),
                     [i for i, _ in sources], [line for _, line in sources], detected_at=run, fields=fields)


#: Derived indices the backtest can rebuild: destination index -> its source, made from the package's assets.
DERIVED: dict[str, Callable[[], SummarySource]] = {
    DEST_INDEX: lambda: SummarySource(Transform.load(TRANSFORM)),
}
#: The alias readers use for a derived index (the transform's `dest.aliases`).
ALIASES = {DEST_INDEX: DEST_ALIAS}


def names(pattern: str, dest: str) -> bool:
    """The pattern names this derived index: it is the index's alias, or it matches the index and spells out
    its type and dataset (`logs-*`, which would also match both, reads raw data streams)."""
    if pattern == ALIASES.get(dest):
        return True
    return fnmatch.fnmatchcase(dest, pattern) and pattern.rsplit("-", 1)[0] == dest.rsplit("-", 1)[0]


def derived_runner(rule: Rule, inner: Runner, sources: dict[str, SummarySource] | None = None) -> Runner:
    """`inner` itself, or wrapped when its index patterns name a derived index rather than raw data streams.
    `sources`: the derived sources already made for other rules of the same run, shared (filled here)."""
    for dest, make in DERIVED.items():
        if any(names(p, dest) for p in inner.index):
            if len(inner.index) > 1:
                raise UserError(f"{rule.source}: the backtest cannot mix the derived index {dest} with other "
                                f"indices ({', '.join(inner.index)})")
            source = make() if sources is None else sources.get(dest) or sources.setdefault(dest, make())
            return DerivedRunner(rule, inner, source)
    return inner


def runner_for(rule: Rule, incremental: bool = True, sources: dict[str, SummarySource] | None = None) -> Runner:
    """The rule's runner; over a derived index (the transform's summary) wrapped to be fed by its source.
    A query an incremental runner computes (baseline_runner.py, unusual_hour_runner.py: chosen by the query's
    shape, whatever the rule's name) is evaluated by it unless `incremental` is off; any other runs on the
    generic runner of its type."""
    if incremental and baseline_runner.applies(rule):
        inner: Runner = baseline_runner.BaselineDeviationRunner(rule)
    elif incremental and unusual_hour_runner.applies(rule):
        inner = unusual_hour_runner.UnusualHourRunner(rule)
    else:
        inner = RUNNERS[rule.type](rule)
    return derived_runner(rule, inner, sources)


def runners_for(rules: list[Rule], incremental: bool = True) -> list[Runner]:
    """The runners of a run: rules over the same derived index read one source (the transform runs once)."""
    sources: dict[str, SummarySource] = {}
    return [runner_for(r, incremental, sources) for r in rules]
