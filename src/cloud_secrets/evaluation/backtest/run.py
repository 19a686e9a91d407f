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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from ...errors import UserError
from ...fieldpath import compile_getter
from ...timestamps import to_ms
from .alert_index import AlertIndex, reads_alerts
from .alerts import Alert
from .derived import runners_for
from .events import Event
from .parallel import FINISH, AlertLog, Part, error_line, first_disorder, merged_documents, plan_groups, run_parts
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
             incremental: bool = True, jobs: int = 1) -> Result:
    """As run_lines, over a file (`/dev/stdin` too), with the native reader when it is installed (or `native`);
    `incremental` off runs every query as written on the generic runners (derived.runners_for).

    `jobs` > 1 splits the rules over events into at most `jobs` groups, each run by a worker process reading the
    file itself (parallel.py), with the same Result. Standard input and other files that cannot be read twice
    use one process. With `on_alert`, alerts are then handed over once the workers are done, in the Result's
    order (start, rule, end), and memory holds them until then."""
    name = os.path.basename(path) if path != "/dev/stdin" else "<stdin>"
    runners = runners_for(rules, incremental)
    if jobs > 1 and path != "/dev/stdin" and os.path.isfile(path):
        groups = plan_groups(_event_runners(runners), jobs)
        if len(groups) > 1:
            return _run_jobs(path, name, rules, runners, groups, progress, on_alert, native, incremental)
    with _reader(path, name, _event_runners(runners), progress, native) as reader:
        return _run(reader, name, rules, runners, on_alert)


@contextmanager
def _reader(path: str, name: str, runners: list[Runner], progress: Progress | None, native: bool | None,
            extra: frozenset[str] | None = frozenset()) -> Iterator[LineReader | NativeReader]:
    """The reader of `path` for `runners` (rules over events): their needles; their fields and `extra` (None:
    whole documents) for the native reader."""
    found = needles(r.line_literals() for r in runners)
    if native if native is not None else native_available():
        fields = pack_fields(runners)
        yield NativeReader(path, name, found, None if fields is None or extra is None else fields | extra, progress)
        return
    try:
        handle: IO[bytes] = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 - closed below
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    with handle:
        yield LineReader(handle, name, found, progress)


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
         on_alert: Callable[[Alert], None] | None, log: AlertLog | None = None) -> Result:
    # Every parsed document is a tree of young dicts and lists that the runners keep for a while, so the
    # default collector thresholds (700 allocations) make it traverse them over and over: a fifth of the
    # time on dense input. Collections are made rarer, not disabled, for the run.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 20_000), max(thresholds[1], 50), max(thresholds[2], 100))
    try:
        return _run_documents(reader, name, rules, runners, on_alert, log)
    finally:
        gc.set_threshold(*thresholds)


def _run_documents(reader: LineReader | NativeReader, name: str, rules: list[Rule], all_runners: list[Runner],
                   on_alert: Callable[[Alert], None] | None, log: AlertLog | None = None) -> Result:
    """`log`: a worker's (parallel.py), which stands in for the alerts index and records what the parent replays."""
    runners = _event_runners(all_runners)
    alert_index: AlertIndex | AlertLog | None = log if log is not None else \
        AlertIndex([r for r in all_runners if reads_alerts(r)]) if len(runners) < len(all_runners) else None
    routes: dict[str, list[Runner]] = {}
    suppressors = _suppressors(all_runners)
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
        if log is not None:
            log.parsed(index, number, ts)
        if last_ts is not None and ts < last_ts:
            raise _out_of_order(name, number, raw_ts, last_line)
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
        if log is not None:
            log.routed()
        elif alert_index is not None and alert_index.pending:
            _drain(alert_index, ts, suppressors, on_alert)  # type: ignore[arg-type]
    if log is not None:
        log.finishing()
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
    skipped = {r.rule.slug: _unfed(r) for r in runners if id(r) not in seen_runner}
    suppressed = {r.rule.slug: suppressors[id(r)].suppressed for r in runners if id(r) in suppressors}
    return Result(alerts, reader.documents, parsed, first_ts, last_ts, rules, skipped, suppressed)


def _suppressors(runners: list[Runner]) -> dict[int, Suppressor]:
    """A fresh alert suppressor per runner whose rule suppresses alerts (by the runner's id)."""
    return {id(r): r.rule.suppression.fresh() for r in runners if r.rule.suppression is not None}


def _unfed(runner: Runner) -> str:
    """Why a rule saw no document (Result.skipped_rules)."""
    return f"no document of its indices ({', '.join(runner.index)})"


def _drain(alert_index: AlertIndex, now: int, suppressors: dict[int, Suppressor],
           on_alert: Callable[[Alert], None] | None) -> None:
    """The alert documents written by `now` go to the rules over the alerts index, which may alert."""
    alert_index.advance(now)
    for runner in alert_index.readers:
        if runner.alerts:
            _settle(runner, suppressors, on_alert)


def _settle(runner: Runner, suppressors: dict[int, Suppressor], on_alert: Callable[[Alert], None] | None,
            alert_index: AlertIndex | AlertLog | None = None) -> None:
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


def _out_of_order(name: str, number: int, raw_ts: Any, last_line: int) -> UserError:
    return UserError(f"{name}:{number}: @timestamp: {raw_ts} is earlier than line {last_line}'s; the backtest "
                     "needs documents in time order (sort them by @timestamp)")


def _run_group(path: str, name: str, rules: list[Rule], positions: list[int], extra: frozenset[str] | None,
               native: bool | None, incremental: bool, progress: Progress | None = None) -> Part:
    """A worker of `_run_jobs`: the loop of one process over `rules` (rules over events; `positions`, theirs in
    the whole pack), with runners of its own and a reader of its own that also reads `extra`."""
    runners = runners_for(rules, incremental)
    log = AlertLog({id(r): p for r, p in zip(runners, positions, strict=True)})
    part = log.part
    try:
        with _reader(path, name, runners, progress, native, extra) as reader:
            result = _run(reader, name, rules, runners, None, log)
            part.documents = reader.documents
    except UserError as err:
        part.error, part.error_line = str(err), error_line(name, str(err))
        part.adds.clear()
        return part
    for runner, position in zip(runners, positions, strict=True):
        part.alerts[position] = runner.alerts
        if runner.rule.slug not in result.skipped_rules:
            part.seen.append(position)
        if runner.rule.slug in result.suppressed:
            part.suppressed[position] = result.suppressed[runner.rule.slug]
    return part


def _alert_fields(runners: list[Runner], readers: list[Runner]) -> frozenset[str] | None:
    """What every worker's reader also reads so that the alert documents it writes hold, where the rules over
    the alerts index (`readers`) look, the values one process gives them: the fields those rules read that
    some rule over events reads (None: whole documents)."""
    if not readers:
        return frozenset()
    every = pack_fields(runners)
    if every is None:
        return None
    reads = [r.reads for r in readers]
    if any(fields is None for fields in reads):
        return every
    return every & frozenset().union(*reads)  # type: ignore[arg-type]


def _run_jobs(path: str, name: str, rules: list[Rule], runners: list[Runner], groups: list[list[int]],
              progress: Progress | None, on_alert: Callable[[Alert], None] | None, native: bool | None,
              incremental: bool) -> Result:
    """The rules over events in worker processes, one per group; the rules over the alerts index here, fed
    the alert documents the workers logged, as one process would (parallel.py)."""
    events = _event_runners(runners)
    readers = [r for r in runners if reads_alerts(r)]
    position = {id(r): p for p, r in enumerate(runners)}
    extra = _alert_fields(events, readers)
    tasks = [(path, name, [events[i].rule for i in group], [position[id(events[i])] for i in group], extra, native,
              incremental) for group in groups]
    parts = run_parts(_run_group, tasks, progress)
    failed = sorted((p for p in parts if p.error is not None), key=lambda p: p.error_line)
    stop = failed[0].error_line if failed else FINISH
    documents = merged_documents(parts, stop)
    disorder = first_disorder(documents)
    if disorder is not None:
        raise _out_of_order(name, disorder[0], _raw_timestamp(path, disorder[0]), disorder[1])
    if failed:
        raise UserError(failed[0].error)
    alerts: dict[int, list[Alert]] = {}
    seen: set[int] = set()
    suppressed: dict[int, int] = {}
    for part in parts:
        alerts.update(part.alerts)
        seen.update(part.seen)
        suppressed.update(part.suppressed)
    if readers:
        suppressors = _suppressors(readers)
        index = _replay(AlertIndex(readers), parts, documents, suppressors)
        for runner in readers:
            alerts[position[id(runner)]] = runner.alerts
            if index.fed:
                seen.add(position[id(runner)])
            if id(runner) in suppressors:
                suppressed[position[id(runner)]] = suppressors[id(runner)].suppressed
    every = [a for p in range(len(runners)) for a in alerts.get(p, [])]
    every.sort(key=lambda a: (a.start, a.rule, a.end))
    if on_alert is not None:
        for alert in every:
            on_alert(alert)
        every = []
    skipped = {r.rule.slug: _unfed(r) for p, r in enumerate(runners) if p not in seen}
    return Result(every, parts[0].documents, len(documents), documents[0][2] if documents else None,
                  documents[-1][2] if documents else None, rules, skipped,
                  {r.rule.slug: suppressed[p] for p, r in enumerate(runners) if p in suppressed})


def _replay(index: AlertIndex, parts: list[Part], documents: list[tuple[int, int, int]],
            suppressors: dict[int, Suppressor]) -> AlertIndex:
    """The writes to the alerts index and its drains of one process, from the workers' logs: at each document
    some rule was fed, the alerts settled there (in the pack's order), then a drain at its time if documents
    wait; after the input, the alerts of the runners' last runs, then the index's own end."""
    adds = sorted((a for p in parts for a in p.adds), key=lambda a: a[:3])
    routed = sorted({i for p in parts for i in p.routed})
    ts_of = {i: ts for i, _, ts in documents}
    n = 0
    for doc in routed:
        while n < len(adds) and adds[n][0] == doc:
            index.push(adds[n][3], adds[n][4])
            n += 1
        if index.pending:
            _drain(index, ts_of[doc], suppressors, None)
    for add in adds[n:]:
        index.push(add[3], add[4])
    index.finish()
    for runner in index.readers:
        _settle(runner, suppressors, None)
    return index


def _raw_timestamp(path: str, number: int) -> Any:
    """The `@timestamp` of line `number` as written (for the message one process gives)."""
    with open(path, "rb") as handle:
        for at, line in enumerate(handle, start=1):
            if at == number:
                return orjson.loads(line).get("@timestamp")
    return None
