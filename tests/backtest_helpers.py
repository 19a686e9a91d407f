"""Helpers for the backtest tests: synthetic events and rules."""

from __future__ import annotations

from typing import Any

from cloud_secrets.evaluation.backtest.derived import runner_for
from cloud_secrets.evaluation.backtest.events import Event
from cloud_secrets.evaluation.backtest.rulepack import Rule
from cloud_secrets.timestamps import iso_ms

T0 = 1_772_409_600_000  # 2026-03-02T00:00:00Z in ms
MIN = 60_000


def ev(i: int, ts: int, **fields: Any) -> Event:
    """An event whose fields are given with dotted names: ev(0, T0, **{"user.name": "a"})."""
    doc: dict[str, Any] = {"data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"}}
    for name, value in fields.items():
        cur = doc
        parts = name.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return Event(i, i + 1, ts, doc)


def rule(rtype: str, query: str, **kw: Any) -> Rule:
    defaults: dict[str, Any] = {"slug": "r", "name": "r", "type": rtype, "language": rtype, "query": query,
                                "index": ["logs-*"], "interval_ms": 10 * MIN, "lookback_ms": 60 * MIN}
    defaults.update(kw)
    return Rule(**defaults)


def run_events(r: Rule, events: list[Event]) -> list[Any]:
    return feed_all(runner_for(r), events)


def feed_all(runner: Any, events: list[Event]) -> list[Any]:
    """The runner's alerts over `events` (in time order), the input ended."""
    for e in events:
        runner.advance(e.ts)
        runner.feed(e)
    runner.finish()
    return runner.alerts


def alerts_of(runner: Any, events: list[Event]) -> list[dict[str, Any]]:
    """As feed_all, each alert as its `--json` line."""
    return [a.to_json() for a in feed_all(runner, events)]


def in_order(docs: list[tuple[int, dict[str, Any]]]) -> list[Event]:
    """Events of (epoch ms, document) pairs, sorted by time, each document stamped with its @timestamp."""
    docs.sort(key=lambda d: d[0])
    out = []
    for i, (ts, doc) in enumerate(docs):
        doc["@timestamp"] = iso_ms(ts)
        out.append(Event(i, i + 1, ts, doc))
    return out
