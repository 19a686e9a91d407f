"""`cloud-secrets replay` on the real engine: every simulated document indexed through the tagging pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from cloud_secrets.assets.catalog import catalog
from cloud_secrets.elastic import replay
from cloud_secrets.elastic.client import EsClient
from cloud_secrets.elastic.ingest import install_pipelines
from cloud_secrets.elastic.wiring import resolve_target
from cloud_secrets.errors import UserError
from cloud_secrets.timestamps import to_datetime
from fault_proxy import proxy

pytestmark = pytest.mark.engine

SCENARIOS = ("stratus_aws_retrieve", "seed_azure_list_get", "seed_gcp_list_access", "denied_probing")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from cloud_secrets.cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "docs.ndjson"
    lines = []
    with ThreadPoolExecutor(max_workers=2) as pool:  # four CLI starts, two at a time (2 cores), kept in order
        for proc in pool.map(lambda s: _cli("simulate", "--scenario", s, "--no-progress"), SCENARIOS):
            assert proc.returncode == 0, proc.stderr
            lines += proc.stdout.splitlines()
    path.write_text("\n".join(lines) + "\n")
    return path


def _docs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _search(es: EsClient, index: str, size: int = 1000) -> list[dict]:
    hits = es.post(f"/{index}/_search", {"size": size, "sort": [{"@timestamp": "desc"}]})["hits"]["hits"]
    return [h["_source"] for h in hits]


def test_replay_indexes_every_document_tagged_into_the_package_data_stream(es: EsClient, simulated: Path) -> None:
    install_pipelines(es)
    index = "logs-cloud_secrets.secret_access-csreplaytest"
    docs = _docs(simulated)
    accesses = {op.action for op in catalog().operations}
    expected_tagged = sum((d.get("event") or {}).get("action") in accesses for d in docs)
    try:
        started = datetime.now(UTC)
        proc = _cli("replay", str(simulated), "--namespace", "csreplaytest", "--shift-to-now", "--es", es.url)
        assert proc.returncode == 0, proc.stderr
        assert f"{index}: {len(docs)} documents indexed, {expected_tagged} tagged" in proc.stdout
        assert es.post(f"/{index}/_count")["count"] == len(docs)
        out = _search(es, index)
        assert sum("secret_access" in d.get("tags", []) for d in out) == expected_tagged > 0
        assert {d["data_stream"]["dataset"] for d in out} == {"cloud_secrets.secret_access"}
        assert {d["event"]["dataset"] for d in out} == {"aws.cloudtrail", "azure.platformlogs", "gcp.audit"}
        latest = to_datetime(out[0]["@timestamp"])
        assert started - timedelta(seconds=5) <= latest <= datetime.now(UTC)
        # the spacing between documents is kept
        original = sorted(to_datetime(d["@timestamp"]) for d in docs)
        shifted = sorted(to_datetime(d["@timestamp"]) for d in out)
        assert [b - a for a, b in pairwise(original)] == [b - a for a, b in pairwise(shifted)]
        assert any(d.get("cloud_secrets", {}).get("identity") for d in out)
    finally:
        if es.get_or_none(f"/{index}") is not None:
            es.delete(f"/{index}")


def test_replay_into_the_integrations_data_streams_where_the_rules_look(es: EsClient, simulated: Path) -> None:
    install_pipelines(es)
    counts = {}
    for doc in _docs(simulated):
        counts[doc["event"]["dataset"]] = counts.get(doc["event"]["dataset"], 0) + 1
    indices = [f"logs-{d}-csreplaytest" for d in counts]
    try:
        progress: list[int] = []
        got = replay.replay(es, simulated, resolve_target(es), "csreplaytest", "integrations", batch=7,
                            progress=progress.append)
        assert got == {f"logs-{d}-csreplaytest": n for d, n in counts.items()}
        assert sum(progress) == sum(counts.values()) and len(progress) > len(counts)
        for dataset, n in counts.items():
            out = _search(es, f"logs-{dataset}-csreplaytest")
            assert len(out) == n
            assert {d["data_stream"]["dataset"] for d in out} == {dataset}
    finally:
        for index in indices:
            if es.get_or_none(f"/{index}") is not None:
                es.delete(f"/{index}")


def test_replay_names_the_bad_line(es: EsClient, tmp_path: Path, simulated: Path) -> None:
    good = simulated.read_text().splitlines()[0]
    bad_json = tmp_path / "bad.ndjson"
    bad_json.write_text(f"{good}\n\n{{\"event\": \n")
    proc = _cli("replay", str(bad_json), "--es", es.url)
    assert proc.returncode == 2 and f"{bad_json}:3: not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr

    bad_time = tmp_path / "time.ndjson"
    doc = json.loads(good)
    doc["@timestamp"] = "yesterday"
    bad_time.write_text(f"{good}\n{json.dumps(doc)}\n")
    with pytest.raises(UserError, match=rf"{bad_time}:2: @timestamp: "):
        replay.scan(bad_time)
    proc = _cli("replay", str(bad_time), "--es", es.url)
    assert proc.returncode == 2 and f"{bad_time}:2: @timestamp" in proc.stderr

    no_dataset = tmp_path / "nods.ndjson"
    doc = json.loads(good)
    del doc["event"]["dataset"], doc["data_stream"]
    no_dataset.write_text(f"{good}\n{json.dumps(doc)}\n")
    proc = _cli("replay", str(no_dataset), "--target", "integrations", "--yes", "--namespace", "csbadtest",
                "--es", es.url)
    assert proc.returncode == 2 and f"{no_dataset}:2: event.dataset: missing" in proc.stderr
    assert es.get("/_cat/indices/logs-*-csbadtest", params={"format": "json"}) == []  # nothing indexed


def test_replay_of_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        replay.scan(tmp_path / "absent.ndjson")


def test_replay_through_faults_writes_every_document_exactly_once_and_marks_it(es: EsClient, simulated: Path) -> None:
    """Between the CLI and the node: the first bulk request is refused with 429, the second is done by the
    node but its connection reset before the answer, the third is slow. Every document ends up indexed once."""
    install_pipelines(es)
    index = "logs-cloud_secrets.secret_access-csfaulttest"
    docs = _docs(simulated)
    bulks: list[str] = []

    def fault(method: str, path: str) -> tuple[int, dict] | None:
        if path.startswith("/_bulk"):
            bulks.append(path)
            if len(bulks) == 1:
                return 429, {"error": {"type": "es_rejected_execution_exception", "reason": "injected"},
                             "status": 429}
        return None

    try:
        with proxy(es.url, fault, drop=lambda m, p: p.startswith("/_bulk") and len(bulks) == 2,
                   delay=lambda m, p: 1.0 if p.startswith("/_bulk") and len(bulks) == 3 else 0.0) as url:
            proc = _cli("replay", str(simulated), "--namespace", "csfaulttest", "--es", url)
        assert proc.returncode == 0, proc.stderr
        assert len(bulks) >= 3 and proc.stderr.count("retrying") >= 2
        assert f"{len(docs)} of {len(docs)} documents written, each once" in proc.stdout
        assert es.post(f"/{index}/_count")["count"] == len(docs)
        out = _search(es, index, size=len(docs) + 10)
        assert len(out) == len(docs)
        assert all("cloud_secrets_simulated" in d["tags"] and d["labels"]["cloud_secrets_simulated"] == "true"
                   for d in out)
        # the ids are the documents' own: the same replay again writes nothing new
        again = _cli("replay", str(simulated), "--namespace", "csfaulttest", "--es", es.url)
        assert again.returncode == 0, again.stderr
        assert es.post(f"/{index}/_count")["count"] == len(docs)
    finally:
        if es.get_or_none(f"/{index}") is not None:
            es.delete(f"/{index}")


def test_replay_into_the_official_data_streams_asks_first(es: EsClient, simulated: Path) -> None:
    proc = _cli("replay", str(simulated), "--target", "integrations", "--namespace", "csasktest", "--es", es.url)
    assert proc.returncode == 2 and "confirm with --yes" in proc.stderr and "Traceback" not in proc.stderr
    assert es.get("/_cat/indices/logs-*-csasktest", params={"format": "json"}) == []
