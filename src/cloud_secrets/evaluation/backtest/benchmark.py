"""`make bench`, backtest section: the seed rule with the eql library and with the backtest, and memory.

- One labelled week (`simulate all`, 7 days, 300 identities) is tagged by the package's pipeline on the
  engine. Two files of 100,000 documents are built from it, and the eql library (PythonEngine,
  Elasticsearch syntax with runs; it reads time from `timestamp`) and the backtest run
  `bulk_access_sequence` over each, each reading and parsing the file itself (the library parses and sees
  every event, as it would; the backtest's compiled reader, readers.py, skips lines no rule can match and
  parses only the fields the rule reads). Neither side's time includes compiling the query:
  - `backtest_speedup_vs_eql`, the production mix (`production_mix`): 3% of the events are secret-store
    calls, as in the pipeline benchmark (`bench.pipeline_mix`); the rest are other services' calls. In
    production CloudTrail, Azure and GCP logs, secret-store calls are a small fraction of all events, and
    there the prefilter's cost per skipped line, not JSON parsing, is what the backtest spends.
  - `backtest_speedup_vs_eql_simulated_week`, the first 100,000 documents of the simulated week, where
    45% of the documents are secret-store calls (the simulator generates mostly the traffic the rules
    are about), every one of which both engines must parse.
  The issue's goal is 200 or more; docs/backtest.md ("Speed and memory") has the figures and where the
  time goes.
- The alerts must be identical on the subset where the two agree by design: the eql library joins null
  keys (Elasticsearch never does) and folds case unless `eql.utils.CASE_INSENSITIVE` is off, so the
  library runs case-sensitively and its sequences with a null join key are set aside (and counted).
- `backtest_pack_docs_per_s`: the whole pack as shipped over the tagged week, documents per second, in one
  process (and `backtest_pack_docs_per_s_production_mix`, the same over the production mix);
  `backtest_pack_docs_per_s_jobs`: the same week with `backtest`'s default `--jobs` (the usable CPUs, at most
  one worker per group of rules: parallel.py), whose alerts must be those of one process; and
  `backtest_baseline_incremental_speedup`: `baseline_deviation` alone evaluated incrementally against its
  ES|QL run as written, hour by hour, over the same week (same alerts).
- Memory: the tagged week is replayed into a backtest subprocess's stdin until 10M documents have streamed
  through, every copy shifted by whole weeks and with its identities renamed (so per-key state keeps
  growing as in a larger estate); the figure is the child's peak resident set size, its VmHWM read from
  /proc when it exits. (`ru_maxrss` from wait4 or RUSAGE_CHILDREN would count the parent's memory too: on
  Linux a forked child's peak includes the pages it shared with the parent before exec.)
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import eql
import orjson
from rich.console import Console

from ...fieldpath import values_of
from ...paths import WORK
from ...timestamps import to_ms
from ..simulate.examples import other_service_events
from .derived import runner_for
from .parallel import usable_cpus
from .readers import native_available
from .rulepack import Rule, package_rules, select
from .run import Result, run_file
from .sample import tagged_sample

SEED_RULE = "bulk_access_sequence"
BASELINE_RULE = "baseline_deviation"
COMPARE_EVENTS = 100_000
STREAM_EVENTS = 10_000_000
MIX_SECRET_SHARE = 0.03  # secret-store calls among all CloudTrail / Azure / GCP events, as the pipeline bench


def production_mix(week: list[bytes], total: int = COMPARE_EVENTS, share: float = MIX_SECRET_SHARE,
                   seed: int = 7) -> list[bytes]:
    """`total` documents in time order of which `share` are secret-store events, as in a production stream.

    The start of the tagged week, in order, until it has given `share * total` secret-store events (documents
    the pipeline tagged, with `cloud_secrets.*`; it also gives the week's own calls to other AWS, Azure and
    GCP services), interleaved at random places with other services' CloudTrail events
    (`simulate.examples.other_service_events`; the pipeline leaves them untouched, which its tests prove, so as
    inputs they are also its outputs), each stamped with the time of the week's document before it.
    """
    want = round(total * share)
    head: list[bytes] = []
    times: list[str] = []
    secret = 0
    for line in week:
        if secret >= want:
            break
        doc = orjson.loads(line)
        head.append(line)
        times.append(doc["@timestamp"])
        secret += "cloud_secrets" in doc
    others = other_service_events(total - len(head), seed=seed)
    rng = random.Random(seed)
    at_other = set(rng.sample(range(1, total), len(others)))
    out: list[bytes] = []
    taken = 0
    for position in range(total):
        if position in at_other:
            doc = others.pop()
            doc["@timestamp"] = times[taken - 1]
            out.append(orjson.dumps(doc))
        else:
            out.append(head[taken])
            taken += 1
    return out


def eql_library_sequences(path: Path, rule: Rule) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]], float]:
    """(sequences with non-null keys, sequences with a null key, events/s) of the eql library on `path`."""
    previous = eql.utils.CASE_INSENSITIVE
    eql.utils.CASE_INSENSITIVE = False  # must be off before the query is compiled (it folds its literals)
    try:
        config = eql.ParserConfig(eql.parser.elasticsearch_syntax, eql.parser.allow_runs)
        with config:
            query = eql.parse_query(rule.query)
        keys = [f.render() for f in query.first.queries[0].join_values]
        engine = eql.PythonEngine({"time_unit": 1000})
        found: list[Any] = []
        engine.add_output_hook(lambda result: found.append(result.events))
        with config:
            engine.add_query(query)

        def events() -> Iterator[Any]:
            with path.open("rb", buffering=1 << 20) as handle:  # the backtest's buffer too
                for number, line in enumerate(handle, start=1):
                    doc = orjson.loads(line)
                    doc["timestamp"] = to_ms(doc["@timestamp"])
                    doc["_line"] = number
                    yield eql.Event("generic", doc["timestamp"], doc)

        began = time.perf_counter()
        engine.stream_events(events())
        elapsed = time.perf_counter() - began
    finally:
        eql.utils.CASE_INSENSITIVE = previous
    joined, null_keyed = [], []
    for evs in found:
        lines = tuple(e.data["_line"] for e in evs)
        if all(values_of(e.data, k) for e in evs for k in keys):
            joined.append(lines)
        else:
            null_keyed.append(lines)
    count = sum(1 for _ in path.open("rb"))
    return joined, null_keyed, count / elapsed


def backtest_rate(path: Path, rules: list[Rule], rounds: int = 3) -> tuple[list[tuple[int, ...]], float]:
    """The best of `rounds` runs (compiled queries are cached after the first, as the library compiles its
    query before its clock starts)."""
    if not native_available():
        raise RuntimeError("the backtest's native reader is not built: run `make bootstrap`")
    best = float("inf")
    alerts: list[Any] = []
    for _ in range(rounds):
        began = time.perf_counter()
        result = run_file(str(path), rules)
        best = min(best, time.perf_counter() - began)
        alerts = result.alerts
    return [tuple(a.lines) for a in alerts], result.documents / best


def replayed(lines: list[bytes], total: int) -> Iterator[bytes]:
    """`total` lines: copies of `lines` shifted by whole weeks, identities renamed per copy."""
    first = to_ms(orjson.loads(lines[0])["@timestamp"])
    last = to_ms(orjson.loads(lines[-1])["@timestamp"])
    weeks = (last - first) // (7 * 86_400_000) + 1
    marker = b'"@timestamp":"'
    parts = []
    for line in lines:
        doc = orjson.loads(line)
        who = values_of(doc, "cloud_secrets.identity") or values_of(doc, "user.name")
        at = line.find(marker) + len(marker)
        parts.append((line[:at], line[at:at + 10], line[at + 10:], b'"%s"' % str(who[0]).encode() if who else None))
    sent = 0
    copy = 0
    while True:
        shift = timedelta(days=7 * weeks * copy)
        dates: dict[bytes, bytes] = {}
        tag = b"~%d" % copy
        for head, day, tail, quoted in parts:
            new_day = dates.get(day)
            if new_day is None:
                new_day = dates[day] = (date.fromisoformat(day.decode()) + shift).isoformat().encode()
            line = head + new_day + tail
            if quoted is not None and copy:
                line = line.replace(quoted, quoted[:-1] + tag + b'"')
            yield line
            sent += 1
            if sent >= total:
                return
        copy += 1


# The backtest CLI, reporting its own peak resident set size (VmHWM, kB) on stderr when it exits.
_MEASURED_CLI = """
import atexit, sys
def _peak():
    with open("/proc/self/status") as status:
        sys.stderr.write("".join(line for line in status if line.startswith("VmHWM")))
atexit.register(_peak)
from cloud_secrets.cli.main import main
main()
"""


def peak_mb_streaming(lines: list[bytes], total: int, rule: str) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of `cloud-secrets backtest - --json` fed `total` replayed lines."""
    cmd = [sys.executable, "-c", _MEASURED_CLI, "backtest", "-", "--json", "--quiet", "--rule", rule]
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    batch: list[bytes] = []
    for line in replayed(lines, total):
        batch.append(line)
        if len(batch) == 4096:
            proc.stdin.write(b"\n".join(batch) + b"\n")
            batch.clear()
    if batch:
        proc.stdin.write(b"\n".join(batch) + b"\n")
    proc.stdin.close()
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.wait():
        raise RuntimeError(f"backtest subprocess failed with {proc.returncode}: {err[-2000:]}")
    peak_kb = next(int(line.split()[1]) for line in err.splitlines() if line.startswith("VmHWM"))
    return peak_kb / 1024, time.perf_counter() - began


def compare_on(path: Path, rule: list[Rule], what: str, console: Console) -> float:
    """The seed rule over `path` with the eql library and the backtest; identical alerts; backtest / eql rate."""
    joined, null_keyed, eql_rate = eql_library_sequences(path, rule[0])
    ours, ours_rate = backtest_rate(path, rule)
    if sorted(ours) != sorted(joined):
        raise RuntimeError(f"{what}: alerts differ: backtest {len(ours)}, eql library {len(joined)} (non-null keys)")
    console.print(f"  {what}: alerts identical, {len(ours):,} sequences (the eql library also joins "
                  f"{len(null_keyed):,} with a null user.name or source.ip, which Elasticsearch never joins)")
    console.print(f"    eql library: {eql_rate:,.0f} events/s; backtest: {ours_rate:,.0f} events/s; "
                  f"speedup {ours_rate / eql_rate:.1f}")
    return ours_rate / eql_rate


def bench_backtest(es: Any, console: Console, work: Path = WORK / "bench-backtest") -> dict[str, float]:
    sample = tagged_sample(es, work, "all", days=7, identities=300, seed=0)
    lines = sample.tagged.read_bytes().splitlines()
    # The eql library knows nothing of Kibana's alert suppression: compare the sequences themselves.
    rule = [replace(r, suppression=None) for r in select(package_rules(), [SEED_RULE])]
    mix = work / "production-mix.jsonl"
    mix.write_bytes(b"\n".join(production_mix(lines)) + b"\n")
    week = work / "compare.jsonl"
    week.write_bytes(b"\n".join(lines[:COMPARE_EVENTS]) + b"\n")
    console.print(f"backtest vs eql library: {SEED_RULE}, each reading and parsing the same file")
    speedup = compare_on(mix, rule, f"production mix ({COMPARE_EVENTS:,} events, {MIX_SECRET_SHARE:.0%} "
                         "secret-store calls)", console)
    speedup_week = compare_on(week, rule, f"simulated week ({min(len(lines), COMPARE_EVENTS):,} documents, "
                              f"{_secret_share(week):.0%} secret-store calls)", console)
    pack = pack_rate_on(sample.tagged, console)
    pack["backtest_pack_docs_per_s_production_mix"] = pack_docs_per_s(mix, "the production mix", console)
    peak, seconds = peak_mb_streaming(lines, STREAM_EVENTS, SEED_RULE)
    console.print(f"  {STREAM_EVENTS:,} replayed documents streamed through `backtest - --json --rule {SEED_RULE}` "
                  f"in {seconds:.0f} s ({STREAM_EVENTS / seconds:,.0f}/s), peak RSS {peak:.0f} MB")
    return {"backtest_speedup_vs_eql": speedup, "backtest_speedup_vs_eql_simulated_week": speedup_week,
            "backtest_peak_mb_10m": peak, **pack}


def pack_run(path: Path, what: str, console: Console, jobs: int = 1) -> tuple[Result, float]:
    """The whole rule pack as shipped over `path` and its documents per second, reading included, compiling not
    (`jobs` worker processes: run.py)."""
    rules = package_rules()
    for rule in rules:
        runner_for(rule)  # compiles and caches the queries (the workers inherit them)
    began = time.perf_counter()
    result = run_file(str(path), rules, jobs=jobs)
    seconds = time.perf_counter() - began
    how = "one process" if jobs == 1 else f"--jobs {jobs}"
    console.print(f"  whole pack ({len(rules)} rules, {how}) over {what}: {result.documents:,} documents "
                  f"({result.parsed:,} parsed) in {seconds:.1f} s, {len(result.alerts):,} alerts")
    return result, result.documents / seconds


def pack_docs_per_s(path: Path, what: str, console: Console) -> float:
    """Documents per second of the whole rule pack as shipped over `path`, in one process."""
    return pack_run(path, what, console)[1]


def pack_rate_on(path: Path, console: Console) -> dict[str, float]:
    """Documents per second of the whole rule pack as shipped (every rule, building blocks and the rules over
    the transform's summary included) over the tagged simulated week, reading included, compiling not (the
    queries are compiled before the clock starts, as on the eql library's side). Reference in the same run:
    `baseline_deviation` alone, evaluated incrementally (baseline_runner.py) and as its ES|QL is written (the
    generic ES|QL runner, `incremental=False`); their alerts must agree."""
    rules = package_rules()
    one, week_rate = pack_run(path, "the simulated week", console)
    jobs = usable_cpus()
    many, jobs_rate = pack_run(path, "the simulated week", console, jobs)
    if [a.to_json() for a in many.alerts] != [a.to_json() for a in one.alerts]:
        raise RuntimeError(f"whole pack: the alerts of --jobs {jobs} differ from those of one process")
    console.print(f"  --jobs {jobs}: identical alerts, {jobs_rate / week_rate:.2f} times the documents/s of one "
                  "process")
    (baseline,) = select(rules, [BASELINE_RULE])
    rates = {}
    alerts = {}
    for name, incremental in (("incremental", True), ("as written", False)):
        runner_for(baseline, incremental)
        began = time.perf_counter()
        alone = run_file(str(path), [baseline], incremental=incremental)
        rates[name] = alone.documents / (time.perf_counter() - began)
        alerts[name] = [(a.identity, a.start, a.detected_at, a.fields) for a in alone.alerts]
    if alerts["incremental"] != alerts["as written"]:
        raise RuntimeError(f"{BASELINE_RULE}: incremental alerts differ from the query's as written")
    console.print(f"  {BASELINE_RULE} alone: incremental {rates['incremental']:,.0f} docs/s, its ES|QL as written "
                  f"{rates['as written']:,.0f} docs/s, {len(alerts['incremental'])} identical alerts")
    return {"backtest_pack_docs_per_s": week_rate, "backtest_pack_docs_per_s_jobs": jobs_rate,
            "backtest_baseline_incremental_speedup": rates["incremental"] / rates["as written"]}


def _secret_share(path: Path) -> float:
    """The share of documents the pipeline tagged as secret-store calls (they have `cloud_secrets.*`)."""
    total = tagged = 0
    with path.open("rb") as handle:
        for line in handle:
            total += 1
            tagged += "cloud_secrets" in orjson.loads(line)
    return tagged / max(total, 1)
