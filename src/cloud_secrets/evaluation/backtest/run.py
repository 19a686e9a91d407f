"""Stream a file of tagged documents through the rule pack's runners.

Documents must be in time order (as `cloud-secrets simulate` writes them and `cloud-secrets tag` keeps
them). A reader (readers.py: the compiled one for files, the Python one for any iterable of lines) gives
the documents that pass the pack's byte prefilter (prefilter.py), each with its position and line number;
they are routed to the runners whose index patterns match their data stream (`<type>-<dataset>-<namespace>`)
and dropped, unless a runner keeps them in its window. Memory is bounded by the rules' windows (maxspan,
lookback, history) and, for the compiled reader, by its read-ahead of a few 1 MiB blocks.

Measured on `make bench`'s production mix (100,000 CloudTrail documents, 3% of them secret-store calls):
the Python reader spends most of its time on the per-line loop and on building whole documents (orjson: a
tree of a hundred objects for 2 kB of JSON); the compiled reader searches the bytes on its own thread and
hands over only the fields the rules read, so what remains in Python is the rules themselves.
"""

from __future__ import annotations

import fnmatch
import gc
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from ...errors import UserError
from ...fieldpath import compile_getter
from ...timestamps import to_ms
from .alert_index import AlertIndex, reads_alerts
from .alerts import Alert
from .derived import runners_for
from .events import Event
from .prefilter import needles
from .readers import LineReader, NativeReader, Progress, native_available
from .rulepack import Rule
from .runners import Runner
from .suppression import Suppressor

#: What this loop reads of every document, besides what the runners read (`pack_fields`).
RUN_FIELDS = ("@timestamp", "data_stream.type", "data_stream.dataset", "data_stream.namespace")


@dataclass
class Result:
    alerts: list[Alert]
    documents: int = 0
    parsed: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    rules: list[Rule] = field(default_factory=list)
    skipped_rules: dict[str, str] = field(default_factory=dict)  # slug -> why it saw no documents
    suppressed: dict[str, int] = field(default_factory=dict)  # slug -> alerts Kibana's suppression counted away

    def judged_rules(self) -> list[str]:
        """The rules that saw documents (a rule over another index has nothing to be judged on)."""
        return [r.slug for r in self.rules if r.slug not in self.skipped_rules]


_TIMESTAMP = compile_getter("@timestamp")
_TYPE, _DATASET, _NAMESPACE = (compile_getter(f"data_stream.{p}") for p in ("type", "dataset", "namespace"))


def _index_name(stream: tuple[Any, Any, Any]) -> str:
    """`<type>-<dataset>-<namespace>` of a document's data stream fields ("" without any)."""
    if stream == (None, None, None):
        return ""
    kind, dataset, namespace = stream
    return f"{'logs' if kind is None else kind}-{'generic' if dataset is None else dataset}-" \
           f"{'default' if namespace is None else namespace}"


def run_lines(lines: Iterable[bytes], name: str, rules: list[Rule], progress: Progress | None = None,
              on_alert: Callable[[Alert], None] | None = None, prefilter: bool = True) -> Result:
    """Alerts are collected in the Result, sorted by start; or, with `on_alert`, handed over as they are raised
    and not kept (memory then stays bounded however many alerts a long input raises). Read in Python; without
    `prefilter`, every line is parsed (the reference the prefilter is tested against)."""
    runners = runners_for(rules)
    found = needles(r.line_literals() for r in _event_runners(runners)) if prefilter else None
    reader = LineReader(lines, name, found, progress)
    return _run(reader, name, rules, runners, on_alert)


def run_file(path: str, rules: list[Rule], progress: Progress | None = None,
             on_alert: Callable[[Alert], None] | None = None, native: bool | None = None,
             incremental: bool = True) -> Result:
    """As run_lines, over a file (`/dev/stdin` too), with the native reader when it is installed (or `native`);
    `incremental` off runs every query as written on the generic runners (derived.runners_for)."""
    name = os.path.basename(path) if path != "/dev/stdin" else "<stdin>"
    runners = runners_for(rules, incremental)
    found = needles(r.line_literals() for r in _event_runners(runners))
    if native if native is not None else native_available():
        return _run(NativeReader(path, name, found, pack_fields(_event_runners(runners)), progress), name, rules,
                    runners, on_alert)
    try:
        handle: IO[bytes] = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 - closed below
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    with handle:
        return _run(LineReader(handle, name, found, progress), name, rules, runners, on_alert)


def _event_runners(runners: list[Runner]) -> list[Runner]:
    """The runners of rules over events (not over the alerts index, which the run rebuilds: alert_index.py)."""
    return [r for r in runners if not reads_alerts(r)]


def pack_fields(runners: list[Runner]) -> frozenset[str] | None:
    """Every field the runners and this loop read of a document (None when a runner cannot tell)."""
    out = set(RUN_FIELDS)
    for runner in runners:
        fields = runner.fields()
        if fields is None:
            return None
        out |= fields
    return frozenset(out)


def _run(reader: LineReader | NativeReader, name: str, rules: list[Rule], runners: list[Runner],
         on_alert: Callable[[Alert], None] | None) -> Result:
    # Every parsed document is a tree of young dicts and lists that the runners keep for a while, so the
    # default collector thresholds (700 allocations) make it traverse them over and over: a fifth of the
    # time on dense input. Collections are made rarer, not disabled, for the run.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 20_000), max(thresholds[1], 50), max(thresholds[2], 100))
    try:
        return _run_documents(reader, name, rules, runners, on_alert)
    finally:
        gc.set_threshold(*thresholds)


def _run_documents(reader: LineReader | NativeReader, name: str, rules: list[Rule], all_runners: list[Runner],
                   on_alert: Callable[[Alert], None] | None) -> Result:
    runners = _event_runners(all_runners)
    alert_index = AlertIndex([r for r in all_runners if reads_alerts(r)]) if len(runners) < len(all_runners) \
        else None
    routes: dict[str, list[Runner]] = {}
    suppressors = {id(r): r.rule.suppression.fresh() for r in all_runners if r.rule.suppression is not None}
    seen_runner: set[int] = set()
    parsed = 0
    first_ts = last_ts = None
    last_line = 0
    for index, number, doc in reader:
        if not isinstance(doc, dict):
            raise UserError(f"{name}:{number}: expected a JSON object, got {type(doc).__name__}")
        parsed += 1
        raw_ts = _TIMESTAMP(doc)
        if raw_ts is None:
            raise UserError(f"{name}:{number}: @timestamp: missing (the backtest orders events by it)")
        try:
            ts = to_ms(raw_ts)
        except (ValueError, TypeError) as err:
            raise UserError(f"{name}:{number}: @timestamp: {raw_ts!r} is not a date ({err})") from None
        if last_ts is not None and ts < last_ts:
            raise UserError(
                f"{name}:{number}: @timestamp: {raw_ts} is earlier than line {last_line}'s; the backtest needs "
                "documents in time order (sort them by @timestamp)")
        if first_ts is None:
            first_ts = ts
        last_ts, last_line = ts, number
        idx = _index_name((_TYPE(doc), _DATASET(doc), _NAMESPACE(doc)))
        targets = routes.get(idx)
        if targets is None:
            targets = routes[idx] = [r for r in runners if any(fnmatch.fnmatchcase(idx, p) for p in r.index)]
        if not targets:
            continue
        ev = Event(index, number, ts, doc)
        for runner in targets:
            seen_runner.add(id(runner))
            if runner.rule.exceptions is not None and runner.rule.exceptions.excludes(doc):
                runner.advance(ts)  # time still passes for the rule's scheduled runs
                continue
            runner.advance(ts)
            runner.feed(ev)
            if runner.alerts:
                _settle(runner, suppressors, on_alert, alert_index)
        if alert_index is not None and alert_index.pending:
            _drain(alert_index, ts, suppressors, on_alert)
    for runner in runners:
        runner.finish()
        _settle(runner, suppressors, on_alert, alert_index)
    if alert_index is not None:
        alert_index.finish()
        for runner in alert_index.readers:
            _settle(runner, suppressors, on_alert)
            if alert_index.fed:
                seen_runner.add(id(runner))
    runners = all_runners
    alerts = [a for r in runners for a in r.alerts]
    alerts.sort(key=lambda a: (a.start, a.rule, a.end))
    skipped = {r.rule.slug: f"no document of its indices ({', '.join(r.index)})"
               for r in runners if id(r) not in seen_runner}
    suppressed = {r.rule.slug: suppressors[id(r)].suppressed for r in runners if id(r) in suppressors}
    return Result(alerts, reader.documents, parsed, first_ts, last_ts, rules, skipped, suppressed)


def _drain(alert_index: AlertIndex, now: int, suppressors: dict[int, Suppressor],
           on_alert: Callable[[Alert], None] | None) -> None:
    """The alert documents written by `now` go to the rules over the alerts index, which may alert."""
    alert_index.advance(now)
    for runner in alert_index.readers:
        if runner.alerts:
            _settle(runner, suppressors, on_alert)


def _settle(runner: Runner, suppressors: dict[int, Suppressor], on_alert: Callable[[Alert], None] | None,
            alert_index: AlertIndex | None = None) -> None:
    """Apply the rule's alert suppression to the alerts just raised (once each: their documents are let go),
    write them to the alerts index when a rule reads it, then hand them over when streaming."""
    fresh = runner.alerts[runner.settled:]
    if fresh:
        sup = suppressors.get(id(runner))
        if sup is not None:
            kept = [a for a in fresh if sup.admit(a)]
            del runner.alerts[runner.settled:]
            runner.alerts.extend(kept)
        for alert in runner.alerts[runner.settled:]:
            alert.building_block = runner.rule.building_block
            if alert_index is not None:
                alert_index.add(alert, runner, alert.first_doc)
            alert.first_doc = None
        runner.settled = len(runner.alerts)
    if on_alert is not None:
        for alert in runner.alerts:
            on_alert(alert)
        runner.alerts.clear()
        runner.settled = 0
