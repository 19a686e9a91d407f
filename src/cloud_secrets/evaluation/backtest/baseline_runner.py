"""`baseline_deviation` evaluated incrementally: the same alerts as its ES|QL, without re-reading 14 days.

The rule (catalog/rules/baseline_deviation.yml) runs every hour over the transform's summary rows of the
last 14 days: a first STATS sums each identity's rows of an hour, a second takes, per identity, MEDIAN,
MEDIAN_ABSOLUTE_DEVIATION and COUNT of its past hours (`<= NOW() - 140 minutes`) and MAX of its hour judged
(`(NOW() - 140 minutes, NOW() - 80 minutes]`), and keeps the identities above `limit`. Run as written by
the generic ES|QL runner (esql_compile.py), every hourly run regroups every row of the 14-day window: on
the simulated week (300 identities) that is most of the whole pack's time.

`BaselineDeviationRunner` keeps what the query recomputes: per identity, its hours in the window in time
order (the first STATS, summed as rows arrive) with the rows behind each, the sorted values of its past
hours (updated as hours pass into the past and out of the window), and the providers and identity types of
its rows. A run expires hours older than the window and judges only the identities with an hour in the
judged range, with the formulas of the ES|QL runner (`esql_values`: MEDIAN and MEDIAN_ABSOLUTE_DEVIATION by
linear interpolation, MAX, VALUES), so values, types and the order of alerts within a run are those of the
rule's own query. tests/test_baseline_runner.py checks that on random histories, several seeds, against
the ES|QL runner. The runner is chosen by the query's shape, not by the rule's name: only a query with the
commands, statistics and numbers of `Margin` it computes with (`applies`); any other runs as written on the
ES|QL runner.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...assets.transform import Margin
from . import esql_values as v
from .esql_compile import compile_esql
from .events import Event
from .rulepack import Rule
from .runners import ScheduledRunner

MARGIN = Margin()
_MINUTE_MS = 60_000
_IDENTITY = "cloud_secrets.identity"


def applies(rule: Rule, margin: Margin = MARGIN) -> bool:
    """The rule's query is the one this runner computes, whatever the rule is called: an ES|QL rule over the
    summary whose commands are those of `baseline_deviation` and whose text carries the statistics, the
    margin and the window this runner computes with (tests/test_baselines.py checks the margin too);
    its lookback is the window."""
    if rule.type != "esql" or rule.lookback_ms != margin.history.total_seconds() * 1000:
        return False
    query = flat_query(rule.query)
    needles = (f"EVAL floor = {margin.floor}, k = {int(margin.k)}",
               f"WHERE @timestamp >= NOW() - {margin.history.days} days",
               f"<= NOW() - {int(margin.recent_from.total_seconds() // 60)} minutes",
               f"> NOW() - {int(margin.recent_from.total_seconds() // 60)} minutes AND @timestamp <= NOW() - "
               f"{int(margin.recent_to.total_seconds() // 60)} minutes",
               "EVAL row_secrets = cloud_secrets.summary.read_success.secrets + "
               "cloud_secrets.summary.batch_unnamed.secrets",
               "secrets = SUM(row_secrets)", "BY cloud_secrets.identity, @timestamp",
               "baseline_median = MEDIAN(past)", "baseline_mad = MEDIAN_ABSOLUTE_DEVIATION(past)",
               "baseline_hours = COUNT(past)", "current_secrets = MAX(recent)", "WHERE current_secrets > limit",
               "SORT current_secrets DESC")
    return all(n in query for n in needles) and compile_esql(rule.query).commands == COMMANDS


#: The commands of `baseline_deviation`'s query after FROM, in order.
COMMANDS = ["WHERE", "EVAL", "STATS", "EVAL", "EVAL", "STATS", "EVAL", "EVAL", "EVAL", "WHERE", "SORT", "EVAL",
            "KEEP"]


@dataclass
class SummaryHour:
    """One identity's hour of summary rows."""

    ts: int
    secrets: int | None = None  # SUM of the rows' `read_success.secrets + batch_unnamed.secrets` (null: none)
    rows: list[Event] = field(default_factory=list)

    def add(self, row: Event, cs: dict[str, Any]) -> None:
        """A summary row of the hour (`cs`: its `cloud_secrets` object): the first STATS's SUM(row_secrets)."""
        summary = cs.get("summary") or {}
        named = (summary.get("read_success") or {}).get("secrets")
        unnamed = (summary.get("batch_unnamed") or {}).get("secrets")
        if named is not None and unnamed is not None:  # `a + b` is null when either is, and SUM skips nulls
            self.secrets = (self.secrets or 0) + named + unnamed
        self.rows.append(row)


@dataclass
class _Identity:
    hours: deque[SummaryHour] = field(default_factory=deque)  # in time order
    past: list[int] = field(default_factory=list)  # sorted secrets of hours[:counted] (the non-null ones)
    counted: int = 0
    providers: Counter[Any] = field(default_factory=Counter)
    types: Counter[Any] = field(default_factory=Counter)


class SummaryRunner(ScheduledRunner):
    """What the incremental runners over the transform's summary share: the compiled query's sources and
    reads, per identity a state whose `hours` (SummaryHour, in time order) are in the window, and per hour
    the identities with a row in it. `_forget` takes an expired hour out of the state's counts."""

    identities: dict[Any, Any]
    state_type: type  # of an identity's state, with `hours`

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        plan = compile_esql(rule.query)
        self.index = plan.sources
        self.literals = plan.literals
        self.reads = plan.fields
        self.by_hour: dict[int, set[Any]] = {}  # hour -> identities with a row in it
        self.identities = {}

    def _forget(self, state: Any, gone: SummaryHour) -> None:
        raise NotImplementedError

    def feed(self, ev: Event) -> None:
        """A summary row goes to its identity's state (`_add`); a row without identity is in no group."""
        cs = ev.doc.get("cloud_secrets") or {}
        identity = cs.get("identity")
        if identity is None:
            return
        state = self.identities.get(identity)
        if state is None:
            state = self.identities[identity] = self.state_type()
        self._add(ev, identity, cs, state)

    def _add(self, ev: Event, identity: Any, cs: dict[str, Any], state: Any) -> None:
        raise NotImplementedError

    def _expire(self, start: int) -> None:
        """Hours before `start` leave the window (an identity without hours is forgotten)."""
        for ts in [t for t in self.by_hour if t < start]:
            for identity in self.by_hour.pop(ts):
                state = self.identities[identity]
                while state.hours and state.hours[0].ts < start:
                    self._forget(state, state.hours.popleft())
                if not state.hours:
                    del self.identities[identity]

    def _judged(self, past_to: int, recent_to: int) -> set[Any]:
        """The identities with an hour in `(past_to, recent_to]`."""
        judged: set[Any] = set()
        for ts, identities in self.by_hour.items():
            if past_to < ts <= recent_to:
                judged |= identities
        return judged

    @staticmethod
    def _newly_past(state: Any, past_to: int) -> Iterator[SummaryHour]:
        """The state's hours that became past hours (`<= past_to`) since the last run, each once, in order:
        the caller adds each to its counts (`hours[:counted]` are counted)."""
        hours = state.hours
        while state.counted < len(hours) and hours[state.counted].ts <= past_to:
            state.counted += 1
            yield hours[state.counted - 1]

    @staticmethod
    def _recent(state: Any, recent_to: int) -> list[SummaryHour]:
        """The state's hours after its past ones up to `recent_to`: the hours the run judges."""
        return [h for h in itertools.islice(state.hours, state.counted, None) if h.ts <= recent_to]

    def _emit(self, found: list[tuple[Any, int, list[Event], dict[str, Any]]], run: int) -> None:
        """Alerts for the rows found, `(-current_secrets, index of the identity's first row in the window,
        rows, fields)`: in the query's group order (first row of the identity in the window), then SORT
        current_secrets DESC."""
        found.sort(key=lambda item: item[:2])
        for _, _, rows, fields in found:
            self.alerts.append(self.make_alert(list(rows), fields, run))


class BaselineDeviationRunner(SummaryRunner):
    """The inner runner of `baseline_deviation` (derived.py feeds it summary rows as the transform writes them)."""

    state_type = _Identity

    def __init__(self, rule: Rule, margin: Margin = MARGIN) -> None:
        super().__init__(rule)
        self.margin = margin
        self.history_ms = int(margin.history.total_seconds() * 1000)
        self.recent_from_ms = int(margin.recent_from.total_seconds() * 1000)
        self.recent_to_ms = int(margin.recent_to.total_seconds() * 1000)

    def _add(self, ev: Event, identity: Any, cs: dict[str, Any], state: _Identity) -> None:
        self._hour(state, ev.ts, identity).add(ev, cs)
        state.providers[cs.get("provider")] += 1
        state.types[cs.get("identity_type")] += 1

    def _hour(self, state: _Identity, ts: int, identity: Any) -> SummaryHour:
        """The identity's hour `ts`, kept in time order (the transform writes hours in order: it is the last
        one or a new last one)."""
        hours = state.hours
        if hours and hours[-1].ts == ts and len(hours) > state.counted:
            return hours[-1]
        if hours and hours[-1].ts >= ts:  # not the transform's order: the past hours are counted again
            state.past, state.counted = [], 0
            if hours[-1].ts == ts:
                return hours[-1]
        new = SummaryHour(ts)
        if not hours or hours[-1].ts < ts:
            hours.append(new)
        else:
            found = next((h for h in hours if h.ts == ts), None)
            if found is not None:
                return found
            hours.insert(sum(1 for h in hours if h.ts < ts), new)
        self.by_hour.setdefault(ts, set()).add(identity)
        return new

    def _forget(self, state: _Identity, gone: SummaryHour) -> None:
        if state.counted:
            state.counted -= 1
            if gone.secrets is not None:
                del state.past[bisect.bisect_left(state.past, gone.secrets)]
        for row in gone.rows:
            cs = row.doc["cloud_secrets"]
            drop_count(state.providers, cs.get("provider"))
            drop_count(state.types, cs.get("identity_type"))

    def _run(self, run: int) -> None:
        self._expire(run - self.history_ms)
        past_to, recent_to = run - self.recent_from_ms, run - self.recent_to_ms
        judged = self._judged(past_to, recent_to)
        found = []
        m = self.margin
        for identity in judged:
            state = self.identities[identity]
            past = state.past
            for hour in self._newly_past(state, past_to):
                if hour.secrets is not None:
                    bisect.insort(past, hour.secrets)
            recent = self._recent(state, recent_to)
            current = v.AGGREGATES["MAX"]([h.secrets for h in recent])
            median = _median(past)
            mad = None if median is None else _median(sorted([abs(x - median) for x in past]))
            if median is None or mad is None:
                limit: float = m.floor
            else:
                k_mad = int(m.k) * mad
                spread = k_mad if k_mad > median else median
                limit = m.floor if median + spread < m.floor else median + spread
            if current is None or not current > limit:
                continue
            newest = state.hours[-1]
            fields = {_IDENTITY: identity, "user.effective.id": identity, "current_secrets": current,
                      "current_hour": v.EsDate(max(h.ts for h in recent)), "limit": limit,
                      "baseline_median": median, "baseline_mad": mad, "baseline_hours": len(past),
                      "providers": counter_values(state.providers), "identity_types": counter_values(state.types)}
            found.append((-current, state.hours[0].rows[0].index, newest.rows, fields))
        self._emit(found, run)


def _median(ordered: list[Any]) -> float | None:
    """MEDIAN of sorted numbers, as `esql_values.percentile(nums, 50)` computes it (which sorts them first)."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * 50 / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo))


def flat_query(query: str) -> str:
    """The query's text with its whitespace collapsed: what the runners' `applies` search for their needles."""
    return " ".join(query.split())


def drop_count(counter: Counter[Any], key: Any) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


def counter_values(counter: Counter[Any]) -> Any:
    """VALUES(...) of the identity's rows: sorted distinct values, a single value unwrapped, null when none."""
    return v.AGGREGATES["VALUES"]([k for k in counter if k is not None])

