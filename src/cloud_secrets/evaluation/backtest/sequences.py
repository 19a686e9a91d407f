"""Streaming EQL sequence matching with Elasticsearch's state machine.

How Elasticsearch matches (x-pack/plugin/eql/src/main/java/org/elasticsearch/xpack/eql/execution/sequence/
SequenceMatcher.java, OrdinalGroup.java, KeyToSequences.java; documented at
https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-syntax.html#eql-how-sequence-queries-handle-matches):

- In-flight sequences are kept per join key and per stage. A hit of stage 0 starts a new sequence.
- A hit of stage k > 0 takes, from stage k-1 of its key, the *latest* sequence whose last event is before
  the hit, and drops it together with every older one (`OrdinalGroup.trimBefore`). So of the sequences
  waiting in a stage only the most recent can ever advance: "only one pending sequence can be in each
  state at a time; the most recent overwrites the older one".
- The taken sequence is rejected (and stays dropped) when the hit is more than `maxspan` after its first
  event (`exceedsMaxSpan`: strictly greater). `runs=N` repeats a stage N times.
- Events are ordered by timestamp, then tiebreaker, then an implicit tiebreaker; here, file order breaks ties.

Streamed event by event, this is one slot per (stage, key): a stage-0 hit overwrites slot 0; a stage-k hit
moves slot k-1 into slot k (overwriting it) or completes. One event that matches several stages is
applied from the last stage down, so it never extends a sequence it has just started or moved (in
Elasticsearch a hit only takes sequences whose last event is strictly before it). Consequence for
`[X] with runs=10`: 11 consecutive matching events of one key in the span give two sequences, events
1-10 and 2-11, as the eql library's engine also gives; 20 give eleven.

A join key with a missing (null) value does not join unless the query marks the field optional
(`?field`), where null is a key value like any other (https://github.com/elastic/elasticsearch/pull/79677,
"limit joining keys on non-null values only", Elasticsearch 7.16).
State older than `maxspan` can never complete and is dropped, so memory is bounded by the keys active
within one `maxspan`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from .eql_compile import SequenceSpec, Stage
from .events import Event

_NO_KEY = object()


class SequenceMatcher:
    def __init__(self, spec: SequenceSpec, on_match: Callable[[list[Event], tuple[Any, ...]], None]) -> None:
        self.spec = spec
        self.on_match = on_match
        self.n = len(spec.stages)
        self.slots: list[dict[tuple[Any, ...], tuple[int, tuple[Event, ...]]]] = [{} for _ in range(self.n)]
        self.maxspan = spec.maxspan_ms
        self._next_purge = None if self.maxspan is None else 0
        # For every condition, the stages that use it, last first.
        by_condition: dict[int, list[int]] = {}
        for i, s in enumerate(spec.stages):
            by_condition.setdefault(s.condition, []).append(i)
        self.stages_of = [(cond, sorted(stages, reverse=True)) for cond, stages in by_condition.items()]
        # The usual case (`sequence by a, b`): every stage joins on the same fields, so compute the key once.
        self.shared_key = len({(tuple(s.names), tuple(s.optional)) for s in spec.stages}) == 1

    @staticmethod
    def key(stage: Stage, doc: dict[str, Any]) -> Any:
        out = []
        for get, optional in zip(stage.keys, stage.optional, strict=True):
            v = get(doc)
            if v is None and not optional:
                return _NO_KEY
            out.append(tuple(v) if type(v) is list else v)
        return tuple(out)

    def feed(self, ev: Event) -> None:
        spec = self.spec
        doc = ev.doc
        if spec.until is not None and spec.conditions[spec.until.condition](doc):
            k = self.key(spec.until, doc)
            if k is not _NO_KEY:
                for slot in self.slots:
                    slot.pop(k, None)
        hit: list[int] = []
        for cond, stages in self.stages_of:
            if spec.conditions[cond](doc):
                hit.extend(stages)
        if not hit:
            return
        if len(hit) > 1:
            hit.sort(reverse=True)
        if self._next_purge is not None and ev.ts >= self._next_purge:
            self._purge(ev.ts)
        shared = self.key(spec.stages[0], doc) if self.shared_key else None
        if shared is _NO_KEY:
            return
        last = self.n - 1
        slots = self.slots
        for i in hit:
            k = shared if shared is not None else self.key(spec.stages[i], doc)
            if k is _NO_KEY:
                continue
            if i == 0:
                if last == 0:
                    self.on_match([ev], k)
                else:
                    slots[0][k] = (ev.ts, (ev,))
                continue
            prev = slots[i - 1].pop(k, None)
            if prev is None:
                continue
            start, events = prev
            if self.maxspan is not None and ev.ts - start > self.maxspan:
                continue
            if i == last:
                self.on_match([*events, ev], k)
            else:
                slots[i][k] = (start, (*events, ev))

    def _purge(self, now: int) -> None:
        """Drop in-flight sequences that can no longer complete within maxspan."""
        assert self.maxspan is not None
        horizon = now - self.maxspan
        for slot in self.slots:
            stale = [k for k, (start, _) in slot.items() if start < horizon]
            for k in stale:
                del slot[k]
        self._next_purge = now + self.maxspan

    def pending(self) -> int:
        return sum(len(s) for s in self.slots)


class RunMatcher:
    """The same matches as SequenceMatcher for a sequence of N identical stages (`[X] with runs=N`, one
    join for all, no `until`), in constant time per event.

    Why they are the same: an event pops every slot k-1 (for stage k) before it refills slot 0, so after
    event e_t slot i is either empty or holds the sequence e_(t-i)..e_t of the key's last i+1 matching
    events, and it holds it exactly when slot i-1 held e_(t-i)..e_(t-1) and e_t is within maxspan of
    e_(t-i). By induction, slot i is full after e_t iff the key has i+1 events and e_t - e_(t-i) <= maxspan.
    A completion is stage N-1 taking slot N-2: the last N events of the key, when they span at most
    maxspan. So the matches are exactly the windows of N consecutive matching events of a key within
    maxspan, which a deque of the key's last N events finds. tests/test_backtest_eql.py checks both
    matchers against each other.
    """

    def __init__(self, spec: SequenceSpec, on_match: Callable[[list[Event], tuple[Any, ...]], None]) -> None:
        self.spec = spec
        self.on_match = on_match
        self.n = len(spec.stages)
        self.condition = spec.conditions[spec.stages[0].condition]
        self.stage = spec.stages[0]
        self.maxspan = spec.maxspan_ms
        self.recent: dict[Any, deque[Event]] = {}
        self._next_purge = 0

    @staticmethod
    def applies(spec: SequenceSpec) -> bool:
        first = spec.stages[0]
        return (len(spec.stages) > 1 and spec.until is None and spec.is_sequence
                and all((s.condition, s.names, s.optional) == (first.condition, first.names, first.optional)
                        for s in spec.stages))

    def feed(self, ev: Event) -> None:
        if not self.condition(ev.doc):
            return
        key = SequenceMatcher.key(self.stage, ev.doc)
        if key is _NO_KEY:
            return
        maxspan = self.maxspan
        if maxspan is not None and ev.ts >= self._next_purge:
            horizon = ev.ts - maxspan
            self.recent = {k: q for k, q in self.recent.items() if q[-1].ts >= horizon}
            self._next_purge = ev.ts + maxspan
        window = self.recent.get(key)
        if window is None:
            window = self.recent[key] = deque(maxlen=self.n)
        window.append(ev)
        if len(window) == self.n and (maxspan is None or ev.ts - window[0].ts <= maxspan):
            self.on_match(list(window), key)

    def pending(self) -> int:
        return len(self.recent)


def matcher_for(spec: SequenceSpec, on_match: Callable[[list[Event], tuple[Any, ...]], None]
                ) -> SequenceMatcher | RunMatcher:
    return RunMatcher(spec, on_match) if RunMatcher.applies(spec) else SequenceMatcher(spec, on_match)
