"""`tagging_health` counts exactly the events the tagging pipeline would tag: its condition (`{{taggable ...}}`)
is rendered from the catalog, checked here against the real pipeline on the embedded node, and follows a
changed catalog with no edit of the rule.

The documents are the package's pipeline test fixtures (each names the official integration's documented
shape it follows), covering every catalogued operation, writes and other services: once as the pipeline tags
them (a healthy hook) and once as indexed without it (a broken hook)."""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from backtest_helpers import T0, run_events
from cloud_secrets import paths
from cloud_secrets.assets.catalog import TAGGED_ENTRIES, catalog, load_catalog
from cloud_secrets.assets.package_assets import default_pipeline
from cloud_secrets.assets.rules import syntax, templating
from cloud_secrets.assets.rules.loader import RULES_DIR, load_rules
from cloud_secrets.elastic.ingest import install_pipelines, simulate
from cloud_secrets.elastic.pipeline_tests import load_cases
from cloud_secrets.evaluation.backtest import package_rules, select
from cloud_secrets.evaluation.backtest.events import Event
from cloud_secrets.evaluation.backtest.rulepack import Rule

COUNTED = ("read", "batch_read", "list")  # the classes tagging_health names


def health_rule() -> Any:
    """tagging_health as the package ships it (the generated Kibana asset), for the backtest's ES|QL."""
    return select(package_rules(), ["tagging_health"])[0]


def counted(docs: list[dict[str, Any]]) -> dict[str, set[int]]:
    """Dataset -> indices of the documents the rule counts (one scheduled window holds them all)."""
    events = [Event(i, i + 1, T0 + i * 1000, d) for i, d in enumerate(docs)]
    out: dict[str, set[int]] = {}
    for alert in run_events(health_rule(), events):
        out.setdefault(alert.fields["event.dataset"], set()).update(alert.events)
    return out


@pytest.fixture(scope="module")
def fixtures(es) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """(the fixtures' upstream documents, the same documents through the package's pipeline)."""
    install_pipelines(es)
    raw = [e for case in load_cases() for e in case.events if "event" in e]
    tagged = simulate(es, default_pipeline(), copy.deepcopy(raw))
    assert not [d for d in tagged if "__error__" in d or "__dropped__" in d]
    return raw, tagged


@pytest.mark.engine
def test_the_rule_counts_what_the_pipeline_tags_when_the_hook_is_broken(fixtures) -> None:  # type: ignore[no-untyped-def]
    raw, tagged = fixtures
    cat = catalog()
    conditional = {op.action for op in cat.operations if op.requires_true}
    # Vault: the request path is not matched, so a call of another class on a counted action and mount type
    # (a KV v2 metadata read) counts too, once untagged (see templating.shadowed_operations)
    vault = {(op.action, m) for op in cat.provider("hashicorp_vault").operations if op.op_class in COUNTED
             for m in op.mount_types}
    expected: dict[str, set[int]] = {}
    shadowed: list[str] = []
    for i, (before, after) in enumerate(zip(raw, tagged, strict=True)):
        op = (after.get("cloud_secrets") or {}).get("operation")
        entry = before.get("hashicorp_vault", {}).get("audit", {})
        if op in COUNTED and before["event"]["action"] not in conditional:
            expected.setdefault(before["event"]["dataset"], set()).add(i)
        elif op and (before["event"]["action"], entry.get("request", {}).get("mount_type")) in vault:
            expected.setdefault(before["event"]["dataset"], set()).add(i)
            shadowed.append(op)
    assert set(expected) == {"aws.cloudtrail", "azure.platformlogs", "gcp.audit", "hashicorp_vault.audit"}
    assert counted(raw) == expected
    assert shadowed and set(shadowed) == {"describe"}
    assert templating.shadowed_operations(cat, list(COUNTED)) == ["kv_v2_metadata_read", "kv_v2_subkeys_read"]
    # the fixtures hold what the rule must leave out: SSM reads without decryption, Vault request entries
    # and calls outside the catalogued mounts, all untagged by the pipeline
    left_out = [d for d, t in zip(raw, tagged, strict=True) if "cloud_secrets" not in t
                and d["event"]["action"] in catalog().actions(*COUNTED)]
    assert {d["event"]["dataset"] for d in left_out} >= {"aws.cloudtrail", "hashicorp_vault.audit"}


@pytest.mark.engine
def test_a_healthy_hook_raises_nothing_and_a_failing_call_names_its_pipeline(fixtures) -> None:  # type: ignore[no-untyped-def]
    raw, tagged = fixtures
    assert counted(tagged) == {}
    failed = [{**d, "cloud_secrets": {"tagging_error": "logs-cloud_secrets.secret_access-0.1.0"}} for d in raw]
    alerts = run_events(health_rule(), [Event(i, i + 1, T0 + i * 1000, d) for i, d in enumerate(failed)])
    assert alerts and all(a.fields["missing_pipelines"] == "logs-cloud_secrets.secret_access-0.1.0" for a in alerts)


def test_vault_tags_only_the_entry_type_the_catalog_names() -> None:
    """TAGGED_ENTRIES and vault.painless say the same (the pipeline reads the painless source)."""
    source = (Path(templating.__file__).parents[1] / "painless" / "vault.painless").read_text(encoding="utf-8")
    field, value = TAGGED_ENTRIES["hashicorp_vault"]
    assert field.split(".")[-1] == "type"
    assert f"if (str(dig(audit, ['type'])) != '{value}')" in source


def _catalog_with(tmp_path: Path, add: dict[str, dict[str, dict[str, Any]]]) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(paths.CATALOG, folder)
    data = yaml.safe_load((folder / "operations.yml").read_text(encoding="utf-8"))
    for provider, ops in add.items():
        data["providers"][provider]["operations"].update(ops)
    (folder / "operations.yml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


def test_a_catalogued_operation_reaches_the_rule_with_no_edit(tmp_path: Path) -> None:
    """Operations invented for the test (no such calls exist): an unconditional Parameter Store list, a
    conditional read, and a Vault read on a new mount type. The rule follows; its catches text too."""
    folder = _catalog_with(tmp_path, {
        "aws": {
            "ExampleListParameters": {"store": "ssm_parameter_store", "event_provider": "ssm.amazonaws.com",
                                      "class": "list", "summary": "Invented: lists parameters."},
            "ExampleGetParameter": {"store": "ssm_parameter_store", "event_provider": "ssm.amazonaws.com",
                                    "class": "read", "secret_id": "request_parameters.name",
                                    "requires_true": "request_parameters.withDecryption",
                                    "summary": "Invented: reads a parameter, decrypted with withDecryption."},
        },
        "hashicorp_vault": {
            "example_token_read": {"action": "read", "mount_types": ["gcp"], "path": "token/<name>",
                                   "class": "read", "secret_id": "request.path",
                                   "summary": "Invented: a token from a new engine."},
        },
    })
    cat = load_catalog(folder)
    before = next(r for r in load_rules() if r.slug == "tagging_health")
    after = next(r for r in load_rules(RULES_DIR, cat) if r.slug == "tagging_health")
    assert before.query_template == after.query_template
    syntax.parse_esql(after.query)
    ssm = 'event.provider == "ssm.amazonaws.com" AND event.action IN ("DescribeParameters", "ExampleListParameters")'
    assert ssm in after.query and ssm not in before.query
    condition = after.query.split("| EVAL would_be_tagged = ", 1)[1].split("\n| WHERE", 1)[0]
    assert ssm in condition and '"ExampleGetParameter"' not in condition
    assert "GetParameterHistory and ExampleGetParameter calls" in after.catches
    assert "untagged kv_v2_metadata_read and kv_v2_subkeys_read calls" in after.catches
    assert 'event.action == "read" AND hashicorp_vault.audit.request.mount_type IN ("kv", "database", "aws", "gcp")' \
        in after.query
    assert "read: kv, database, aws, gcp" in after.catches

    # and the rule, evaluated over documents, counts the new unconditional operations untagged
    def doc(dataset: str, action: str, **extra: Any) -> dict[str, Any]:
        return {"event": {"dataset": dataset, "action": action, **extra.pop("event", {})}, **extra}

    docs = [doc("aws.cloudtrail", "ExampleListParameters", event={"provider": "ssm.amazonaws.com"}),
            doc("aws.cloudtrail", "ExampleGetParameter", event={"provider": "ssm.amazonaws.com"}),
            doc("aws.cloudtrail", "ExampleListParameters", event={"provider": "secretsmanager.amazonaws.com"}),
            doc("hashicorp_vault.audit", "read",
                hashicorp_vault={"audit": {"type": "response", "request": {"mount_type": "gcp"}}}),
            doc("hashicorp_vault.audit", "read",
                hashicorp_vault={"audit": {"type": "request", "request": {"mount_type": "gcp"}}})]
    rule: Rule = dataclasses.replace(health_rule(), query=after.query)
    alerts = run_events(rule, [Event(i, i + 1, T0 + i * 1000, d) for i, d in enumerate(docs)])
    assert {(a.fields["event.dataset"], tuple(a.events)) for a in alerts} == \
        {("aws.cloudtrail", (0,)), ("hashicorp_vault.audit", (3,))}


@pytest.mark.parametrize("language", templating.LANGUAGES)
def test_taggable_renders_and_parses_in_every_query_language(language: str) -> None:
    text = templating.render("{{taggable read list}}", catalog(), language)
    syntax.check(language, {"esql": f"FROM logs-* | WHERE {text}", "eql": f"any where {text}"}.get(language, text))
    assert "ssm.amazonaws.com" in text and '"GetParameter"' not in text and '"DescribeParameters"' in text


def test_taggable_and_its_prose_refuse_missing_or_unknown_classes() -> None:
    with pytest.raises(templating.TemplateError, match="needs operation classes"):
        templating.render("{{taggable}}", catalog(), "esql")
    with pytest.raises(templating.TemplateError, match="needs operation classes"):
        templating.render_prose("{{untagged_by_design sideways}}", catalog())
