"""Shared fixtures. `es`: the Elasticsearch the tests may write to, which is the embedded node unless opted in.

The suite must never harm a user's cluster:
- the user's connection variables (`CLOUD_SECRETS_ES`, `..._API_KEY`, `..._USERNAME`, `..._PASSWORD`,
  `..._CA_CERT`) are removed from the environment before any test runs, so neither the tests nor the CLI
  they start (in process or as a subprocess) can reach the cluster a user's shell points at;
- another node is used only when `CLOUD_SECRETS_TEST_ES` names it *and* `CLOUD_SECRETS_TEST_ES_CONFIRM` is
  `yes-delete-test-resources`; the chosen URL is then put in `CLOUD_SECRETS_ES` for the CLI calls;
- every name wiring writes carries the suite's prefix (`CLOUD_SECRETS_RESOURCE_PREFIX`), so the tests attach,
  detach and delete `cs-test-logs-<dataset>@custom` and `cs-test-cloud-secrets-backups`, never the real ones;
- the real `@custom` pipelines, component templates and backups index are read at the start of the session
  and compared at its end: any difference fails the run. On the embedded node, a user's pipeline and a
  backup are planted first (and removed after), so the comparison always has something to protect.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import requests

from cloud_secrets.elastic import engine, wiring
from cloud_secrets.elastic.client import ENV_URL, EsClient
from cloud_secrets.evaluation.backtest.sample import Sample, tagged_sample

TEST_ES = "CLOUD_SECRETS_TEST_ES"
TEST_ES_CONFIRM = "CLOUD_SECRETS_TEST_ES_CONFIRM"
CONFIRMATION = "yes-delete-test-resources"
TEST_PREFIX = "cs-test-"
USER_VARIABLES = (ENV_URL, "CLOUD_SECRETS_API_KEY", "CLOUD_SECRETS_USERNAME", "CLOUD_SECRETS_PASSWORD",
                  "CLOUD_SECRETS_CA_CERT")
REAL_NAMES = [f"logs-{d}@custom" for d in wiring.DATASETS]
SENTINEL_PIPELINE = {"description": "a user's own (planted by the test suite)", "version": 3,
                     "processors": [{"set": {"field": "labels.owner", "value": "user", "tag": "user_sentinel"}}]}
SENTINEL_BACKUP = {"@timestamp": "2026-01-01T00:00:00.000Z", "operation": "attach", "status": "applied",
                   "items": [{"kind": "pipeline", "name": REAL_NAMES[0], "previous": None, "applied": "{}"}]}


def pytest_configure(config: pytest.Config) -> None:
    opted_in_url()  # an unconfirmed test cluster stops the session before any test
    for name in USER_VARIABLES:
        os.environ.pop(name, None)
    os.environ[wiring.PREFIX_ENV] = TEST_PREFIX


def opted_in_url() -> str | None:
    """`$CLOUD_SECRETS_TEST_ES` when confirmed; set without the confirmation it stops the session."""
    url = os.environ.get(TEST_ES)
    if not url:
        return None
    if os.environ.get(TEST_ES_CONFIRM) != CONFIRMATION:
        raise pytest.UsageError(f"{TEST_ES} is set: the tests would write to {url}. Set "
                                f"{TEST_ES_CONFIRM}={CONFIRMATION} to confirm, or unset {TEST_ES}")
    return url.rstrip("/")


def real_resources(url: str) -> dict[str, object]:
    """The real (unprefixed) @custom pipelines and templates and the backups, as the node returns them."""
    out: dict[str, object] = {}
    for name in REAL_NAMES:
        for path in (f"/_ingest/pipeline/{name}", f"/_component_template/{name}"):
            resp = requests.get(url + path, timeout=30)
            out[path] = (resp.status_code, resp.text)
    resp = requests.post(f"{url}/{wiring.BACKUP_INDEX}/_search", json={"size": 1000, "sort": ["_doc"]},
                         params={"ignore_unavailable": "true"}, timeout=30)
    hits = resp.json().get("hits", {}).get("hits", []) if resp.ok else resp.text
    out["backups"] = json.dumps(hits if isinstance(hits, str) else [(h["_id"], h["_source"]) for h in hits])
    return out


def plant_user_resources(es: EsClient) -> list[str]:
    """On the embedded node: a user's @custom pipeline and a backup, where none exist. Returns what to delete."""
    planted = []
    if es.get_or_none(f"/_ingest/pipeline/{REAL_NAMES[0]}") is None:
        es.put(f"/_ingest/pipeline/{REAL_NAMES[0]}", SENTINEL_PIPELINE)
        planted.append(f"/_ingest/pipeline/{REAL_NAMES[0]}")
    if es.get_or_none(f"/{wiring.BACKUP_INDEX}") is None:
        es.post(f"/{wiring.BACKUP_INDEX}/_doc/sentinel", SENTINEL_BACKUP, params={"refresh": "true"})
        planted.append(f"/{wiring.BACKUP_INDEX}")
    return planted


@pytest.fixture(scope="session")
def es(request: pytest.FixtureRequest) -> Iterator[EsClient]:
    """An `EsClient` for the embedded node (stopped after the session if the session started it), or for the
    confirmed `$CLOUD_SECRETS_TEST_ES` (left running). The real wiring resources must survive the session."""
    url = opted_in_url()
    planted: list[str] = []
    if url is None:
        if engine.url() is None:
            request.addfinalizer(engine.stop)
        url = engine.start(timeout=180)
    client = EsClient(url)
    os.environ[ENV_URL] = url  # every CLI call of the tests, in process or not, talks to this node
    if os.environ.get(TEST_ES) is None:
        planted = plant_user_resources(client)
    before = real_resources(url)
    yield client
    after = real_resources(url)
    for path in planted:
        if client.get_or_none(path) is not None:
            client.delete(path)
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"the test session changed a user's resources on {url}: {changed}"


@pytest.fixture(scope="session")
def two_day_sample(es: EsClient, tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """Every attack once in two simulated days of 40 identities (seed 3), tagged by the package's pipeline on
    the engine: simulated and tagged once per session for the modules that read it (backtest, dashboards)."""
    return tagged_sample(es, tmp_path_factory.mktemp("two_days"), "all", days=2, identities=40, seed=3)
