"""`run_file(..., jobs=N)` and `backtest --jobs N`: the rules over events in worker processes, the rules over
the alerts index in the parent, with exactly the results of one process (parallel.py).

The sample is conftest's `two_day_sample` (every simulated attack in two days of 40 identities, tagged by the
package's pipeline on the embedded node); the error cases are lines of it, cut or moved.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from cloud_secrets.cli.backtest import backtest as backtest_cmd
from cloud_secrets.errors import UserError
from cloud_secrets.evaluation.backtest import package_rules, run_file, seed_as_written, select
from cloud_secrets.evaluation.backtest.derived import DerivedRunner, runner_for
from cloud_secrets.evaluation.backtest.parallel import Part, first_disorder, merged_documents, plan_groups
from cloud_secrets.evaluation.backtest.rulepack import Rule
from cloud_secrets.evaluation.backtest.run import Result
from cloud_secrets.timestamps import iso_ms

HIGHER_ORDER = "secret_access_signals_per_identity"


def _summary(result: Result) -> tuple[Any, ...]:
    """Everything a Result says, alerts as their JSON lines (fields, lines, building_block) in order."""
    return ([a.to_json() for a in result.alerts], [a.events for a in result.alerts], result.documents,
            result.parsed, result.first_ts, result.last_ts, result.skipped_rules, result.suppressed)


@pytest.fixture(scope="module")
def pack() -> list[Any]:
    return [*package_rules(), seed_as_written()]


@pytest.fixture(scope="module")
def one_process(two_day_sample: Any, pack: list[Any]) -> Result:
    return run_file(str(two_day_sample.tagged), pack)


@pytest.mark.engine
def test_two_jobs_give_the_alerts_of_one_process(two_day_sample: Any, pack: list[Any], one_process: Result) -> None:
    """Streaming too: `on_alert` gets every alert once the workers are done, in the Result's order, and the
    Result keeps none, as in one process."""
    streamed: list[Any] = []
    two = run_file(str(two_day_sample.tagged), pack, jobs=2, on_alert=streamed.append)
    assert two.alerts == []
    two.alerts = streamed
    assert _summary(two) == _summary(one_process)
    higher = [a for a in one_process.alerts if a.rule == HIGHER_ORDER]
    assert higher, "the higher-order rule must alert on the sample, or this test proves little about its replay"
    assert all(a.lines and a.fields.get("Esql.rule_names") for a in higher)
    assert any(a.building_block for a in one_process.alerts)
    assert one_process.suppressed.get("bulk_access_sequence")  # suppression ran in the workers


@pytest.fixture(scope="module")
def head(two_day_sample: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's first 10,000 lines (cheaper cases)."""
    path = tmp_path_factory.mktemp("jobs") / "head.jsonl"
    path.write_bytes(b"\n".join(_lines(two_day_sample)[:10_000]) + b"\n")
    return path


@pytest.mark.engine
def test_the_python_reader_in_workers(head: Path) -> None:
    rules = select(package_rules(), ["bulk_access_sequence", "first_seen_secret_access", HIGHER_ORDER])
    one = run_file(str(head), rules, native=False)
    assert one.alerts
    assert _summary(run_file(str(head), rules, native=False, jobs=3)) == _summary(one)


def test_groups_balance_costs_and_keep_the_summary_rules_together() -> None:
    events = [runner_for(r) for r in package_rules() if r.slug != HIGHER_ORDER]
    groups = plan_groups(events, 2)
    assert len(groups) == 2 and sorted(p for g in groups for p in g) == list(range(len(events)))
    derived = [p for p, r in enumerate(events) if isinstance(r, DerivedRunner)]
    assert len(derived) >= 2 and any(set(derived) <= set(g) for g in groups)
    assert len(plan_groups(events, 64)) == len(events) - len(derived) + 1
    assert plan_groups(events[:1], 4) == [[0]]


def _lines(sample: Any) -> list[bytes]:
    return sample.tagged.read_bytes().splitlines()


@pytest.mark.engine
def test_a_bad_line_in_a_worker_names_file_and_line(two_day_sample: Any, tmp_path: Path) -> None:
    lines = _lines(two_day_sample)
    at = next(n for n, line in enumerate(lines) if b"GetSecretValue" in line and n > 100)
    lines[at] = lines[at][: len(lines[at]) // 2]  # cut in the middle: no rule's needle is lost before the cut
    path = tmp_path / "cut.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rules = package_rules()
    with pytest.raises(UserError) as one:
        run_file(str(path), rules)
    with pytest.raises(UserError) as two:
        run_file(str(path), rules, jobs=2)
    assert str(two.value) == str(one.value)
    assert str(two.value).startswith(f"cut.jsonl:{at + 1}: not valid JSON")


@pytest.mark.engine
def test_a_document_out_of_order_is_reported_as_by_one_process(two_day_sample: Any, tmp_path: Path) -> None:
    lines = _lines(two_day_sample)[:5000]
    early = next(n for n, line in enumerate(lines) if b"GetSecretValue" in line)
    moved = [*lines[:3000], lines[early], *lines[3000:]]
    path = tmp_path / "moved.jsonl"
    path.write_bytes(b"\n".join(moved) + b"\n")
    with pytest.raises(UserError) as one:
        run_file(str(path), package_rules())
    with pytest.raises(UserError) as two:
        run_file(str(path), package_rules(), jobs=2)
    assert str(two.value) == str(one.value)
    assert str(two.value).startswith("moved.jsonl:3001: @timestamp: ")


def _part(docs: list[tuple[int, int, int]]) -> Part:
    part = Part()
    part.index, part.lines, part.ts = (array("q", col) for col in zip(*docs, strict=True))
    return part


def test_disorder_across_workers_is_found() -> None:
    """Each worker reads its documents in order, but together they are not: line 3 is earlier than line 2,
    which only the other worker read. One process would stop at line 3."""
    one, other = _part([(0, 1, 1000), (2, 3, 1500)]), _part([(1, 2, 2000), (3, 4, 3000)])
    documents = merged_documents([one, other], stop=10**9)
    assert [d[1] for d in documents] == [1, 2, 3, 4]
    assert first_disorder(documents) == (3, 2)
    assert first_disorder(merged_documents([one, other], stop=2)) is None  # not past the earliest error


@pytest.mark.engine
def test_cli_jobs_option(head: Path) -> None:
    path = str(head)
    rules = ["--rule", "bulk_access_sequence", "--rule", "enumerate_then_retrieve"]
    runs = {jobs: CliRunner().invoke(backtest_cmd, [path, "--json", "--quiet", "--jobs", jobs, *rules])
            for jobs in ("1", "2")}
    assert all(r.exit_code == 0 for r in runs.values()), [r.output for r in runs.values()]
    one, two = ([orjson.loads(line) for line in r.output.splitlines()] for r in runs.values())
    assert {a["rule"] for a in one} == {"bulk_access_sequence", "enumerate_then_retrieve"}
    assert one != two  # one process streams alerts as raised (else this test would not see the order)
    # one process streams alerts as they are raised; workers hand them over sorted by start, rule, end
    assert two == sorted(one, key=lambda a: (a["start"], a["rule"], a["end"]))
    bad = CliRunner().invoke(backtest_cmd, [path, "--jobs", "0"])
    assert bad.exit_code == 2 and "--jobs" in bad.output


def _rule(slug: str, kind: str, query: str, index: list[str], every_min: int) -> Rule:
    return Rule(slug=slug, name=slug, type=kind, language=kind, query=query, index=index,
                interval_ms=every_min * 60_000, lookback_ms=every_min * 60_000, rule_id=slug, risk_score=21.0)


def test_late_alerts_reach_the_alerts_index_as_in_one_process(tmp_path: Path) -> None:
    """An alert settled late (its rule's 10:10 run executes when the rule's next document arrives, at 10:31)
    is written to the alerts index after the rule over it ran past 10:11, so the first run to count it is the
    next one, at 10:31; the parent's replay of the index (drains at the documents one process drains at)
    keeps that, where feeding the index once after the workers would have the 10:11 run count it.
    Documents: a minimal CloudTrail / Azure activity shape (data_stream, @timestamp, event.action, user.name)."""
    def doc(minute: int, second: int, dataset: str, action: str) -> bytes:
        return orjson.dumps({"@timestamp": f"2026-03-02T10:{minute:02d}:{second:02d}.000Z",
                             "data_stream": {"type": "logs", "dataset": dataset, "namespace": "default"},
                             "event": {"action": action}, "user": {"name": "u"}})
    lines = [doc(0, 30, "aws.cloudtrail", "GetSecretValue")]
    lines += [doc(m, 0, "azure.activitylogs", "SecretGet") for m in range(1, 31)]
    lines.append(doc(31, 0, "aws.cloudtrail", "GetSecretValue"))
    path = tmp_path / "late.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rules = [
        _rule("aws_count", "esql", "FROM logs-aws.cloudtrail-* | STATS n = COUNT(*) BY user.name", [], 10),
        _rule("azure_reads", "eql", 'any where event.action == "SecretGet"', ["logs-azure.activitylogs-*"], 1),
        _rule("per_rule", "esql", "FROM .alerts-security.alerts-* | STATS n = COUNT(*) BY kibana.alert.rule.name",
              [], 1),
    ]
    one = run_file(str(path), rules)
    assert "2026-03-02T10:10:00.000Z" in [iso_ms(a.detected_at) for a in one.alerts if a.rule == "aws_count"]
    counted = [iso_ms(a.detected_at) for a in one.alerts
               if a.rule == "per_rule" and a.fields["kibana.alert.rule.name"] == "aws_count"]
    assert counted[0] == "2026-03-02T10:31:00.000Z"  # not by the 10:11 run: it was written after that run
    assert _summary(run_file(str(path), rules, jobs=2)) == _summary(one)
