"""The embedded Elasticsearch node (`cloud_secrets.engine`) and the HTTP client (`cloud_secrets.es`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from cloud_secrets.elastic.client import EsClient, resolve_es_url
from cloud_secrets.elastic.engine import Engine
from cloud_secrets.errors import UserError

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _listen_addresses(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of sockets listening on `port`."""
    found = []
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.append(addr)
    return found


def _loopback(hex_addr: str) -> bool:
    if len(hex_addr) == 8:  # IPv4, little-endian: 127.x.x.x ends in 7F
        return hex_addr.endswith("7F")
    mapped_v4 = hex_addr.startswith("0000000000000000FFFF0000") and hex_addr.endswith("7F")
    return mapped_v4 or hex_addr == "00000000000000000000000001000000"  # ::ffff:127.x or ::1


@pytest.mark.engine
def test_start_status_stop_round_trip(tmp_path: Path) -> None:
    node = Engine(home=tmp_path / "engine")
    try:
        url = node.start(timeout=180)
        assert url.startswith("http://127.0.0.1:")
        st = node.status()
        assert st.running and st.url == url and st.pid
        assert st.health in ("yellow", "green")
        assert st.version == "7.10.2"
        state = json.loads((tmp_path / "engine" / "state.json").read_text())
        assert state["pid"] == st.pid and state["url"] == url

        port = int(url.rsplit(":", 1)[1])
        addrs = _listen_addresses(port)
        assert addrs and all(_loopback(a) for a in addrs), addrs
        http = EsClient(url).get("/_nodes/_local/http")
        [info] = http["nodes"].values()
        assert all(a.startswith(("127.", "[::1]")) for a in info["http"]["bound_address"])

        assert node.start() == url  # idempotent: the same node
        assert node.status().pid == st.pid
    finally:
        pid = node.stop()
    assert pid == st.pid
    assert not Path(f"/proc/{pid}").exists()  # gone, and reaped (no zombie)
    assert not node.status().running
    assert not (tmp_path / "engine" / "state.json").exists()
    assert node.stop() is None


def test_stop_when_not_running_is_harmless(tmp_path: Path) -> None:
    node = Engine(home=tmp_path / "engine")
    assert node.stop() is None
    assert node.url() is None
    assert not node.status().running


def test_stale_and_foreign_pids_are_ignored(tmp_path: Path) -> None:
    home = tmp_path / "engine"
    home.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    for pid in (dead.pid, os.getpid()):  # an exited process; a live one that is not the engine
        (home / "state.json").write_text(json.dumps({"pid": pid, "port": 9250, "url": "http://127.0.0.1:9250"}))
        node = Engine(home=home)
        assert not node.status().running
        assert not (home / "state.json").exists()
        assert node.stop() is None
    assert os.getpid()  # still here: stop never signals a pid that is not the engine


def test_missing_jars_say_what_to_run(tmp_path: Path) -> None:
    node = Engine(home=tmp_path / "engine", lib=tmp_path / "nothing")
    with pytest.raises(UserError, match="make bootstrap"):
        node.start(timeout=5)


@pytest.mark.engine
def test_identifies_as_elasticsearch_for_elastic_package(es: EsClient) -> None:
    info = es.info()
    assert info["tagline"] == "You Know, for Search"
    assert info["version"]["build_flavor"] == "default"  # go-elasticsearch 7.x checks it for 7.0-7.13


@pytest.mark.engine
def test_ingest_processors(es: EsClient) -> None:
    es.put(
        "/_ingest/pipeline/cloud-secrets-test-inner",
        {"processors": [{"set": {"field": "inner", "value": "ran"}}]},
    )
    try:
        pipeline = {
            "processors": [
                {"script": {"lang": "painless", "source": "ctx.doubled = ctx.n * params.k", "params": {"k": 2}}},
                {"user_agent": {"field": "ua"}},
                {"set": {"field": "event.kind", "value": "event"}},
                {"rename": {"field": "old", "target_field": "new"}},
                {"pipeline": {"name": "cloud-secrets-test-inner"}},
            ]
        }
        result = es.post(
            "/_ingest/pipeline/_simulate",
            {"pipeline": pipeline, "docs": [{"_source": {"n": 21, "ua": UA, "old": "x"}}]},
        )
        doc = result["docs"][0]["doc"]["_source"]
        assert doc["doubled"] == 42
        assert doc["user_agent"]["name"] == "Chrome"
        assert doc["user_agent"]["os"]["name"] == "Windows"
        assert doc["event"]["kind"] == "event"
        assert doc["new"] == "x" and "old" not in doc
        assert doc["inner"] == "ran"
    finally:
        es.delete("/_ingest/pipeline/cloud-secrets-test-inner")


@pytest.mark.engine
def test_composite_percentiles_and_cardinality_aggregations(es: EsClient) -> None:
    index = "cloud-secrets-test-aggs"
    es.put(f"/{index}", {"mappings": {"properties": {"k": {"type": "keyword"}, "n": {"type": "long"}}}})
    try:
        for i, (k, n) in enumerate([("a", 5), ("b", 7), ("a", 9)]):
            es.put(f"/{index}/_doc/{i}", {"k": k, "n": n})
        es.post(f"/{index}/_refresh")
        aggs = {
            "by_k": {"composite": {"sources": [{"k": {"terms": {"field": "k"}}}]}},
            "p": {"percentiles": {"field": "n", "percents": [50]}},
            "u": {"cardinality": {"field": "k"}},
        }
        result = es.post(f"/{index}/_search", {"size": 0, "aggs": aggs})["aggregations"]
        assert [(b["key"]["k"], b["doc_count"]) for b in result["by_k"]["buckets"]] == [("a", 2), ("b", 1)]
        assert result["p"]["values"]["50.0"] == 7.0
        assert result["u"]["value"] == 2
    finally:
        es.delete(f"/{index}")


@pytest.mark.engine
def test_painless_compile_errors_come_back_as_es_errors(es: EsClient) -> None:
    with pytest.raises(UserError, match="script_exception"):
        es.post(
            "/_ingest/pipeline/_simulate",
            {"pipeline": {"processors": [{"script": {"source": "ctx.x = ("}}]}, "docs": [{"_source": {}}]},
        )


# -- the HTTP client against things that are not a healthy Elasticsearch ------------------------------


@pytest.fixture
def fake_server() -> Iterator[tuple[str, dict]]:
    """A loopback HTTP server answering every request with `reply['status']` and `reply['body']`."""
    reply: dict = {"status": 200, "body": {"hello": "world"}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(reply["body"]).encode()
            self.send_response(reply["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", reply
    finally:
        server.shutdown()
        server.server_close()


def test_client_refuses_a_server_that_is_not_elasticsearch(fake_server: tuple[str, dict]) -> None:
    url, _ = fake_server
    with pytest.raises(UserError, match="is not Elasticsearch"):
        EsClient(url).get("/_cluster/health")


def test_client_reports_auth_failures(fake_server: tuple[str, dict]) -> None:
    url, reply = fake_server
    reply.update(status=401, body={"error": {"type": "security_exception", "reason": "missing credentials"}})
    with pytest.raises(UserError, match=r"authentication failed \(401\)"):
        EsClient(url, username="elastic", password="wrong").get("/")


def test_client_reports_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(UserError, match="cannot connect"):
        EsClient(f"http://127.0.0.1:{port}", timeout=5).get("/")


def test_resolve_es_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUD_SECRETS_ES", raising=False)
    assert resolve_es_url(None) is None
    monkeypatch.setenv("CLOUD_SECRETS_ES", "http://127.0.0.1:9200/")
    assert resolve_es_url(None) == "http://127.0.0.1:9200"
    assert resolve_es_url("https://es.example:9243") == "https://es.example:9243"
