"""`attach` / `detach` / `status` on the real engine: user processors survive, never half, byte-exact restore."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from cloud_secrets import paths
from cloud_secrets.assets.package_assets import data_stream_pipelines, default_pipeline, package_info
from cloud_secrets.elastic import wiring
from cloud_secrets.elastic.client import EsClient
from cloud_secrets.elastic.ingest import install_pipelines
from cloud_secrets.elastic.pipeline_tests import load_cases
from cloud_secrets.errors import UserError
from fault_proxy import Rewrite, proxy

VERSION = package_info().version  # the version this checkout installs
_major, _minor, _patch = (int(p) for p in VERSION.split("-")[0].split("."))
NEWER = f"{_major}.{_minor}.{_patch + 99}"  # a later release of the package, as an upgrade installs it

pytestmark = pytest.mark.engine

NAMES = [wiring.custom_name(d) for d in wiring.DATASETS]  # prefixed by the suite (conftest): never a real one
AWS, GCP, AZURE_ACTIVITY = (wiring.custom_name(d) for d in ("aws.cloudtrail", "gcp.audit", "azure.activitylogs"))
USER_PIPELINE = {
    "description": "the user's own",
    "version": 7,
    "processors": [
        {"set": {"field": "labels.env", "value": "prod", "tag": "user_set"}},
        {"lowercase": {"field": "user.name", "ignore_missing": True}},
    ],
}
USER_TEMPLATE = {"template": {"settings": {"index": {"number_of_replicas": "0"}},
                              "mappings": {"properties": {"labels": {"properties": {"env": {"type": "keyword"}}}}}},
                 "_meta": {"managed_by": "fleet", "managed": True, "package": {"name": "aws"}}}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from cloud_secrets.cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=300)


def _clean(es: EsClient) -> None:
    for name in NAMES:
        for path in (f"/_ingest/pipeline/{name}", f"/_component_template/{name}"):
            if es.get_or_none(path) is not None:
                es.delete(path)
    if es.get_or_none(f"/{wiring.backup_index()}") is not None:
        es.delete(f"/{wiring.backup_index()}")


@pytest.fixture
def node(es: EsClient) -> Iterator[EsClient]:
    """The session node with the package's pipelines installed and no @custom pipeline, before and after."""
    install_pipelines(es)
    _clean(es)
    yield es
    _clean(es)


def _raw(es: EsClient, path: str) -> tuple[int, str]:
    resp = requests.get(es.url + path, timeout=30)
    return resp.status_code, resp.text


def _snapshot(es: EsClient) -> dict[str, tuple[int, str]]:
    return {p: _raw(es, p) for n in NAMES for p in (f"/_ingest/pipeline/{n}", f"/_component_template/{n}")}


def _secret_read_event() -> dict:
    return next(e for c in load_cases() for e in c.events if (e.get("event") or {}).get("action") == "GetSecretValue")


def _simulate(es: EsClient, pipeline: str, doc: dict) -> dict:
    result = es.post(f"/_ingest/pipeline/{pipeline}/_simulate", {"docs": [{"_source": doc}]})
    return result["docs"][0]["doc"]["_source"]


def test_attach_keeps_user_processors_in_order_and_twice_is_a_no_op(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    proc = _cli("attach", "--es", node.url)
    assert proc.returncode == 0, proc.stderr
    body = wiring.read(node, wiring.PIPELINE, AWS)
    assert body["processors"][:2] == USER_PIPELINE["processors"]
    ours = body["processors"][2]["pipeline"]
    assert ours["tag"] == wiring.TAG and ours["name"] == default_pipeline()
    # a failing call must reach its on_failure: neither ignore_failure nor ignore_missing_pipeline
    assert "ignore_failure" not in ours and "ignore_missing_pipeline" not in ours
    assert [next(iter(p.values()))["tag"] for p in ours["on_failure"]] == [
        "cloud_secrets_tagging_error", "cloud_secrets_tagging_error_message"]
    assert body["version"] == 8 and body["description"] == USER_PIPELINE["description"]
    for name in NAMES[1:]:
        created = wiring.read(node, wiring.PIPELINE, name)
        assert [p["pipeline"]["tag"] for p in created["processors"]] == [wiring.TAG]

    tagged = _simulate(node, AWS, _secret_read_event())
    assert "secret_access" in tagged["tags"] and tagged["cloud_secrets"]["operation"] == "read"
    assert tagged["labels"]["env"] == "prod"

    before = _snapshot(node)
    again = _cli("attach", "--es", node.url)
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert _snapshot(node) == before


def test_dry_run_prints_the_exact_diff_and_writes_nothing(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    before = _snapshot(node)
    proc = _cli("attach", "--dry-run", "--dataset", "aws.cloudtrail", "--es", node.url)
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(node) == before
    assert f"--- pipeline {AWS} (current)" in proc.stdout
    assert '-  "version": 7,' in proc.stdout and '+  "version": 8,' in proc.stdout
    assert f'+        "name": "{default_pipeline()}",' in proc.stdout
    assert f'+        "tag": "{wiring.TAG}",' in proc.stdout
    assert "gcp.audit" not in proc.stdout and "nothing written" in proc.stdout


def test_detach_restore_puts_back_every_byte(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    node.put(f"/_component_template/{AWS}", USER_TEMPLATE)
    before = _snapshot(node)
    attached = _cli("attach", "--mappings", "--es", node.url)
    assert attached.returncode == 0, attached.stderr
    assert "rollover" in attached.stdout
    template = wiring.read(node, wiring.TEMPLATE, AWS)
    props = template["template"]["mappings"]["properties"]
    assert props["labels"] == USER_TEMPLATE["template"]["mappings"]["properties"]["labels"]
    assert props["cloud_secrets"]["properties"]["secret"]["properties"]["count"] == {"type": "long"}
    assert template["template"]["settings"] == USER_TEMPLATE["template"]["settings"]
    assert template["_meta"] == USER_TEMPLATE["_meta"]
    assert _snapshot(node) != before

    restored = _cli("detach", "--restore", "--es", node.url)
    assert restored.returncode == 0, restored.stderr
    assert _snapshot(node) == before
    again = _cli("detach", "--restore", "--es", node.url)
    assert again.returncode == 2 and "no applied attach to restore" in again.stderr


def test_restore_refuses_to_overwrite_a_later_edit_unless_forced(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    before = _snapshot(node)
    assert _cli("attach", "--es", node.url).returncode == 0
    edited = wiring.read(node, wiring.PIPELINE, AWS)
    edited["processors"].append({"set": {"field": "labels.later", "value": "x"}})
    node.put(f"/_ingest/pipeline/{AWS}", edited)
    refused = _cli("detach", "--restore", "--es", node.url)
    assert refused.returncode == 2
    assert f"{AWS} changed since backup" in refused.stderr and "--force" in refused.stderr
    assert wiring.read(node, wiring.PIPELINE, AWS) == edited
    forced = _cli("detach", "--restore", "--force", "--es", node.url)
    assert forced.returncode == 0, forced.stderr
    assert _snapshot(node) == before


def test_each_restore_undoes_one_attach_newest_first(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    original = _snapshot(node)
    assert _cli("attach", "--dataset", "aws.cloudtrail", "--es", node.url).returncode == 0
    one = _snapshot(node)
    assert _cli("attach", "--namespace", "prod", "--es", node.url).returncode == 0
    assert _cli("detach", "--restore", "--es", node.url).returncode == 0
    assert _snapshot(node) == one
    assert _cli("detach", "--restore", "--es", node.url).returncode == 0
    assert _snapshot(node) == original


def test_detach_removes_only_our_processor(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{GCP}", USER_PIPELINE)
    assert _cli("attach", "--mappings", "--es", node.url).returncode == 0
    proc = _cli("detach", "--es", node.url)
    assert proc.returncode == 0, proc.stderr
    body = wiring.read(node, wiring.PIPELINE, GCP)
    assert body["processors"] == USER_PIPELINE["processors"]
    for name in NAMES:
        if name != GCP:
            assert wiring.read(node, wiring.PIPELINE, name) is None  # we created them, we removed them
        assert wiring.read(node, wiring.TEMPLATE, name) is None
    assert "nothing to do" in _cli("detach", "--es", node.url).stdout


def test_a_concurrent_edit_is_detected_and_nothing_is_left_half_done(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    before = _snapshot(node)
    plan = wiring.plan_attach(node)
    # Someone else edits the last pipeline after we read it, before we get to write it.
    theirs = {"description": "a colleague's", "processors": [{"set": {"field": "x", "value": 1}}]}
    node.put(f"/_ingest/pipeline/{GCP}", theirs)
    with pytest.raises(UserError) as err:
        wiring.apply(node, plan)
    assert f"{GCP} was changed by someone else" in str(err.value)
    assert "Rolled back" in str(err.value)
    after = _snapshot(node)
    for path, value in before.items():
        if GCP not in path:
            assert after[path] == value, path
    assert wiring.read(node, wiring.PIPELINE, GCP) == theirs


def test_a_put_refused_midway_is_rolled_back(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    before = _snapshot(node)
    refused: list[str] = []

    def fault(method: str, path: str) -> tuple[int, dict] | None:
        if method == "PUT" and path.startswith(f"/_ingest/pipeline/{AZURE_ACTIVITY}") and not refused:
            refused.append(path)
            return 503, {"error": {"type": "unavailable_shards_exception", "reason": "injected by the test"},
                         "status": 503}
        return None

    with proxy(node.url, fault) as url:
        proc = _cli("attach", "--es", url)
    assert refused and proc.returncode == 2
    assert "injected by the test" in proc.stderr and "Rolled back" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(node) == before
    backup = node.post(f"/{wiring.backup_index()}/_search", {"query": {"match_all": {}}})["hits"]["hits"]
    assert [h["_source"]["status"] for h in backup] == ["rolled_back"]


def test_on_elasticsearch_8_attach_sends_if_version(node: EsClient) -> None:
    """The 8.x code path, through a proxy that presents the node as 8.15.0 and takes off, before forwarding,
    the `if_version` 7.10 would refuse (recording it)."""
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    seen: list[tuple[str, str, bool]] = []

    def rewrite(method: str, path: str, data: bytes | None) -> tuple[str, bytes | None]:
        if method == "PUT" and "@custom" in path:
            url = urllib.parse.urlsplit(path)
            query = urllib.parse.parse_qs(url.query)
            missing = b'"ignore_missing_pipeline"' in (data or b"")
            seen.append((url.path.rsplit("/", 1)[1], query.get("if_version", [""])[0], missing))
            path = url.path
        return path, data

    def as_8(path: str, payload: bytes) -> bytes:
        return payload.replace(b'"number" : "7.10.2"', b'"number" : "8.15.0"') if path == "/" else payload

    with proxy(node.url, rewrite=rewrite, answer_hook=as_8) as url:
        proc = _cli("attach", "--dataset", "aws.cloudtrail", "--dataset", "gcp.audit", "--es", url)
    assert proc.returncode == 0, proc.stderr
    assert seen == [(AWS, "7", False), (GCP, "", False)]


def _as_8(path: str, payload: bytes) -> bytes:
    """The node's `GET /` answer, presenting it as 8.15.0 (the if_version code path)."""
    return payload.replace(b'"number" : "7.10.2"', b'"number" : "8.15.0"') if path == "/" else payload


def _strip_if_version(log: list[tuple[str, str, int | None]]) -> Rewrite:
    """Takes `if_version` off @custom PUTs before the 7.10 node sees them, logging (name, if_version, version)."""
    def rewrite(method: str, path: str, data: bytes | None) -> tuple[str, bytes | None]:
        if method == "PUT" and "@custom" in path:
            url = urllib.parse.urlsplit(path)
            version = json.loads(data or b"{}").get("version")
            log.append((url.path.rsplit("/", 1)[1], urllib.parse.parse_qs(url.query).get("if_version", [""])[0],
                        version))
            path = url.path
        return path, data
    return rewrite


def test_a_refused_if_version_is_reported_as_a_concurrent_edit(node: EsClient) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    node.put(f"/_ingest/pipeline/{GCP}", {**USER_PIPELINE, "version": 3})
    before = _snapshot(node)

    def refuse(method: str, path: str) -> tuple[int, dict] | None:
        # Elasticsearch 8's answer when the stored version is no longer the one named by if_version
        if method == "PUT" and path.startswith(f"/_ingest/pipeline/{GCP}?") and "if_version=3" in path:
            reason = f"version conflict, required version [3] for pipeline [{GCP}] but current version is [4]"
            return 400, {"error": {"type": "illegal_argument_exception", "reason": reason}, "status": 400}
        return None

    log: list[tuple[str, str, int | None]] = []
    with proxy(node.url, refuse, rewrite=_strip_if_version(log), answer_hook=_as_8) as url:
        proc = _cli("attach", "--es", url)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"pipeline {GCP} was changed by someone else meanwhile" in proc.stderr, proc.stderr
    assert "Rolled back" in proc.stderr and AWS in proc.stderr.split("Rolled back")[1]
    assert _snapshot(node) == before


def test_an_unversioned_user_pipeline_is_versioned_before_attach_changes_it(node: EsClient) -> None:
    mine = {k: v for k, v in USER_PIPELINE.items() if k != "version"}
    node.put(f"/_ingest/pipeline/{AWS}", mine)
    original = _snapshot(node)
    log: list[tuple[str, str, int | None]] = []
    with proxy(node.url, rewrite=_strip_if_version(log), answer_hook=_as_8) as url:
        proc = _cli("attach", "--dataset", "aws.cloudtrail", "--es", url)
        assert proc.returncode == 0, proc.stderr
        # stamped unchanged with version 1 first, then changed under if_version=1
        assert log == [(AWS, "", wiring.STAMP), (AWS, str(wiring.STAMP), wiring.STAMP + 1)]
        body = wiring.read(node, wiring.PIPELINE, AWS)
        assert body["version"] == wiring.STAMP + 1 and body["processors"][:2] == mine["processors"]
        restored = _cli("detach", "--restore", "--es", url)
        assert restored.returncode == 0, restored.stderr
    assert _snapshot(node) == original  # the user's body, without the version we gave it


def test_a_write_that_timed_out_but_was_applied_is_rolled_back(node: EsClient) -> None:
    """The node applies the PUT of the third pipeline, but its answer comes after the client's timeout."""
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    before = _snapshot(node)

    def slow(method: str, path: str) -> float:
        return 8.0 if method == "PUT" and path.startswith(f"/_ingest/pipeline/{AZURE_ACTIVITY}") else 0.0

    with proxy(node.url, delay=slow) as url:
        proc = _cli("attach", "--timeout", "4", "--es", url)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"did not answer PUT /_ingest/pipeline/{AZURE_ACTIVITY}" in proc.stderr, proc.stderr
    assert AZURE_ACTIVITY in proc.stderr.split("Rolled back")[1] and "every resource is as it was" in proc.stderr
    assert _snapshot(node) == before


def _install_version(node: EsClient, tmp_path: Path, version: str) -> dict[str, dict]:
    """The package's pipelines as another package version would install them (nested ones first)."""
    package = tmp_path / "package"
    shutil.copytree(paths.PACKAGE, package, ignore=shutil.ignore_patterns("_dev"))
    manifest = yaml.safe_load((package / "manifest.yml").read_text())
    manifest["version"] = version
    (package / "manifest.yml").write_text(yaml.safe_dump(manifest))
    pipelines = data_stream_pipelines(package)
    for name in sorted(pipelines, key=lambda n: n == default_pipeline().replace(VERSION, version)):
        node.put(f"/_ingest/pipeline/{name}", pipelines[name])
    return pipelines


def _index_through(node: EsClient, index: str, pipeline: str, docs: list[dict]) -> list[dict]:
    for i, doc in enumerate(docs):
        node.put(f"/{index}/_doc/{i}", doc, params={"pipeline": pipeline, "refresh": "true"})
    return [node.get(f"/{index}/_doc/{i}")["_source"] for i in range(len(docs))]


def test_a_removed_tagging_pipeline_is_marked_on_every_secret_store_event_and_fails_status(
        node: EsClient, tmp_path: Path) -> None:
    """A Fleet upgrade deletes the previous version's pipelines (elastic/kibana#141347): the @custom call then
    fails. Secret-store events must still be indexed, visibly untagged; other events pass untouched."""
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    old = _install_version(node, tmp_path, "0.1.98")
    old_default = default_pipeline().replace(VERSION, "0.1.98")
    index = "logs-aws.cloudtrail-cswiringgone"
    other = {"@timestamp": "2026-03-02T00:00:00.000Z",
             "event": {"action": "DescribeInstances", "dataset": "aws.cloudtrail", "provider": "ec2.amazonaws.com"}}
    try:
        assert _cli("attach", "--version", "0.1.98", "--es", node.url).returncode == 0
        assert _cli("status", "--es", node.url).returncode == 0
        for name in old:
            node.delete(f"/_ingest/pipeline/{name}")
        secret, plain = _index_through(node, index, AWS, [_secret_read_event(), other])
        assert secret["cloud_secrets"] == {"tagging_error": old_default}
        assert old_default in str(secret["error"]["message"]) and "secret_access" not in secret.get("tags", [])
        assert secret["labels"]["env"] == "prod"  # the user's processors still ran
        assert "cloud_secrets" not in plain and "error" not in plain

        proc = _cli("status", "--es", node.url)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"{AWS} calls {old_default}, which is not installed" in proc.stderr
        assert sum(f"calls {old_default}" in line for line in proc.stderr.splitlines()) == len(NAMES)
        assert "cloud-secrets attach" in proc.stderr and "Traceback" not in proc.stderr
        assert _cli("status", "--json", "--es", node.url).returncode == 1

        assert _cli("attach", "--es", node.url).returncode == 0  # re-pointed to the installed version
        assert _cli("status", "--es", node.url).returncode == 0
        secret, _ = _index_through(node, index, AWS, [_secret_read_event(), other])
        assert secret["cloud_secrets"]["operation"] == "read" and "tagging_error" not in secret["cloud_secrets"]
    finally:
        for name in old:
            if node.get_or_none(f"/_ingest/pipeline/{name}") is not None:
                node.delete(f"/_ingest/pipeline/{name}")
        if node.get_or_none(f"/{index}") is not None:
            node.delete(f"/{index}")


def test_attach_re_points_after_a_package_upgrade(node: EsClient, tmp_path: Path) -> None:
    node.put(f"/_ingest/pipeline/{AWS}", USER_PIPELINE)
    assert _cli("attach", "--es", node.url).returncode == 0
    upgraded = _install_version(node, tmp_path, NEWER)
    try:
        assert wiring.installed_versions(node)[-1] == NEWER
        proc = _cli("attach", "--es", node.url)
        assert proc.returncode == 0, proc.stderr
        body = wiring.read(node, wiring.PIPELINE, AWS)
        assert body["processors"][:2] == USER_PIPELINE["processors"] and len(body["processors"]) == 3
        assert body["processors"][2]["pipeline"]["name"].endswith(f"-{NEWER}")
        rows = {r["dataset"]: r for r in wiring.status(node)}
        assert {r["version"] for r in rows.values()} == {NEWER}
        # and back to a pinned version
        assert _cli("attach", "--version", VERSION, "--es", node.url).returncode == 0
        assert wiring.status(node)[0]["version"] == VERSION
    finally:
        for name in upgraded:
            node.delete(f"/_ingest/pipeline/{name}")


def test_namespaces_are_selectable(node: EsClient) -> None:
    assert _cli("attach", "--namespace", "prod", "--dataset", "aws.cloudtrail", "--es", node.url).returncode == 0
    event = _secret_read_event()
    event["data_stream"] = {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "prod"}
    assert "cloud_secrets" in _simulate(node, AWS, event)
    event["data_stream"]["namespace"] = "dev"
    assert "cloud_secrets" not in _simulate(node, AWS, event)
    assert wiring.status(node, ["aws.cloudtrail"])[0]["namespaces"] == ["prod"]
    bad = _cli("attach", "--namespace", "Prod-1", "--es", node.url)
    assert bad.returncode == 2 and "--namespace 'Prod-1'" in bad.stderr


def test_status_counts_tagged_documents_of_the_last_hour(node: EsClient) -> None:
    index = "logs-aws.cloudtrail-cswiringtest"
    assert _cli("attach", "--es", node.url).returncode == 0
    event = _secret_read_event()
    try:
        for when in ("recent", "old"):
            doc = dict(event)
            doc["@timestamp"] = _iso(minutes=5 if when == "recent" else 300)
            node.post(f"/{index}/_doc", doc, params={"pipeline": AWS, "refresh": "true"})
        proc = _cli("status", "--json", "--es", node.url)
        assert proc.returncode == 0, proc.stderr
        rows = {r["dataset"]: r for r in map(json.loads, proc.stdout.splitlines())}
        assert rows["aws.cloudtrail"]["wired"] and rows["aws.cloudtrail"]["version"] == VERSION
        assert rows["aws.cloudtrail"]["tagged_last_hour"] == 1
        assert rows["gcp.audit"]["tagged_last_hour"] == 0
        table = _cli("status", "--es", node.url)
        assert "aws.cloudtrail" in table.stdout and VERSION in table.stdout
    finally:
        node.delete(f"/{index}")


def _iso(minutes: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_conflicting_user_mapping_stops_before_any_change(node: EsClient) -> None:
    conflicting = {"template": {"mappings": {"properties": {"cloud_secrets": {"properties": {
        "operation": {"type": "text"}}}}}}}
    node.put(f"/_component_template/{GCP}", conflicting)
    before = _snapshot(node)
    proc = _cli("attach", "--mappings", "--es", node.url)
    assert proc.returncode == 2 and "cloud_secrets.operation as text" in proc.stderr
    assert _snapshot(node) == before


def test_a_missing_package_pipeline_is_named(node: EsClient) -> None:
    proc = _cli("attach", "--version", "9.9.9", "--es", node.url)
    assert proc.returncode == 2
    assert "logs-cloud_secrets.secret_access-9.9.9 is not installed" in proc.stderr
    assert "cloud-secrets pipelines install" in proc.stderr and "Traceback" not in proc.stderr


def test_a_wrong_url_is_named() -> None:
    proc = _cli("status", "--es", "http://127.0.0.1:9")
    assert proc.returncode == 2 and "cannot connect to Elasticsearch at http://127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_credentials_are_named(es: EsClient) -> None:
    # Elasticsearch with security answers 401 to a request without valid credentials, before anything else.
    def unauthorized(method: str, path: str) -> tuple[int, dict]:
        return 401, {"error": {"type": "security_exception", "reason": "unable to authenticate user [elastic]"},
                     "status": 401}

    with proxy(es.url, unauthorized) as url:
        proc = _cli("attach", "--es", url, "--username", "elastic", "--password", "wrong")
    assert proc.returncode == 2 and "authentication failed (401)" in proc.stderr
    assert "unable to authenticate user" in proc.stderr and "Traceback" not in proc.stderr


def test_a_server_that_is_not_elasticsearch_is_named(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>hello</html>")
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                               "--directory", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (...)"
        port = line.split(" port ")[1].split()[0]
        proc = _cli("status", "--es", f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert proc.returncode == 2 and "is not Elasticsearch" in proc.stderr and "Traceback" not in proc.stderr
