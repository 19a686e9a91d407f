"""The package's pipeline fixtures, run on the real engine with elastic-package's comparison rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cloud_secrets import paths
from cloud_secrets.assets.fields import load_fields
from cloud_secrets.assets.package_assets import data_stream_pipelines, default_pipeline, package_info
from cloud_secrets.elastic.ingest import install_pipelines, simulate
from cloud_secrets.elastic.pipeline_tests import load_cases, run_case

pytestmark = pytest.mark.engine

CASES = load_cases()


@pytest.fixture(scope="module")
def pipeline(es) -> str:
    install_pipelines(es)
    return default_pipeline()


@pytest.mark.parametrize("case", CASES, ids=[c.path.name for c in CASES])
def test_fixture_matches_expected(es, pipeline, case) -> None:
    result = run_case(es, case, load_fields(), pipeline)
    assert not result.problems, "\n".join(result.problems)


def test_an_edited_expected_file_fails(es, pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "pipeline"
    shutil.copytree(paths.PIPELINE_TESTS, folder)
    expected = folder / "test-aws.json-expected.json"
    data = json.loads(expected.read_text())
    data["expected"][0]["cloud_secrets"]["identity"] = "someone-else"
    expected.write_text(json.dumps(data))
    case = next(c for c in load_cases(folder) if c.path.name == "test-aws.json")
    result = run_case(es, case, load_fields(), pipeline)
    assert any("differs from test-aws.json-expected.json" in p and "someone-else" in p for p in result.problems)


def test_an_undeclared_field_fails(es, pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "pipeline"
    shutil.copytree(paths.PIPELINE_TESTS, folder)
    source = folder / "test-gcp.json"
    data = json.loads(source.read_text())
    data["events"][0]["gcp"]["audit"]["not_a_declared_field"] = "x"
    source.write_text(json.dumps(data))
    case = next(c for c in load_cases(folder) if c.path.name == "test-gcp.json")
    result = run_case(es, case, load_fields(), pipeline)
    assert any('field "gcp.audit.not_a_declared_field" is undefined' in p for p in result.problems)


def test_pipelines_installed_under_fleet_names(es, pipeline) -> None:
    names = set(data_stream_pipelines())
    installed = set(es.get("/_ingest/pipeline/logs-cloud_secrets.secret_access-*"))
    assert names <= installed
    assert pipeline == f"logs-cloud_secrets.secret_access-{package_info().version}"
    default = es.get(f"/_ingest/pipeline/{pipeline}")[pipeline]
    assert default["processors"][0]["pipeline"]["name"] == f"{pipeline}-access"


def _events(name: str) -> list[dict]:
    return next(c for c in CASES if c.path.name == name).events


@pytest.mark.parametrize("name", ["test-aws-other.json", "test-azure-other.json", "test-gcp-other.json",
                                  "test-aws-ssm-other.json", "test-vault-other.json"])
def test_writes_and_other_services_pass_through_untouched(es, pipeline, name) -> None:
    events = _events(name)
    assert simulate(es, pipeline, events) == events


def test_every_catalogued_operation_has_a_fixture(es, pipeline) -> None:
    from cloud_secrets.assets.catalog import catalog

    seen = {o["event"]["action"] for c in CASES for o in c.events if "event" in o}
    missing = [op.action for op in catalog().operations if op.action not in seen]
    assert not missing
    writes = {w for p in catalog().providers for w in p.write_actions()}
    assert writes & seen, "at least one write operation is exercised"


def test_user_name_is_filled_only_when_absent(es, pipeline) -> None:
    aws = simulate(es, pipeline, _events("test-aws.json"))
    # AssumedRole: the integration's user.name (the role name) is kept, not replaced by the identity.
    assert all(o["user"]["name"] == e["user"]["name"] for o, e in zip(aws, _events("test-aws.json"), strict=True)
               if "user" in e)
    gcp = simulate(es, pipeline, _events("test-gcp.json"))
    assert all(o["user"]["name"] == o["client"]["user"]["email"] for o in gcp)


def test_vault_counts_each_call_once_on_its_response_entry(es, pipeline) -> None:
    events = _events("test-vault.json")
    out = simulate(es, pipeline, events)
    for doc in out:
        entry = doc["hashicorp_vault"]["audit"]
        assert ("cloud_secrets" in doc) == (entry["type"] == "response"), entry["request"]["path"]
    tagged = [d for d in out if "cloud_secrets" in d]
    assert len(tagged) == len(out) // 2
    # the identity never comes from the HMAC'd token or accessor
    assert not any(d["cloud_secrets"]["identity"].startswith("hmac-sha256:") for d in tagged)


def test_ssm_reads_need_with_decryption(es, pipeline) -> None:
    tagged = simulate(es, pipeline, _events("test-aws-ssm.json"))
    assert all(d["cloud_secrets"]["store"] == "ssm_parameter_store" for d in tagged)
    plain = [json.loads(json.dumps(e)) for e in _events("test-aws-ssm.json")
             if e["event"]["action"] == "GetParameter"][:1]
    flat = plain[0]["aws"]["cloudtrail"]["flattened"]["request_parameters"]
    flat["withDecryption"] = False
    plain[0]["aws"]["cloudtrail"]["request_parameters"] = plain[0]["aws"]["cloudtrail"]["request_parameters"].replace(
        "withDecryption=true", "withDecryption=false")
    assert "cloud_secrets" not in simulate(es, pipeline, plain)[0]
