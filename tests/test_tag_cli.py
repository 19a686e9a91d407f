"""`cloud-secrets tag` as a user runs it: a real process, a real node, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cloud_secrets.elastic.pipeline_tests import load_cases
from fault_proxy import proxy

pytestmark = pytest.mark.engine


def _run(args: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from cloud_secrets.cli.main import main; main()", *args],
                          input=stdin, capture_output=True, text=True, timeout=300)


def test_tag_keeps_order_and_tags_secret_access(es, tmp_path: Path) -> None:
    events = [e for c in load_cases() for e in c.events]
    source = tmp_path / "in.ndjson"
    source.write_text("".join(json.dumps(e) + "\n" for e in events))
    proc = _run(["tag", str(source), "--es", es.url], "")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["@timestamp"] for o in out] == [e["@timestamp"] for e in events]
    assert [o["event"]["action"] for o in out] == [e["event"]["action"] for e in events]
    assert sum("secret_access" in o.get("tags", []) for o in out) == sum("cloud_secrets" in o for o in out) > 0


def test_tag_reports_the_bad_line_without_traceback(es) -> None:
    proc = _run(["tag", "-", "--es", es.url], '{"event": {}}\n\n{"event": \n')
    assert proc.returncode == 2
    assert "<stdin>:3: not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tag_rejects_a_non_object_line(es) -> None:
    proc = _run(["tag", "-", "--es", es.url], "[1, 2]\n")
    assert proc.returncode == 2 and "<stdin>:1: expected a JSON object, got list" in proc.stderr


def test_tag_names_an_unreachable_node() -> None:
    proc = _run(["tag", "-", "--es", "http://127.0.0.1:9"], '{"a": 1}\n')
    assert proc.returncode == 2
    assert "cannot connect to Elasticsearch at http://127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tag_retries_429_and_lost_connections_and_loses_nothing(es, tmp_path: Path) -> None:
    events = [e for c in load_cases() for e in c.events]
    source = tmp_path / "in.ndjson"
    source.write_text("".join(json.dumps(e) + "\n" for e in events))
    calls: list[str] = []

    def fault(method: str, path: str) -> tuple[int, dict] | None:
        if "_simulate" in path:
            calls.append(path)
            if len(calls) == 1:
                return 429, {"error": {"type": "es_rejected_execution_exception", "reason": "injected"},
                             "status": 429}
        return None

    with proxy(es.url, fault, drop=lambda m, p: "_simulate" in p and len(calls) == 2) as url:
        proc = _run(["tag", str(source), "--es", url], "")
    assert proc.returncode == 0, proc.stderr
    assert len(calls) >= 3
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["@timestamp"] for o in out] == [e["@timestamp"] for e in events]
