"""ML-free per-identity baselines computed without Elasticsearch: the reference of the summary transform's
documents, and of the `baseline_deviation` rule over them.

`summary_rows` computes the transform's destination documents from tagged events (same field names and
nesting, `@timestamp` as the ISO string a transform writes by default); tests prove it equal to the pivot run
as a composite aggregation on a node (`elastic.pivot`). `deviations` is the rule's logic over summary rows,
for tests and backtests.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..assets.package_assets import SIMULATED_TAG
from ..assets.transform import GROUP_BY, INTERVAL, READS, SUMMARY, SUMMARY_FIELDS, Margin
from ..fieldpath import first_value as _get
from ..fieldpath import put_dotted
from ..fieldpath import values_of as _values
from ..timestamps import hour_of, iso, to_datetime

DEFAULT_MARGIN = Margin()  # the numbers of the shipped rule


def is_secret_access(doc: Mapping[str, Any]) -> bool:
    """The transform's source query: tagged `secret_access` with a `cloud_secrets.operation`, not replayed."""
    tags = _values(doc, "tags")
    return "secret_access" in tags and SIMULATED_TAG not in tags and bool(_values(doc, "cloud_secrets.operation"))


class _Acc:
    def __init__(self) -> None:
        self.n = {f.name: 0 for f in SUMMARY_FIELDS}
        self.ips: set[str] = set()
        self.secrets: set[str] = set()

    def add(self, doc: Mapping[str, Any]) -> None:
        op = _values(doc, "cloud_secrets.operation")[0]
        success = "success" in _values(doc, "cloud_secrets.outcome")
        ids = _values(doc, "cloud_secrets.secret.id")
        count = sum(_values(doc, "cloud_secrets.secret.count"))
        n = self.n
        n["events"] += 1
        n["reads"] += op in READS
        n["lists"] += op == "list"
        n["describes"] += op == "describe"
        n["failures"] += "failure" in _values(doc, "cloud_secrets.outcome")
        self.ips.update(_values(doc, "source.ip"))
        if op in READS and success:
            self.secrets.update(ids)
            n["read_success.values"] += count
            if op == "batch_read":
                n["batch.calls"] += 1
                n["batch.secrets"] += count
                if not ids:
                    n["batch_unnamed.calls"] += 1
                    n["batch_unnamed.secrets"] += count

    def numbers(self) -> dict[str, int]:
        return {**self.n, "source_ips": len(self.ips), "read_success.secrets": len(self.secrets)}


class SummaryBuilder:
    """The transform's destination documents, built incrementally: `add` each tagged document, then take the
    rows of the hours before a bound with `rows_before` (what a checkpoint writes once those hours are
    complete) or all of them with `rows`. Memory holds the open hours' groups only."""

    def __init__(self) -> None:
        self.groups: dict[tuple[Any, ...], _Acc] = {}
        self.oldest: datetime | None = None  # the earliest hour among the groups (rows_before's fast path)

    def add(self, doc: Mapping[str, Any], hour: datetime | None = None) -> tuple[Any, ...] | None:
        """Count `doc` in its group; returns the group's key (hour, *GROUP_BY values), or None when the
        transform leaves the document out. `hour`: the start of the document's hour, if already known."""
        if not is_secret_access(doc):
            return None
        keys = [(_values(doc, f) or [None])[0] for f in GROUP_BY]
        if None in keys or _get(doc, "@timestamp") is None:
            return None
        key = (hour or hour_of(to_datetime(_get(doc, "@timestamp"))), *keys)
        acc = self.groups.get(key)
        if acc is None:
            acc = self.groups[key] = _Acc()
            if self.oldest is None or key[0] < self.oldest:
                self.oldest = key[0]
        acc.add(doc)
        return key

    def rows_before(self, bound: datetime) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """(key, row) of the hours starting before `bound`, sorted by hour and group, and forgotten."""
        if self.oldest is None or bound <= self.oldest:
            return []  # called for every document: nothing is due until the oldest open hour is
        done = sorted(k for k in self.groups if k[0] < bound)
        out = [(k, _row(k, self.groups.pop(k))) for k in done]
        self.oldest = min((k[0] for k in self.groups), default=None)
        return out

    def rows(self) -> list[dict[str, Any]]:
        return [row for _, row in self.rows_before(datetime.max.replace(tzinfo=UTC))]


def _row(key: tuple[Any, ...], acc: _Acc) -> dict[str, Any]:
    hour, *keys = key
    row: dict[str, Any] = {}
    for field, value in zip(GROUP_BY, keys, strict=True):
        put_dotted(row, field, value)
    put_dotted(row, "@timestamp", iso(hour))
    for name, value in acc.numbers().items():
        put_dotted(row, f"{SUMMARY}.{name}", value)
    return row


def summary_rows(docs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The transform's destination documents computed in Python from tagged documents, sorted by hour and
    group. A document lacking a group-by value is left out, as the transform's terms groups leave it out."""
    builder = SummaryBuilder()
    for doc in docs:
        builder.add(doc)
    return builder.rows()


# --- the baseline_deviation rule's logic ----------------------------------------------------------------

@dataclass(frozen=True)
class Deviation:
    identity: str
    current_secrets: int
    current_hour: str
    baseline_median: float | None
    baseline_mad: float | None
    baseline_hours: int
    limit: float


def secrets_in_hour(row: Mapping[str, Any]) -> int:
    """Distinct secrets an identity read in one summary row: named ids plus filter-selected batch values."""
    return int(_get(row, f"{SUMMARY}.read_success.secrets") or 0) + int(
        _get(row, f"{SUMMARY}.batch_unnamed.secrets") or 0)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation (unscaled), as Elasticsearch's MEDIAN_ABSOLUTE_DEVIATION."""
    centre = statistics.median(values)
    return statistics.median(abs(v - centre) for v in values)


def limit_for(history: Sequence[float], margin: Margin) -> float:
    if not history:
        return margin.floor
    median = statistics.median(history)
    return max(margin.floor, median + max(margin.k * mad(history), median))


def identity_hours(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[datetime, tuple[int, str]]]:
    """identity -> start of hour -> (distinct secrets read, the hour's `@timestamp` as written): the rule's
    first STATS. The transform writes one row per identity, identity type and provider, so an identity
    active on two clouds (or under two types) in one hour has two rows; its hour is their sum (secret ids
    of different stores never coincide)."""
    out: dict[str, dict[datetime, tuple[int, str]]] = {}
    for row in rows:
        stamp = _get(row, "@timestamp")
        hours = out.setdefault(_get(row, "cloud_secrets.identity"), {})
        ts = to_datetime(stamp)
        before = hours.get(ts)
        hours[ts] = (secrets_in_hour(row) + (before[0] if before else 0), stamp)
    return out


def _deviation(identity: str, value: int, stamp: str, past: list[int], margin: Margin) -> Deviation | None:
    limit = limit_for(past, margin)
    if value <= limit:
        return None
    return Deviation(identity, value, stamp, statistics.median(past) if past else None,
                     mad(past) if past else None, len(past), limit)


def deviations(rows: Iterable[Mapping[str, Any]], now: datetime, margin: Margin = DEFAULT_MARGIN) -> list[Deviation]:
    """What `baseline_deviation` returns when it runs at `now` over the summary rows."""
    start, recent_from, recent_to = now - margin.history, now - margin.recent_from, now - margin.recent_to
    out = []
    for identity, hours in sorted(identity_hours(rows).items()):
        window = {ts: v for ts, v in hours.items() if start <= ts <= recent_to}
        recent = [v for ts, v in window.items() if ts > recent_from]
        if not recent:
            continue
        value, stamp = max(v for v, _ in recent), max(s for _, s in recent)
        dev = _deviation(identity, value, stamp, [v for ts, (v, _) in window.items() if ts <= recent_from], margin)
        if dev is not None:
            out.append(dev)
    return out


def hourly_runs(rows: list[Mapping[str, Any]], margin: Margin = DEFAULT_MARGIN) -> Iterator[tuple[datetime, Deviation]]:
    """Run the rule every hour at hh:05 across the rows' time span (the hour starting at S is judged at S+2:05)."""
    hours = sorted({hour_of(to_datetime(_get(r, "@timestamp"))) for r in rows})
    if not hours:
        return
    t = hours[0] + timedelta(minutes=5)
    while t <= hours[-1] + timedelta(hours=3, minutes=5):
        for dev in deviations(rows, t, margin):
            yield t, dev
        t += INTERVAL


def judged_hours(rows: Iterable[Mapping[str, Any]], margin: Margin = DEFAULT_MARGIN,
                 run_minute: int = 5) -> list[tuple[datetime, Deviation]]:
    """The same alerts as `hourly_runs` (rule run every hour at hh:`run_minute`), computed per identity in
    one pass over `identity_hours`: the hour starting at S is judged by the run at S + 2h + run_minute
    against the identity's hours in [run - history, run - recent_from]. For backtests over many identities
    and days."""
    out = []
    for identity, hours in sorted(identity_hours(rows).items()):
        ordered = sorted(hours.items())
        for i, (ts, (value, stamp)) in enumerate(ordered):
            run = ts + timedelta(hours=2, minutes=run_minute)
            if not run - margin.recent_from < ts <= run - margin.recent_to:
                continue
            past = [v for t, (v, _) in ordered[:i] if run - margin.history <= t <= run - margin.recent_from]
            dev = _deviation(identity, value, stamp, past, margin)
            if dev is not None:
                out.append((run, dev))
    return sorted(out, key=lambda item: (item[0], item[1].identity))


def backtest_alerts(rows: Iterable[Mapping[str, Any]], margin: Margin = DEFAULT_MARGIN,
                    run_minute: int = 5) -> list[dict[str, Any]]:
    """`judged_hours` as alert lines in the backtest's shape (`rule`, `identity`, `source_ip`, `start`,
    `end`, `event_count` = distinct secrets read in the hour) plus the rule's own columns. The backtest
    runs hourly rules on the hour (`run_minute=0`)."""
    out = []
    for run, dev in judged_hours(rows, margin, run_minute):
        start = to_datetime(dev.current_hour)
        out.append({"rule": "baseline_deviation", "identity": dev.identity, "source_ip": None,
                    "start": dev.current_hour, "end": iso(start + INTERVAL),
                    "event_count": dev.current_secrets, "run": iso(run),
                    "limit": dev.limit, "baseline_median": dev.baseline_median, "baseline_mad": dev.baseline_mad,
                    "baseline_hours": dev.baseline_hours})
    return out
