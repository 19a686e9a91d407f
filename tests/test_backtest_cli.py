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
    out = cli(str(path), "--quiet")
    assert out.returncode == 0 and "bulk_access_sequence" in out.stdout and "1 alerts" in out.stdout
    out = cli(str(path), "--markdown")
    assert out.returncode == 2 and "--markdown needs --labels" in out.stderr


@pytest.mark.parametrize(("line", "expected"), [
    ('{"event": {"action": "GetSecretValue"', "t.jsonl:3: not valid JSON"),
    ('["GetSecretValue"]', "t.jsonl:3: expected a JSON object, got list"),
    (json.dumps({k: v for k, v in doc(2).items() if k != "@timestamp"}), "t.jsonl:3: @timestamp: missing"),
    (json.dumps(doc(2, **{"@timestamp": "yesterday"})), "t.jsonl:3: @timestamp: 'yesterday' is not a date"),
    (json.dumps(doc(0, **{"@timestamp": "2026-03-01T00:00:00Z"})), "t.jsonl:3: @timestamp: 2026-03-01T00:00:00Z is "
                                                                   "earlier than line 2's"),
])
def test_bad_input_is_one_line_naming_file_line_and_field(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path / "t.jsonl", [json.dumps(doc(0)), json.dumps(doc(1)), line])
    out = cli(str(path), "--json")
    assert out.returncode == 2
    assert expected in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_bad_labels_and_options(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [json.dumps(doc(0))])
    labels = write(tmp_path / "l.jsonl", ['{"index": 0, "kind": "benign"}'])
    out = cli(str(path), "--labels", str(labels))
    assert out.returncode == 2 and "l.jsonl:1: timestamp: missing" in out.stderr and "Traceback" not in out.stderr
    out = cli(str(path), "--rule", "nope")
    assert out.returncode == 2 and "unknown rule nope" in out.stderr
    out = cli(str(tmp_path / "absent.jsonl"))
    assert out.returncode == 2 and "cannot read" in out.stderr and "absent.jsonl" in out.stderr
    out = cli(str(path), "--warmup", "soon")
    assert out.returncode == 2 and "--warmup 'soon' is not a duration" in out.stderr
