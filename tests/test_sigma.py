"""The Sigma rule set: pySigma loads it, every backend converts it (or says why not), and the converted EQL
selects the same events as the Elastic rule pack on tagged documents from the pipeline fixtures."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import eql
import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule

from cloud_secrets import paths
from cloud_secrets.assets.catalog import catalog
from cloud_secrets.assets.rules import sigma_convert, templating
from cloud_secrets.assets.rules.loader import load_rules
from cloud_secrets.assets.rules.syntax import parse_esql

SIGMA_DIR = paths.ROOT / "sigma"
EQL_CONFIG = eql.ParserConfig(eql.parser.elasticsearch_syntax, eql.parser.allow_runs)
LOGSOURCES = {"aws": {"product": "aws", "service": "cloudtrail"},
              "azure": {"product": "azure", "service": "keyvault"},
              "gcp": {"product": "gcp", "service": "gcp.audit"},
              "hashicorp_vault": {"product": "hashicorp", "service": "vault"}}
# Sigma rule name key -> (catalog provider, cloud_secrets.store)
STORES = {"aws": ("aws", "secrets_manager"), "aws_ssm": ("aws", "ssm_parameter_store"),
          "azure": ("azure", "key_vault"), "gcp": ("gcp", "secret_manager"), "vault": ("hashicorp_vault", "vault")}
RULES = {r.slug: r for r in load_rules()}


@pytest.fixture(scope="module")
def converted() -> dict[str, list[sigma_convert.Converted]]:
    collection = sigma_convert.load_collection()
    return {t: sigma_convert.convert(t, collection) for t in sigma_convert.TARGETS}


def _flattened_as_indexed(value: Any) -> Any:
    """Elasticsearch indexes every leaf of a `flattened` field as a keyword: `true` is searched as "true"."""
    if isinstance(value, dict):
        return {k: _flattened_as_indexed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_flattened_as_indexed(v) for v in value]
    return json.dumps(value) if isinstance(value, bool) else value


def fixture_docs() -> list[dict[str, Any]]:
    """Tagged documents: the expected outputs of the tagging pipeline's fixtures."""
    docs = []
    for path in sorted(paths.PIPELINE_TESTS.glob("*-expected.json")):
        docs.extend(json.loads(path.read_text(encoding="utf-8"))["expected"])
    for doc in docs:
        flat = doc.get("aws", {}).get("cloudtrail", {}).get("flattened")
        if flat:
            doc["aws"]["cloudtrail"]["flattened"] = _flattened_as_indexed(flat)
    return docs


def epoch(doc: dict[str, Any]) -> float:
    return datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00")).timestamp()


def run_eql(query: str, docs: list[dict[str, Any]]) -> set[tuple[int, ...]]:
    """Matches of a query by the eql library's PythonEngine, as tuples of document positions."""
    with EQL_CONFIG:
        parsed = eql.parse_query(query)
    engine = eql.PythonEngine({"time_unit": 1})
    found: list[Any] = []
    engine.add_output_hook(found.append)
    engine.add_query(parsed)
    events = [eql.Event("any", epoch(d), {**d, "_pos": i}) for i, d in enumerate(docs)]
    engine.stream_events(sorted(events, key=lambda e: e.time))
    return {tuple(e.data["_pos"] for e in r.events) for r in found}


def query_of(results: list[sigma_convert.Converted], name: str) -> str:
    matches = [r.query for r in results if r.name == name and r.query]
    assert len(matches) == 1, f"{name}: {[r.error for r in results if r.name == name]}"
    return matches[0]


def test_every_sigma_file_loads_with_pysigma() -> None:
    files = sorted(SIGMA_DIR.rglob("*.yml"))
    assert len(files) == 3 * len(STORES) + 3 + len(STORES)
    for path in sorted((SIGMA_DIR / "rules").rglob("*.yml")):
        collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"), collect_errors=True)
        assert not collection.errors, f"{path}: {collection.errors}"
    full = sigma_convert.load_collection()  # correlations resolve their rule references here
    assert not full.errors
    correlations = [r for r in full if isinstance(r, SigmaCorrelationRule)]
    assert len(correlations) == 3 + len(STORES)
    assert {c.type.name.lower() for c in correlations} == {"event_count", "value_count", "temporal_ordered"}


def test_base_rules_follow_the_logsource_conventions() -> None:
    for provider, logsource in LOGSOURCES.items():
        files = sorted((SIGMA_DIR / "rules" / provider).glob("*.yml"))
        assert len(files) == 3 * sum(1 for p, _ in STORES.values() if p == provider)
        for path in files:
            rule = yaml.safe_load(path.read_text())
            assert rule["logsource"] == logsource
            assert "attack.t1555.006" in rule["tags"]


def test_every_target_converts_or_says_why(converted: dict[str, list[sigma_convert.Converted]]) -> None:
    expected_gaps = {
        "eql": {"value_count"},  # EQL cannot count distinct values
        "esql": {"temporal_ordered"},
        "splunk": {"temporal_ordered"},
        "kusto": {"event_count", "value_count", "temporal_ordered"},  # no correlations in the kusto backend
    }
    for target, results in converted.items():
        gaps = {r.kind for r in results if r.query is None and r.kind != "rule"}
        assert gaps == expected_gaps[target], (target, [(r.name, r.error) for r in results if r.query is None])
        base_failures = {r.name for r in results if r.query is None and r.kind == "rule"}
        if target == "kusto":  # GCPAuditLogs keeps the status code inside a dynamic column
            # ... Parameter Store's withDecryption inside RequestParameters, and Vault has no Sentinel table
            assert base_failures == {"cloud_secrets_gcp_secret_read", "cloud_secrets_gcp_secret_read_failed",
                                     "cloud_secrets_aws_ssm_secret_read", "cloud_secrets_aws_ssm_secret_read_failed",
                                     "cloud_secrets_vault_secret_read", "cloud_secrets_vault_secret_read_failed",
                                     "cloud_secrets_vault_secret_enumeration"}
        else:
            assert not base_failures


def test_converted_eql_parses(converted: dict[str, list[sigma_convert.Converted]]) -> None:
    queries = [r.query for r in converted["eql"] if r.query]
    assert len(queries) == 3 * len(STORES) + 1 + len(STORES)
    for query in queries:
        with EQL_CONFIG:
            eql.parse_query(query)


def test_converted_esql_parses_and_reads_the_integrations(converted: dict[str, list[sigma_convert.Converted]]) -> None:
    queries = [r.query for r in converted["esql"] if r.query]
    assert len(queries) == 3 * len(STORES) + 3
    for query in queries:
        parse_esql(query)
        assert query.startswith("from logs-aws.cloudtrail-*")


def test_kusto_uses_sentinel_tables(converted: dict[str, list[sigma_convert.Converted]]) -> None:
    tables = {r.query.split("\n", 1)[0] for r in converted["kusto"] if r.query}
    assert tables == {"AWSCloudTrail", "AzureDiagnostics", "GCPAuditLogs"}
    aws_read = query_of(converted["kusto"], "cloud_secrets_aws_secret_read")
    assert "isempty(ErrorCode)" in aws_read  # Kusto strings are empty, never null


def _ours(classes: str, key: str, outcome: str | None) -> str:
    provider, store = STORES[key]
    text = (f"any where event.dataset in {{{{datasets {classes}}}}} and event.action in {{{{actions {classes}}}}}"
            f" and cloud_secrets.operation in {{{{operations {classes}}}}}"
            f' and cloud_secrets.provider == "{provider}" and cloud_secrets.store == "{store}"')
    if outcome:
        text += f' and cloud_secrets.outcome == "{outcome}"'
    return templating.render(text, catalog(), "eql")


@pytest.mark.parametrize("provider", sorted(STORES))
@pytest.mark.parametrize(("kind", "classes", "outcome"), [
    ("secret_read", "read batch_read", "success"),
    ("secret_read_failed", "read batch_read", "failure"),
    ("secret_enumeration", "list", None),
])
def test_sigma_base_rules_select_what_the_rule_pack_selects(
        converted: dict[str, list[sigma_convert.Converted]], provider: str, kind: str, classes: str,
        outcome: str | None) -> None:
    docs = fixture_docs()
    sigma = run_eql(query_of(converted["eql"], f"cloud_secrets_{provider}_{kind}"), docs)
    ours = run_eql(_ours(classes, provider, outcome), docs)
    assert ours, "the fixtures should exercise the rule"
    assert sigma == ours


def _burst(doc: dict[str, Any], start: float, count: int, step: float = 60.0) -> list[dict[str, Any]]:
    """`count` copies of a tagged document, `step` seconds apart, each naming a different secret."""
    out = []
    for i in range(count):
        d = copy.deepcopy(doc)
        d["@timestamp"] = datetime.fromtimestamp(start + i * step).astimezone().isoformat()
        d.setdefault("cloud_secrets", {}).setdefault("secret", {})["id"] = [f"burst-secret-{i}"]
        out.append(d)
    return out


ALICE = "111122223333:user/alice"  # the AWS fixtures' IAM user, as the pipeline names it


def _pick(docs: list[dict[str, Any]], action: str, identity: str, outcome: str = "success") -> dict[str, Any]:
    return next(d for d in docs if d["event"]["action"] == action and d.get("cloud_secrets", {}).get("identity")
                == identity and d["event"]["outcome"] == outcome)


def bulk_sample() -> list[dict[str, Any]]:
    docs = fixture_docs()
    t0 = 1_800_000_000.0
    gcp = "google.cloud.secretmanager.v1.SecretManagerService."
    sample = list(docs)
    sample += _burst(_pick(docs, "GetSecretValue", ALICE), t0, 10)  # fires
    sample += _burst(_pick(docs, "GetSecretValue", ALICE, "failure"), t0 + 20_000, 6)  # mixed outcomes
    sample += _burst(_pick(docs, "GetSecretValue", ALICE), t0 + 20_030, 5)  # -> 11 in the hour: fires
    sample += _burst(_pick(docs, "SecretGet", "carol@example.com"), t0 + 40_000, 9)  # 9: no alert
    sample += _burst(_pick(docs, "SecretList", "carol@example.com"), t0 + 60_000, 4, step=5)
    sample += _burst(_pick(docs, "SecretGet", "carol@example.com"), t0 + 60_030, 6, step=5)  # 10: fires
    sample += _burst(_pick(docs, gcp + "AccessSecretVersion", "dave@example.com"), t0 + 80_000, 12, step=400)
    deploy = "111122223333:role/deploy-from-github"
    sample += _burst(_pick(docs, "DescribeSecret", deploy), t0 + 90_000, 15)  # describe: never
    return sample


def test_sigma_bulk_correlation_matches_the_seed_rule(converted: dict[str, list[sigma_convert.Converted]]) -> None:
    sample = bulk_sample()
    sigma = run_eql(query_of(converted["eql"], "cloud_secrets_bulk_access_sequence"), sample)
    ours = run_eql(RULES["bulk_access_sequence"].query, sample)
    assert ours, "the sample must contain bulk access"
    assert sigma == ours


def test_sigma_enumeration_correlations_match_enumerate_then_retrieve(
        converted: dict[str, list[sigma_convert.Converted]]) -> None:
    sample = bulk_sample()
    sigma: set[tuple[int, ...]] = set()
    for key in STORES:
        sigma |= run_eql(query_of(converted["eql"], f"cloud_secrets_enumerate_then_retrieve_{key}"), sample)
    ours = run_eql(RULES["enumerate_then_retrieve"].query, sample)
    assert ours, "the sample must contain a listing followed by a read"
    assert sigma == ours


def test_seed_rule_fires_on_all_three_clouds() -> None:
    docs = fixture_docs()
    t0 = 1_800_000_000.0
    gcp = "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion"
    for n, (action, identity) in enumerate([("GetSecretValue", ALICE), ("SecretGet", "carol@example.com"),
                                            (gcp, "dave@example.com")]):
        burst = _burst(_pick(docs, action, identity), t0 + n * 10_000, 10)
        assert run_eql(RULES["bulk_access_sequence"].query, burst), action
        assert not run_eql(RULES["bulk_access_sequence"].query, burst[:9]), action


def test_sigma_cli_prints_queries_and_reasons() -> None:
    from click.testing import CliRunner

    from cloud_secrets.cli.rules import sigma

    result = CliRunner().invoke(sigma, ["convert", "--target", "eql"])
    assert result.exit_code == 0, result.output
    assert "sequence by cloud_secrets.identity, source.ip with maxspan=1h" in result.output
    strict = CliRunner().invoke(sigma, ["convert", "--target", "eql", "--strict"])
    assert strict.exit_code != 0


def test_sigma_files_name_no_machine_paths() -> None:
    for path in SIGMA_DIR.rglob("*.yml"):
        assert str(paths.ROOT) not in path.read_text()
    assert Path(__file__).name == "test_sigma.py"
