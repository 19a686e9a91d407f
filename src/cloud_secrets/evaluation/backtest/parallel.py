"""The backtest over several processes: `run_file(..., jobs=N)`, `cloud-secrets backtest --jobs N`.

What runs where (run.py, `_run_jobs`):

- The rules over events are split into at most N groups (`plan_groups`), balanced by an estimate of what
  each costs (`cost_of`); rules over the same derived index (the transform's summary: `baseline_deviation`,
  `unusual_hour_for_identity`) stay in one group, so a source they may share is never split. Each group runs
  in a worker process over the same file with a reader of its own (its own needles and fields), exactly
  the loop of one process restricted to its rules, and returns its rules' settled alerts (after alert
  suppression, `building_block` set) with an `AlertLog`: what the parent needs to replay the alerts index.
- The rules over the alerts index (`secret_access_signals_per_identity`) run in the parent after the
  workers. In one process, every settled alert is written to the alerts index when its rule settles it,
  at a document, in the order of the pack's rules, and the index is drained (its documents fed, the rules
  over it run up to the document's time) after every document some rule was fed, whenever documents wait.
  The log records each settled alert with its alert document and where it was settled (the document's
  index, the rule's position in the pack, its order), and the documents each worker read (index, line,
  `@timestamp`, and which reached one of its rules); the parent merges the workers' logs and replays the
  same writes and drains in the same order, so the rules over the alerts index see what they see in one
  process, at the same times, and raise the same alerts. Alert documents are built in the worker from the
  alert's first document (which is then let go); the worker's reader also reads the fields the rules over
  the alerts index read (as far as any rule over events reads them, as in one process), so the documents
  hold the same values where those rules look.
- Errors: a worker stops at its first bad line (malformed JSON, a bad `@timestamp`, a document earlier
  than the one before it among its own); the parent reports the first error of the input as one process
  would: it merges the documents the workers read up to the earliest stop, finds the first document
  earlier than the one before it among all of them, else the earliest worker's message. Ctrl-C ends the
  workers (they ignore SIGINT; the parent terminates and joins them), so no process is left behind.

Why the results are identical: a rule's alerts depend only on the documents it is fed, and every group's
needles and fields contain its rules' (the prefilter and the field cuts are sound per rule: the engine's
tests compare them with whole documents); suppression is per rule; the alerts index is replayed as above.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import traceback
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from .alert_index import runner_alert_document
from .alerts import Alert
from .derived import DerivedRunner
from .readers import Progress
from .runners import Runner

#: CPU seconds each rule of the pack spends over `make demo`'s week (314,174 documents) beyond reading it: the
#: rule alone with the compiled reader (`time.process_time`, reader thread included) minus 5.5 s, about what
#: reading and cutting the candidates costs (the rule that does least took 6.9 s), on the project machine.
#: Only their ratios matter. Rules not listed cost their type's figure (`TYPE_COST`), rules over a derived index
#: `DERIVED_COST` each.
RULE_COST = {
    "bulk_access_distinct_secrets": 10.0, "baseline_deviation": 5.7, "unusual_hour_for_identity": 5.0,
    "bulk_access_sequence": 4.0, "first_seen_secret_access": 3.9, "new_network_for_identity": 2.9,
    "failed_access_spray": 2.7, "tagging_health": 2.6, "enumerate_then_retrieve": 2.2,
    "secret_read_after_sign_in": 1.4,
}
TYPE_COST = {"eql": 3.0, "esql": 4.0, "threshold": 3.0, "new_terms": 3.0}
DERIVED_COST = 5.0
#: The document key of alerts settled after the input ended (the runners' last runs).
FINISH = sys.maxsize


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not all the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cost_of(runner: Runner) -> float:
    if runner.rule.slug in RULE_COST:
        return RULE_COST[runner.rule.slug]
    return DERIVED_COST if isinstance(runner, DerivedRunner) else TYPE_COST.get(runner.rule.type, 4.0)


def unit_of(runner: Runner) -> str:
    """Runners of one unit run in one process: rules over one derived index share its source's state."""
    if isinstance(runner, DerivedRunner):
        return f"derived:{runner.source.transform.dest}"
    return f"rule:{id(runner)}"


def plan_groups(runners: list[Runner], jobs: int) -> list[list[int]]:
    """Positions in `runners`, in at most `jobs` non-empty groups: units by decreasing cost, each onto the
    group that costs least so far (ties: the first). Positions ascend within a group."""
    units: dict[str, list[int]] = {}
    for position, runner in enumerate(runners):
        units.setdefault(unit_of(runner), []).append(position)
    ordered = sorted(units.values(), key=lambda u: (-sum(cost_of(runners[p]) for p in u), u[0]))
    groups: list[list[int]] = [[] for _ in range(max(1, min(jobs, len(ordered))))]
    loads = [0.0] * len(groups)
    for unit in ordered:
        lightest = loads.index(min(loads))
        groups[lightest].extend(unit)
        loads[lightest] += sum(cost_of(runners[p]) for p in unit)
    return [sorted(g) for g in groups if g]


@dataclass
class Part:
    """What a worker hands back: its rules' settled alerts and its log (positions are in the whole pack)."""

    alerts: dict[int, list[Alert]] = field(default_factory=dict)
    seen: list[int] = field(default_factory=list)  # rules that were fed documents
    suppressed: dict[int, int] = field(default_factory=dict)
    documents: int = 0
    adds: list[tuple[int, int, int, Alert, dict[str, Any]]] = field(default_factory=list)
    index: array = field(default_factory=lambda: array("q"))  # documents parsed, in order
    lines: array = field(default_factory=lambda: array("q"))
    ts: array = field(default_factory=lambda: array("q"))
    routed: array = field(default_factory=lambda: array("q"))  # documents fed to some rule of the group
    error: str | None = None
    error_line: int = FINISH


class AlertLog:
    """A worker's stand-in for the alerts index (run.py calls it where one process writes the index)."""

    pending = False  # nothing to drain here: the parent replays the index
    readers: list[Runner] = []  # noqa: RUF012 - never appended to: no rule over the alerts index runs here

    def __init__(self, positions: dict[int, int]) -> None:
        self.positions = positions  # id(runner) -> its position in the whole pack
        self.part = Part()
        self.at = -1

    def parsed(self, index: int, line: int, ts: int) -> None:
        """A document was read (before its time order is checked)."""
        part = self.part
        self.at = index
        part.index.append(index)
        part.lines.append(line)
        part.ts.append(ts)

    def routed(self) -> None:
        """The document just read was fed to some rule (where one process drains the alerts index)."""
        self.part.routed.append(self.at)

    def finishing(self) -> None:
        """The input ended: what is settled from now on is the runners' last runs."""
        self.at = FINISH

    def add(self, alert: Alert, runner: Runner, source: dict[str, Any] | None) -> None:
        adds = self.part.adds
        adds.append((self.at, self.positions[id(runner)], len(adds), alert,
                     runner_alert_document(alert, runner, source)))

    def finish(self) -> None:
        """Nothing reads this index here."""


def error_line(name: str, message: str) -> int:
    """The line a `name:line: ...` message names (0 when it names none: the whole file failed)."""
    head = f"{name}:"
    if message.startswith(head):
        number = message[len(head):].split(":", 1)[0]
        if number.isdigit():
            return int(number)
    return 0


def merged_documents(parts: list[Part], stop: int) -> list[tuple[int, int, int]]:
    """(index, line, @timestamp) of every document some worker read, up to line `stop`, in input order."""
    out: dict[int, tuple[int, int, int]] = {}
    for part in parts:
        for index, line, ts in zip(part.index, part.lines, part.ts, strict=True):
            if line > stop:
                break
            out[index] = (index, line, ts)
    return [out[i] for i in sorted(out)]


def first_disorder(documents: list[tuple[int, int, int]]) -> tuple[int, int] | None:
    """(line, the line before it) of the first document earlier than the one read before it."""
    last_ts = last_line = None
    for _, line, ts in documents:
        if last_ts is not None and ts < last_ts:
            return line, last_line  # type: ignore[return-value]
        last_ts, last_line = ts, line
    return None


def run_parts(work: Callable[..., Part], tasks: list[tuple[Any, ...]], progress: Progress | None) -> list[Part]:
    """`work(*task, progress=...)` in one process per task; their Parts, in task order. Progress: the bytes
    the slowest worker has read. Any way out (an error, Ctrl-C) terminates and joins the workers."""
    methods = multiprocessing.get_all_start_methods()
    # fork: the workers inherit the compiled queries (an ES|QL parse costs seconds in a fresh process)
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    done = ctx.RawArray("q", len(tasks))
    procs: list[Any] = []
    conns: dict[Connection, int] = {}
    parts: dict[int, Part] = {}
    try:
        for slot, task in enumerate(tasks):
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(send, work, task, done, slot), daemon=True,
                               name=f"backtest-{slot}")
            proc.start()
            send.close()
            procs.append(proc)
            conns[receive] = slot
        while conns:
            ready = wait(list(conns), timeout=0.25)
            if progress is not None:
                progress(min(done))
            for conn in ready:
                slot = conns.pop(conn)  # type: ignore[call-overload]
                try:
                    kind, payload = conn.recv()  # type: ignore[union-attr]
                except EOFError:
                    procs[slot].join()
                    raise RuntimeError(f"backtest worker {slot} ended without a result "
                                       f"(exit code {procs[slot].exitcode})") from None
                if kind != "ok":
                    raise RuntimeError(f"backtest worker {slot} failed:\n{payload}")
                parts[slot] = payload
        return [parts[s] for s in range(len(tasks))]
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join()
        for conn in conns:
            conn.close()


def _child(conn: Connection, work: Callable[..., Part], task: tuple[Any, ...], done: Any, slot: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends its workers

    def report(read: int) -> None:
        done[slot] = read

    try:
        conn.send(("ok", work(*task, progress=report)))
    except BaseException:
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()
