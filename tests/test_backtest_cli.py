"""`cloud-secrets backtest` as a user runs it: output, and errors naming file, line and field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DS = {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"}


def doc(i: int, action: str = "GetSecretValue", **extra: object) -> dict:
    d = {"@timestamp": f"2026-03-02T10:{i:02d}:00.000Z", "data_stream": DS,
         "event": {"dataset": "aws.cloudtrail", "action": action}, "user": {"name": "harvester"},
         "source": {"ip": "203.0.113.7"}, "cloud_secrets": {"identity": "harvester", "outcome": "success"}}
    if action == "GetSecretValue":  # as the tagging pipeline classifies it
        d["cloud_secrets"]["operation"] = "read"
    d.update(extra)
    return d


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from cloud_secrets.cli.main import main; main()", "backtest", *args],
                          capture_output=True, text=True, timeout=120)


# Several `cloud-secrets backtest` invocations in one Python process, each through `main()` with its own
# argv, stdout, stderr and exit code; an exception escaping `main()` is printed as the interpreter would
# (a traceback on stderr, exit code 1). One process, because every process pays seconds at its first ES|QL
# parse (the ANTLR runtime builds its prediction tables) before it reads a line.
_DRIVER = """
import contextlib, io, json, sys, traceback
from cloud_secrets.cli.main import main
def stream():  # text over bytes, as sys.stdout (the CLI writes JSON lines to sys.stdout.buffer)
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
results = []
for argv in json.loads(sys.argv[1]):
    out, err, code = stream(), stream(), 0
    sys.argv = ["cloud-secrets", "backtest", *argv]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append([code, out.buffer.getvalue().decode(), err.buffer.getvalue().decode()])
sys.__stdout__.write(json.dumps(results))
"""


def cli_runs(*argvs: list[str]) -> list[subprocess.CompletedProcess[str]]:
    done = subprocess.run([sys.executable, "-c", _DRIVER, json.dumps(argvs)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return [subprocess.CompletedProcess(["backtest", *argv], code, out, err)
            for argv, (code, out, err) in zip(argvs, json.loads(done.stdout), strict=True)]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_json_lines_have_the_interface_fields(tmp_path: Path) -> None:
    lines = [json.dumps(doc(i)) for i in range(10)] + [json.dumps(doc(10, "DescribeInstances"))]
    out = cli(str(write(tmp_path / "t.jsonl", lines)), "--json", "--rule", "bulk_access_sequence")
    assert out.returncode == 0, out.stderr
    alerts = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(alerts) == 1
    a = alerts[0]
    assert {k: a[k] for k in ("rule", "identity", "source_ip", "start", "end", "event_count")} == {
        "rule": "bulk_access_sequence", "identity": "harvester", "source_ip": "203.0.113.7",
        "start": "2026-03-02T10:00:00.000Z", "end": "2026-03-02T10:09:00.000Z", "event_count": 10}
    assert a["lines"] == list(range(1, 11))
    assert a["building_block"] is True  # the seed rule ships as a building block


def test_summary_json_prints_one_object_per_the_interface(tmp_path: Path) -> None:
    lines = [json.dumps(doc(i)) for i in range(10)]
    labels = [json.dumps({"index": i, "line": i + 1, "kind": "attack" if i < 10 else "benign",
                          "scenario": "harvest", "identity": "harvester", "timestamp": doc(i)["@timestamp"]})
              for i in range(10)]
    data, lab = write(tmp_path / "t.jsonl", lines), write(tmp_path / "l.jsonl", labels)
    out = cli(str(data), "--labels", str(lab), "--summary-json", "--warmup", "0m")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 1
    summary = json.loads(out.stdout)
    assert set(summary) == {"rules", "visible"} and "seed_as_written" not in summary["rules"]
    seq = summary["rules"]["bulk_access_sequence"]
    assert seq == {"recall": [1, 1], "false_alerts_per_day": 0.0, "building_block": True}
    assert set(summary["visible"]) == {"recall", "false_alerts_per_day"} and summary["visible"]["recall"][1] == 1
    bad = cli(str(data), "--summary-json")
    assert bad.returncode == 2 and "--summary-json needs --labels" in bad.stderr


def test_table_output_and_markdown_needs_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [json.dumps(doc(i)) for i in range(10)])
    table, markdown = cli_runs([str(path), "--quiet"], [str(path), "--markdown"])
    assert table.returncode == 0 and "bulk_access_sequence" in table.stdout and "1 alerts" in table.stdout
    assert markdown.returncode == 2 and "--markdown needs --labels" in markdown.stderr


BAD_LINES = [
    ('{"event": {"action": "GetSecretValue"', "t.jsonl:3: not valid JSON"),
    ('["GetSecretValue"]', "t.jsonl:3: expected a JSON object, got list"),
    (json.dumps({k: v for k, v in doc(2).items() if k != "@timestamp"}), "t.jsonl:3: @timestamp: missing"),
    (json.dumps(doc(2, **{"@timestamp": "yesterday"})), "t.jsonl:3: @timestamp: 'yesterday' is not a date"),
    (json.dumps(doc(0, **{"@timestamp": "2026-03-01T00:00:00Z"})), "t.jsonl:3: @timestamp: 2026-03-01T00:00:00Z is "
                                                                   "earlier than line 2's"),
]


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """`backtest --json` over each bad file (two good lines, then the bad one), all in one process."""
    paths = []
    for n, (line, _) in enumerate(BAD_LINES):
        lines = [json.dumps(doc(0)), json.dumps(doc(1)), line]
        paths.append(write(tmp_path_factory.mktemp(f"bad{n}") / "t.jsonl", lines))
    runs = cli_runs(*[[str(p), "--json"] for p in paths])
    return {line: run for (line, _), run in zip(BAD_LINES, runs, strict=True)}


@pytest.mark.parametrize(("line", "expected"), BAD_LINES)
def test_bad_input_is_one_line_naming_file_line_and_field(bad_input_runs: dict[str, subprocess.CompletedProcess[str]],
                                                         line: str, expected: str) -> None:
    out = bad_input_runs[line]
    assert out.returncode == 2
    assert expected in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_bad_labels_and_options(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [json.dumps(doc(0))])
    labels = write(tmp_path / "l.jsonl", ['{"index": 0, "kind": "benign"}'])
    bad_labels, unknown, absent, warmup = cli_runs(
        [str(path), "--labels", str(labels)], [str(path), "--rule", "nope"], [str(tmp_path / "absent.jsonl")],
        [str(path), "--warmup", "soon"])
    assert bad_labels.returncode == 2 and "l.jsonl:1: timestamp: missing" in bad_labels.stderr
    assert "Traceback" not in bad_labels.stderr
    assert unknown.returncode == 2 and "unknown rule nope" in unknown.stderr
    assert absent.returncode == 2 and "cannot read" in absent.stderr and "absent.jsonl" in absent.stderr
    assert warmup.returncode == 2 and "--warmup 'soon' is not a duration" in warmup.stderr


def test_the_batch_driver_reports_a_traceback_as_the_interpreter_would(tmp_path: Path) -> None:
    """The one-process driver above must not hide a crash: an exception escaping main() is a traceback."""
    (run,) = cli_runs([str(tmp_path), "--json"])  # a directory: whatever the CLI says, it must say it cleanly
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
