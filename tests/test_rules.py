"""The rule pack: definitions, queries, fields, Kibana assets, docs and the ndjson export (no Elasticsearch)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import eql
import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from luqum.parser import parser as lucene_parser

from cloud_secrets import paths
from cloud_secrets.assets import generate
from cloud_secrets.assets.alert_fields import alert_field_map
from cloud_secrets.assets.catalog import TAGGED_ENTRIES, catalog
from cloud_secrets.assets.rules import hunting, kibana, syntax
from cloud_secrets.assets.rules.loader import RULES_DIR, load_rule_fields, load_rules, reads_alerts
from cloud_secrets.assets.rules.model import RISK_BANDS
from cloud_secrets.cli.rules import rules as rules_cmd
from cloud_secrets.errors import UserError

SLUGS = {"bulk_access_sequence", "bulk_access_distinct_secrets", "enumerate_then_retrieve",
         "first_seen_secret_access", "failed_access_spray", "baseline_deviation", "tagging_health",
         "secret_access_signals_per_identity", "new_network_for_identity", "secret_read_after_sign_in",
         "unusual_hour_for_identity"}
ASSET_DIR = paths.ROOT / kibana.RULE_DIR
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "kibana_security_rule.schema.json").read_text())
EQL_CONFIG = eql.ParserConfig(eql.parser.elasticsearch_syntax, eql.parser.allow_runs)
RULES = load_rules()


def assets() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(ASSET_DIR.glob("*.json"))}


def parse_query(language: str, query: str) -> None:
    if language == "eql":
        with EQL_CONFIG:
            eql.parse_query(query)
    elif language == "esql":
        syntax.parse_esql(query)  # raises on any syntax error
    elif language in ("lucene",):
        lucene_parser.parse(query)
    else:
        raise AssertionError(f"no parser for {language}")


def test_the_pack_has_exactly_its_rules() -> None:
    assert {r.slug for r in RULES} == SLUGS
    assert len({r.rule_id for r in RULES}) == len(RULES)
    assert {a["attributes"]["rule_id"] for a in assets().values()} == {r.rule_id for r in RULES}


@pytest.mark.parametrize("name", sorted(assets()))
def test_asset_passes_the_schema_and_is_named_by_its_id(name: str) -> None:
    asset = assets()[name]
    jsonschema.validate(asset, SCHEMA)
    assert name == f"{asset['id']}.json"
    assert asset["id"].startswith(asset["attributes"]["rule_id"])


@pytest.mark.parametrize("name", sorted(assets()))
def test_asset_query_parses_in_its_language(name: str) -> None:
    attrs = assets()[name]["attributes"]
    parse_query(attrs["language"], attrs["query"])


def test_kql_is_not_used_because_no_kql_parser_exists_offline() -> None:
    # Threshold and new_terms rules are written in Lucene, which luqum parses (see rules/syntax.py).
    assert {a["attributes"]["language"] for a in assets().values()} <= {"eql", "esql", "lucene"}


@pytest.mark.parametrize("name", sorted(assets()))
def test_every_field_a_rule_names_is_declared(name: str) -> None:
    attrs = assets()[name]["attributes"]
    defs = load_rule_fields()
    names = set(syntax.fields(attrs["language"], attrs["query"]))
    names |= set(attrs.get("threshold", {}).get("field", []))
    names |= {c["field"] for c in attrs.get("threshold", {}).get("cardinality", [])}
    names |= set(attrs.get("new_terms_fields", []))
    names |= {f["name"] for f in attrs["required_fields"]}
    if reads_alerts(attrs["query"], attrs["language"]):  # the higher-order rule reads the alerts index
        mapped = alert_field_map()
        assert sorted(n for n in names if n not in mapped) == []
        return
    missing = sorted(n for n in names if defs.lookup(n) is None)
    assert not missing, f"{attrs['name']}: fields not in the data stream's or the summary transform's fields: {missing}"
    assert {f["name"] for f in attrs["required_fields"]} >= names - {f["name"] for f in attrs["required_fields"]}


@pytest.mark.parametrize("name", sorted(assets()))
def test_risk_score_lies_in_the_severity_band(name: str) -> None:
    attrs = assets()[name]["attributes"]
    low, high = RISK_BANDS[attrs["severity"]]
    assert low <= attrs["risk_score"] <= high


@pytest.mark.parametrize("name", sorted(assets()))
def test_guide_follows_detection_rules_layout_and_names_the_rule(name: str) -> None:
    attrs = assets()[name]["attributes"]
    note = attrs["note"]
    assert note.startswith("## Triage and analysis\n")
    assert f"### Investigating {attrs['name']}\n" in note
    for heading in ("### Possible investigation steps", "### False positive analysis", "### Response and remediation"):
        assert f"\n{heading}\n" in note
    assert "DATA_READ" in attrs["setup"] and "AuditEvent" in attrs["setup"] and "@custom" in attrs["setup"]


@pytest.mark.parametrize("name", sorted(assets()))
def test_mitre_mapping_and_related_integrations(name: str) -> None:
    attrs = assets()[name]["attributes"]
    threat = attrs["threat"][0]
    assert threat["tactic"]["id"] == "TA0006"
    assert threat["technique"][0]["id"] == "T1555"
    assert threat["technique"][0]["subtechnique"][0]["id"] == "T1555.006"
    assert {i["package"] for i in attrs["related_integrations"]} == {p.integration for p in catalog().providers}


def test_action_lists_come_from_the_catalog_never_typed() -> None:
    cat = catalog()
    for rule in RULES:
        # nor the other tagging conditions: event providers, Vault mount and entry types (`{{taggable ...}}`)
        typed = [*cat.actions(), *(e for p in cat.providers for e in p.event_providers()),
                 *(m for op in cat.operations for m in op.mount_types), *(v for _, v in TAGGED_ENTRIES.values())]
        for value in typed:
            assert json.dumps(value) not in rule.query_template, f"{rule.slug}: hand-typed catalog value {value}"
        # the baseline rule reads the transform's summary, whose source is generated from the catalog; the
        # higher-order rule reads the alerts of the pack's rules, named by their generated rule ids
        assert any(p in rule.query_template for p in ("{{actions", "{{taggable", "FROM {{summary", "{{rule_ids"))
    seq = next(r for r in RULES if r.slug == "bulk_access_sequence")
    for action in cat.actions("read", "batch_read", "list"):
        assert json.dumps(action) in seq.query
    assert '"azure.platformlogs"' in seq.query  # where Key Vault data-plane reads land
    assert "sequence by cloud_secrets.identity, source.ip with maxspan=1h" in seq.query and "with runs=10" in seq.query


def test_rules_2_to_5_never_filter_on_caller_controlled_fields() -> None:
    for rule in RULES:
        fields = syntax.fields(rule.language, rule.query)
        assert not [f for f in fields if f.startswith(("cloud_secrets.automation", "user_agent."))]
        # the seed keeps its form; tagging_health watches the tagging, not identities: nothing to allowlist;
        # the higher-order rule reads alerts, where the allowlist's cloud_secrets.identity is not searchable
        if rule.slug not in ("bulk_access_sequence", "tagging_health", "secret_access_signals_per_identity"):
            assert rule.allowlist, f"{rule.slug} must document the exception-based allowlist"
            assert "Add rule exception" in kibana.attributes(rule, catalog(), load_rule_fields())["note"]


def test_generated_rule_assets_sigma_and_docs_match_the_generators() -> None:
    rendered = generate.render()
    ours = {p: c for p, c in rendered.items()
            if p.startswith((kibana.RULE_DIR, "sigma/", "docs/generated/"))}
    assert len([p for p in ours if p.startswith(kibana.RULE_DIR)]) == len(SLUGS)
    for rel, content in ours.items():
        assert (paths.ROOT / rel).read_text(encoding="utf-8") == content, f"{rel} drifted: run cloud-secrets generate"
    on_disk = {str(p.relative_to(paths.ROOT)) for d in (ASSET_DIR, paths.ROOT / "sigma") for p in d.rglob("*")
               if p.is_file()}
    assert on_disk == {p for p in ours if p.startswith((kibana.RULE_DIR, "sigma/"))}, "stale generated files"


def test_package_readme_template_has_the_rule_sections() -> None:
    rendered = generate.render()["package/_dev/build/docs/README.md"]
    for rule in RULES:
        assert f"`{rule.slug}`" in rendered
    assert "## Hunting queries" in rendered and "## Response playbook" in rendered
    assert "<!-- catalog:" not in rendered


def test_hunting_queries_parse_and_name_declared_fields() -> None:
    queries = hunting.load_queries(catalog())
    assert {q.language for q in queries} == {"esql", "eql"}
    for q in queries:
        parse_query(q.language, q.query)


def _copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target


def _edit(path: Path, key: str, value: object) -> None:
    data = yaml.safe_load(path.read_text())
    data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(("key", "value", "message"), [
    ("query", "sequence by user.name [any where event.action in {{actions read}}", "query"),
    ("query", "event.dataset:{{datasets read}} AND cloud_secrets.secrets.count:5", "not declared"),
    ("query", "event.action:{{actions nonsense}}", "operation classes"),
    ("query", 'event.action:{{actions read}} AND NOT cloud_secrets.automation:"ci"', "caller"),
    ("risk_score", 90, "outside the medium band"),
    ("rule_id", "not-a-uuid", "rule_id"),
    ("type", "query", "type"),
    ("suppression", {"group_by": ["cloud_secrets.identity"], "duration": "1h"}, "threshold fields"),
    ("suppression", {"duration": "1d"}, "seconds, minutes or hours"),
    ("building_block", "yes", "expected true or false"),
])
def test_a_broken_rule_fails_with_file_line_and_field(tmp_path: Path, key: str, value: object, message: str) -> None:
    directory = _copy_rules(tmp_path)
    path = directory / "failed_access_spray.yml"
    _edit(path, key, value)
    with pytest.raises(UserError) as err:
        load_rules(directory)
    text = str(err.value)
    assert "failed_access_spray.yml:" in text and f": {key}" in text and message in text


def test_a_broken_rule_also_fails_generation(tmp_path: Path) -> None:
    directory = _copy_rules(tmp_path)
    (directory / "bulk_access_sequence.yml").write_text(
        (directory / "bulk_access_sequence.yml").read_text().replace("with runs=10", "with runs=ten"))
    with pytest.raises(UserError, match=r"bulk_access_sequence\.yml:\d+: query"):
        load_rules(directory)


def test_duplicate_rule_ids_are_refused(tmp_path: Path) -> None:
    directory = _copy_rules(tmp_path)
    first = yaml.safe_load((directory / "bulk_access_sequence.yml").read_text())["rule_id"]
    _edit(directory / "failed_access_spray.yml", "rule_id", first)
    with pytest.raises(UserError, match="rule_id"):
        load_rules(directory)


def test_rules_export_ndjson_for_kibana_import(tmp_path: Path) -> None:
    result = CliRunner().invoke(rules_cmd, ["export", "--format", "ndjson"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert {line["rule_id"] for line in lines} == {r.rule_id for r in RULES}
    for line in lines:
        assert line["enabled"] is False
        jsonschema.validate({"id": f"{line['rule_id']}_{line['version']}", "type": "security-rule",
                             "attributes": line}, SCHEMA)


def test_rules_export_attaches_the_allowlist_only_to_rules_that_take_it(tmp_path: Path) -> None:
    allow = tmp_path / "allow.yml"
    allow.write_text("identities: [ci-deployer@example-prod.iam.gserviceaccount.com]\nsource_ips: [192.0.2.0/24]\n")
    result = CliRunner().invoke(rules_cmd, ["export", "--allowlist", str(allow)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    by_slug = {r.rule_id: r for r in RULES}
    for line in lines:
        if "rule_id" in line:
            assert bool(line.get("exceptions_list")) == by_slug[line["rule_id"]].allowlist
    items = [line for line in lines if "entries" in line]
    identity = "ci-deployer@example-prod.iam.gserviceaccount.com"
    assert items[0]["entries"][0] == {"field": "cloud_secrets.identity", "operator": "included",
                                      "type": "match_any", "value": [identity]}
    bad = tmp_path / "bad.yml"
    bad.write_text("identities: [x]\nsource_ips: [not-an-ip]\n")
    result = CliRunner().invoke(rules_cmd, ["export", "--allowlist", str(bad)])
    assert result.exit_code != 0 and "source_ips[0]" in str(result.exception)


def test_rule_ids_are_fixed_uuids() -> None:
    for rule in RULES:
        assert str(uuid.UUID(rule.rule_id)) == rule.rule_id
