"""Stream a file of tagged documents through the rule pack's runners.

Documents must be in time order (as `cloud-secrets simulate` writes them and `cloud-secrets tag` keeps
them). Lines are read as bytes; a line that fails the pack's byte prefilter is skipped unparsed (so a
malformed line no rule could match goes unnoticed), every other line is parsed (orjson), given to the
runners whose index patterns match its data stream (`<type>-<dataset>-<namespace>`), and dropped, unless a
runner keeps it in its window. Memory is bounded by the rules' windows (maxspan, lookback, history).

A file is read in large chunks and searched with `bytes.find` for the prefilter's substrings, so the lines
no rule can match (most of a production stream: other services' calls) are never split, copied or looked
at one by one in Python; only the candidate lines are cut out, and their line numbers counted in C
(`bytes.count`). A chunk in which some line does not start with `{` (a blank line, leading whitespace)
is read line by line instead, so that blank lines are skipped and counted exactly as before.
"""

from __future__ import annotations

import fnmatch
import gc
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from ..errors import UserError
from .alerts import Alert
from .events import Event, parse_timestamp
from .prefilter import LineTest, line_test, needles
from .rulepack import Rule
from .runners import Runner, runner_for

Progress = Callable[[int], None]  # bytes read so far
CHUNK = 1 << 20  # bytes read at a time (4 MiB is no faster)


@dataclass
class Result:
    alerts: list[Alert]
    documents: int = 0
    parsed: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    rules: list[Rule] = field(default_factory=list)
    skipped_rules: dict[str, str] = field(default_factory=dict)  # slug -> why it saw no documents

    def judged_rules(self) -> list[str]:
        """The rules that saw documents (a rule over another index has nothing to be judged on)."""
        return [r.slug for r in self.rules if r.slug not in self.skipped_rules]


def _index_name(doc: dict[str, Any]) -> str:
    ds = doc.get("data_stream")
    if type(ds) is not dict:
        return ""
    return f"{ds.get('type', 'logs')}-{ds.get('dataset', 'generic')}-{ds.get('namespace', 'default')}"


def run_lines(lines: Iterable[bytes], name: str, rules: list[Rule], progress: Progress | None = None,
              on_alert: Callable[[Alert], None] | None = None) -> Result:
    """Alerts are collected in the Result, sorted by start; or, with `on_alert`, handed over as they are raised
    and not kept (memory then stays bounded however many alerts a long input raises)."""
    runners = [runner_for(r) for r in rules]
    found = needles(r.line_literals() for r in runners)
    scan = _Scan(progress)
    return _run(scan.lines(lines, line_test(found)), scan, name, rules, runners, on_alert)


def run_chunks(handle: IO[bytes], name: str, rules: list[Rule], progress: Progress | None = None,
               on_alert: Callable[[Alert], None] | None = None) -> Result:
    """As run_lines, reading `handle` in chunks of CHUNK bytes (the same result, faster)."""
    runners = [runner_for(r) for r in rules]
    found = needles(r.line_literals() for r in runners)
    scan = _Scan(progress)
    return _run(scan.chunks(handle, found), scan, name, rules, runners, on_alert)


_BLANK_START = (b"", b"\n", b" ", b"\t", b"\r", b"\x0b", b"\x0c")
_BLANK_LINE = re.compile(rb"\n[\n \t\r\x0b\x0c]")  # a line that may be blank (whitespace only) starts here
Candidate = tuple[int, int, bytes]  # (1-based line number, 0-based index among non-blank lines, line)


class _Scan:
    """The lines that pass the prefilter, with their numbers; counts the non-blank lines and bytes read."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.documents = 0  # non-blank lines
        self.read = 0

    def lines(self, lines: Iterable[bytes], test: LineTest | None) -> Iterator[Candidate]:
        progress = self.progress
        documents = 0
        for number, line in enumerate(lines, start=1):
            if progress is not None:
                self.read += len(line)
                if number % 65536 == 0:
                    progress(self.read)
            if not line.strip():
                continue
            documents += 1
            self.documents = documents
            if test is None or test(line):
                yield number, documents - 1, line
        if progress is not None:
            progress(self.read)

    def chunks(self, handle: IO[bytes], found: list[bytes] | None) -> Iterator[Candidate]:
        test = line_test(found)
        whole_lines = found is None or any(b"\n" in n for n in found)
        dense = whole_lines
        number = 0  # lines before the current region
        rest = b""  # the start of a line cut by the end of the previous chunk
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                if rest:
                    lines, _ = yield from self._region_lines(rest, number, test, found)
                if self.progress is not None:
                    self.progress(self.read)
                return
            self.read += len(chunk)
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                rest += chunk
                continue
            lo = 0
            if rest:  # the line across the two chunks, alone
                lo = chunk.find(b"\n") + 1
                lines, _ = yield from self._region_lines(rest + chunk[:lo], number, test, found)
                number += lines
            if lo < cut:
                # Dense regions (many candidates, as in a file of secret-store events only) are faster line by
                # line; sparse ones (a production mix) by find. The previous region's density decides.
                if dense or chunk[lo:lo + 1] in _BLANK_START or _BLANK_LINE.search(chunk, lo, cut) is not None:
                    lines, hits = yield from self._region_lines(chunk[lo:cut], number, test, found)
                else:
                    lines, hits = yield from self._region_hits(chunk, lo, cut, number, self.documents, found or [])
                    self.documents += lines
                number += lines
                dense = whole_lines or hits * 16 > lines
            rest = chunk[cut:]
            if self.progress is not None:
                self.progress(self.read)

    def _region_lines(self, data: bytes, number: int, test: LineTest | None, found: list[bytes] | None
                      ) -> Generator[Candidate, None, tuple[int, int]]:
        """Line by line (also right with blank lines); returns its numbers of lines and of candidates."""
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()
        hits = 0
        documents = self.documents
        needle = found[0] if found is not None and len(found) == 1 else None
        for offset, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            documents += 1
            if (needle in line) if needle is not None else (test is None or test(line)):
                hits += 1
                yield number + offset, documents - 1, line
        self.documents = documents
        return len(lines), hits

    @staticmethod
    def _region_hits(data: bytes, lo: int, hi: int, number: int, documents: int, found: list[bytes]
                     ) -> Generator[Candidate, None, tuple[int, int]]:
        """The lines of `data[lo:hi]` (whole lines, none blank) containing one of `found`, by bytes.find;
        returns its numbers of lines and of candidates. Newlines are counted once, between hits and after
        the last."""
        find, rfind, count = data.find, data.rfind, data.count
        done = hits = 0  # lines before `pos`, candidates
        pos = lo
        nexts = [find(n, pos, hi) for n in found]  # the next place of each substring (-1: none left)
        while True:
            hit = min((p for p in nexts if p >= 0), default=-1)
            if hit < 0:
                break
            start = rfind(b"\n", pos, hit) + 1 or pos
            end = find(b"\n", hit, hi) + 1
            done += count(b"\n", pos, start)
            yield number + done + 1, documents + done, data[start:end]
            done += 1
            hits += 1
            pos = end
            nexts = [p if p < 0 or p >= end else find(n, pos, hi) for n, p in zip(found, nexts, strict=True)]
        return done + count(b"\n", pos, hi), hits


def _run(candidates: Iterator[Candidate], scan: _Scan, name: str, rules: list[Rule], runners: list[Runner],
         on_alert: Callable[[Alert], None] | None) -> Result:
    # Every parsed document is a tree of young dicts and lists that the runners keep for a while, so the
    # default collector thresholds (700 allocations) make it traverse them over and over: a quarter of the
    # time on dense input. Collections are made rarer, not disabled, for the run.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 20_000), max(thresholds[1], 50), max(thresholds[2], 100))
    try:
        return _stream(candidates, scan, name, rules, runners, on_alert)
    finally:
        gc.set_threshold(*thresholds)


def _stream(candidates: Iterator[Candidate], scan: _Scan, name: str, rules: list[Rule], runners: list[Runner],
            on_alert: Callable[[Alert], None] | None) -> Result:
    routes: dict[str, list[Runner]] = {}
    seen_runner: set[int] = set()
    parsed = 0
    first_ts = last_ts = None
    last_line = 0
    loads = orjson.loads
    for number, index, line in candidates:
        try:
            doc = loads(line)
        except orjson.JSONDecodeError as err:
            raise UserError(f"{name}:{number}: not valid JSON ({err})") from None
        if type(doc) is not dict:
            raise UserError(f"{name}:{number}: expected a JSON object, got {type(doc).__name__}")
        parsed += 1
        raw_ts = doc.get("@timestamp")
        if raw_ts is None:
            raise UserError(f"{name}:{number}: @timestamp: missing (the backtest orders events by it)")
        try:
            ts = parse_timestamp(raw_ts)
        except (ValueError, TypeError) as err:
            raise UserError(f"{name}:{number}: @timestamp: {raw_ts!r} is not a date ({err})") from None
        if last_ts is not None and ts < last_ts:
            raise UserError(
                f"{name}:{number}: @timestamp: {raw_ts} is earlier than line {last_line}'s; the backtest needs "
                "documents in time order (sort them by @timestamp)")
        if first_ts is None:
            first_ts = ts
        last_ts, last_line = ts, number
        idx = _index_name(doc)
        targets = routes.get(idx)
        if targets is None:
            targets = routes[idx] = [r for r in runners if any(fnmatch.fnmatchcase(idx, p) for p in r.index)]
        if not targets:
            continue
        ev = Event(index, number, ts, doc)
        for runner in targets:
            seen_runner.add(id(runner))
            runner.advance(ts)
            runner.feed(ev)
            if on_alert is not None and runner.alerts:
                _hand_over(runner, on_alert)
    for runner in runners:
        runner.finish()
        if on_alert is not None:
            _hand_over(runner, on_alert)
    alerts = [a for r in runners for a in r.alerts]
    alerts.sort(key=lambda a: (a.start, a.rule, a.end))
    skipped = {r.rule.slug: f"no document of its indices ({', '.join(r.index)})"
               for r in runners if id(r) not in seen_runner}
    return Result(alerts, scan.documents, parsed, first_ts, last_ts, rules, skipped)


def _hand_over(runner: Runner, on_alert: Callable[[Alert], None]) -> None:
    for alert in runner.alerts:
        on_alert(alert)
    runner.alerts.clear()


def run_file(path: str, rules: list[Rule], progress: Progress | None = None,
             on_alert: Callable[[Alert], None] | None = None) -> Result:
    try:
        handle: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    with handle:
        name = os.path.basename(path) if path != "/dev/stdin" else "<stdin>"
        return run_chunks(handle, name, rules, progress, on_alert)
