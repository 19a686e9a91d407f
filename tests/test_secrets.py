"""Credentials never show: API keys, passwords and CA paths stay out of output, errors and backups; TLS
certificates are verified unless `--insecure` is given.

The failing cluster is a tiny HTTP(S) server on 127.0.0.1 that answers like Elasticsearch with security on:
`GET /` identifies as Elasticsearch (header `X-Elastic-Product`), everything else is 401 with a
`security_exception`, the answer Elasticsearch gives to bad credentials.
"""

from __future__ import annotations

import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cloud_secrets.elastic import wiring
from cloud_secrets.elastic.client import EsClient

API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw-apikey-canary"
PASSWORD = "pw-canary-Zq81x"
SECRET_DIR = "ca-dir-canary-7731"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from cloud_secrets.cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def _clean(proc: subprocess.CompletedProcess[str]) -> None:
    out = proc.stdout + proc.stderr
    for secret in (API_KEY, PASSWORD, SECRET_DIR, API_KEY[:20]):
        assert secret not in out, f"{secret[:12]}... printed: {out}"
    assert "Traceback" not in out


@contextmanager
def _fake_secured_es(tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[str]]]:
    """(URL, the Authorization headers received)."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            if self.path == "/":
                status, body = 200, {"version": {"number": "8.15.0"}, "tagline": "You Know, for Search"}
            else:
                status, body = 401, {"error": {"type": "security_exception", "reason":
                                               "unable to authenticate with provided credentials"}, "status": 401}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_failing_auth_never_prints_the_api_key_or_password() -> None:
    with _fake_secured_es() as (url, seen):
        by_key = _cli("status", "--es", url, "--api-key", API_KEY)
        by_env = _cli("attach", "--es", url, env={"CLOUD_SECRETS_API_KEY": API_KEY})
        by_password = _cli("status", "--es", url, "--username", "elastic", "--password", PASSWORD)
        host = url.removeprefix("http://")
        in_url = _cli("status", "--es", f"http://elastic:{PASSWORD}@{host}")
    for proc in (by_key, by_env, by_password, in_url):
        assert proc.returncode == 2 and "authentication failed (401)" in proc.stderr, proc.stderr
        _clean(proc)
    assert f"on {url}:" in in_url.stderr  # the URL is named, without its user:password@
    # the credentials did reach the server: the test is not passing because nothing was sent
    assert f"ApiKey {API_KEY}" in seen and sum(h.startswith("Basic ") for h in seen) >= 2


def test_an_unreachable_url_never_prints_its_credentials() -> None:
    proc = _cli("status", "--es", f"http://elastic:{PASSWORD}@127.0.0.1:9", "--api-key", API_KEY)
    assert proc.returncode == 2 and "cannot connect to Elasticsearch at http://127.0.0.1:9 " in proc.stderr
    _clean(proc)


def test_a_missing_ca_file_is_named_without_its_path(tmp_path: Path) -> None:
    absent = tmp_path / SECRET_DIR / "ca.pem"
    for proc in (_cli("status", "--es", "https://127.0.0.1:9", "--ca-cert", str(absent)),
                 _cli("status", "--es", "https://127.0.0.1:9", env={"CLOUD_SECRETS_CA_CERT": str(absent)})):
        assert proc.returncode == 2 and "CA certificate file" in proc.stderr, proc.stderr
        _clean(proc)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    folder = tmp_path_factory.mktemp(SECRET_DIR)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    context.cert_path = str(folder / "cert.pem")  # type: ignore[attr-defined]
    return context


def test_tls_is_verified_unless_insecure(self_signed: ssl.SSLContext) -> None:
    cert = self_signed.cert_path  # type: ignore[attr-defined]
    with _fake_secured_es(self_signed) as (url, seen):
        verified = _cli("status", "--es", url, "--api-key", API_KEY)
        with_ca = _cli("status", "--es", url, "--api-key", API_KEY, "--ca-cert", cert)
        insecure = _cli("status", "--es", url, "--api-key", API_KEY, "--insecure")
    assert verified.returncode == 2 and "certificate could not be verified" in verified.stderr
    assert "--insecure" in verified.stderr
    # past TLS, both reach the (refusing) server: the CA file verifies it, --insecure skips the check
    for proc in (with_ca, insecure):
        assert proc.returncode == 2 and "authentication failed (401)" in proc.stderr, proc.stderr
    assert "not verified" in insecure.stderr and "not verified" not in with_ca.stderr
    for proc in (verified, with_ca, insecure):
        _clean(proc)
    assert seen  # and the server did see the TLS connections that got through


@pytest.mark.engine
def test_backups_and_output_of_attach_hold_no_credentials(es: EsClient) -> None:
    """On the embedded node (no security: it ignores the credentials), attach with an API key and a password
    in the environment: neither reaches the output or the backups index."""
    env = {"CLOUD_SECRETS_API_KEY": API_KEY, "CLOUD_SECRETS_PASSWORD": PASSWORD}
    try:
        attached = _cli("attach", "--dataset", "aws.cloudtrail", "--es", es.url, env=env)
        assert attached.returncode == 0, attached.stderr
        _clean(attached)
        backups = json.dumps(es.post(f"/{wiring.backup_index()}/_search", {"size": 100}))
        assert "ApiKey" not in backups and API_KEY not in backups and PASSWORD not in backups
    finally:
        _clean(_cli("detach", "--dataset", "aws.cloudtrail", "--es", es.url, env=env))
