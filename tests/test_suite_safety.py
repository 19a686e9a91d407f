"""The test suite never harms the cluster it runs against (see conftest.py for the rules it follows).

Each test runs pytest in a subprocess, as a user would run `make test` with their shell's variables set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from cloud_secrets.elastic import wiring
from cloud_secrets.elastic.client import EsClient

pytestmark = pytest.mark.engine

TESTS = Path(__file__).parent
USER_PIPELINE = {"description": "a user's production pipeline", "version": 12,
                 "processors": [{"set": {"field": "labels.team", "value": "payments", "tag": "user_own"}}]}
USER_BACKUP = {"@timestamp": "2026-02-01T00:00:00.000Z", "operation": "attach", "status": "applied",
               "items": [{"kind": "pipeline", "name": "logs-gcp.audit@custom", "previous": None, "applied": "{}"}]}
# The wiring tests that write, delete and restore the most (attach, detach, restore, rollback).
WIRING_SELECTION = "restore_puts_back or detach_removes_only or refused_midway"


def _pytest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, timeout=600, env=env, cwd=TESTS.parent)


def _user_env(**extra: str) -> dict[str, str]:
    """The environment of a user whose shell points the everyday commands at their cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_SECRETS_")}
    env.update({"CLOUD_SECRETS_ES": "http://127.0.0.1:9", "CLOUD_SECRETS_API_KEY": "dXNlcjpzZWNyZXQ="})
    env.update(extra)
    return env


def _state(url: str) -> dict[str, tuple[int, str]]:
    paths = [f"/_ingest/pipeline/logs-{d}@custom" for d in wiring.DATASETS]
    paths += [f"/_component_template/logs-{d}@custom" for d in wiring.DATASETS]
    paths += [f"/{wiring.BACKUP_INDEX}/_doc/users-backup"]
    out = {}
    for path in paths:
        resp = requests.get(url + path, timeout=30)
        out[path] = (resp.status_code, resp.text)
    return out


def test_a_users_custom_pipeline_and_backups_survive_the_wiring_tests(es: EsClient) -> None:
    """The wiring tests run against a node holding a user's @custom pipelines and an attach backup, with the
    user's `CLOUD_SECRETS_ES` pointing elsewhere: they pass on the opted-in node and leave every byte."""
    created = []
    for dataset in ("gcp.audit", "azure.activitylogs"):  # conftest plants aws.cloudtrail's
        path = f"/_ingest/pipeline/logs-{dataset}@custom"
        if es.get_or_none(path) is None:
            created.append(path)
        es.put(path, USER_PIPELINE)
    es.put(f"/{wiring.BACKUP_INDEX}/_doc/users-backup", USER_BACKUP, params={"refresh": "true"})
    before = _state(es.url)
    try:
        proc = _pytest(str(TESTS / "test_wiring.py"), "-k", WIRING_SELECTION, env=_user_env(
            CLOUD_SECRETS_TEST_ES=es.url, CLOUD_SECRETS_TEST_ES_CONFIRM="yes-delete-test-resources"))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert "3 passed" in proc.stdout
        assert _state(es.url) == before
    finally:
        if es.get_or_none(f"/{wiring.BACKUP_INDEX}/_doc/users-backup") is not None:
            es.delete(f"/{wiring.BACKUP_INDEX}/_doc/users-backup", params={"refresh": "true"})
        for path in created:
            if es.get_or_none(path) is not None:
                es.delete(path)


def test_an_unconfirmed_test_cluster_stops_the_run_before_any_test() -> None:
    proc = _pytest(str(TESTS / "test_wiring.py"), "-k", WIRING_SELECTION,
                   env=_user_env(CLOUD_SECRETS_TEST_ES="http://127.0.0.1:9"))
    assert proc.returncode != 0
    assert "CLOUD_SECRETS_TEST_ES_CONFIRM=yes-delete-test-resources" in proc.stdout + proc.stderr
    assert "passed" not in proc.stdout
