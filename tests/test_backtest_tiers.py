"""Tiers: building blocks write alert documents that the higher-order rule reads, as Kibana does.

The documents are Secrets Manager calls shaped as Elastic's AWS integration writes them (the simulator's
upstream builders, `evaluation/upstream/aws.py`, after the integration's expected outputs for
AssumedRole sessions of IAM Identity Center), tagged by the package's pipeline on the embedded node.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import orjson
import pytest

from cloud_secrets.assets.rules.loader import rules as catalog_rules
from cloud_secrets.elastic.tag import tag_documents
from cloud_secrets.evaluation.backtest import package_rules, run_lines
from cloud_secrets.evaluation.backtest.alert_index import alert_document
from cloud_secrets.evaluation.backtest.alerts import Alert
from cloud_secrets.evaluation.upstream.aws import AwsIdentity, secret_arn, secrets_manager_event

HIGHER_ORDER = "secret_access_signals_per_identity"
ACCOUNT = "111122223333"
T0 = 1_772_409_600.0  # 2026-03-02T00:00:00Z (seconds: the upstream builders take epoch seconds)


def _harvest(identity: AwsIdentity, start: float, address: str, secrets: int) -> list[dict[str, Any]]:
    """A listing, then reads of `secrets` secrets the identity never read, one every 20 seconds."""
    docs = [secrets_manager_event("ListSecrets", identity, start, source_address=address, max_results=100)]
    for n in range(secrets):
        arn = secret_arn(ACCOUNT, "eu-west-1", f"prod/app-{n}")
        docs.append(secrets_manager_event("GetSecretValue", identity, start + 20 * (n + 1), secret_id=arn,
                                          source_address=address))
    return docs


def _tagged_lines(es: Any, docs: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(d) for d in tag_documents(es, docs)]


@pytest.fixture(scope="module")
def two_sso_people(es: Any) -> tuple[list[bytes], list[AwsIdentity]]:
    alice = AwsIdentity.sso_user(ACCOUNT, "AdministratorAccess", "alice@example.com")
    bob = AwsIdentity.sso_user(ACCOUNT, "AdministratorAccess", "bob@example.com")
    docs = _harvest(alice, T0 + 3600, "198.51.100.10", 12) + _harvest(bob, T0 + 3900, "203.0.113.20", 12)
    docs.sort(key=lambda d: d["@timestamp"])
    return _tagged_lines(es, docs), [alice, bob]


def test_two_sso_people_of_one_permission_set_raise_two_higher_order_alerts(two_sso_people) -> None:
    lines, people = two_sso_people
    docs = [json.loads(line) for line in lines]
    role = docs[0]["user"]["name"]
    assert role.startswith("AWSReservedSSO_AdministratorAccess_")
    assert all(role in d["related"]["user"] for d in docs)  # the carrier that would merge them
    result = run_lines(lines, "sso", package_rules())
    higher = [a for a in result.alerts if a.rule == HIGHER_ORDER]
    assert sorted(a.identity for a in higher) == sorted(p.canonical for p in people)
    for alert in higher:
        assert alert.building_block is False
        own = {n for n, d in enumerate(docs, start=1) if d["cloud_secrets"]["identity"] == alert.identity}
        assert set(alert.lines) <= own and alert.lines  # the source documents of its signals, its own only
        names = alert.fields["Esql.rule_names"]
        assert {"Bulk Cloud Secret Access by One Identity and Address",
                "Cloud Secret Store Enumeration Followed by Secret Retrieval"} <= set(names)
    bb = [a for a in result.alerts if a.rule == "bulk_access_sequence"]
    assert bb and all(a.building_block for a in bb)


def test_grouping_by_related_user_would_merge_the_two_people(two_sso_people) -> None:
    """The guard the identity carrier is for: the same rule grouped by related.user puts both people's
    signals into one group (their permission set's role name)."""
    lines, _ = two_sso_people
    rules = package_rules()
    ho = next(r for r in rules if r.slug == HIGHER_ORDER)
    merged = replace(ho, query=ho.query.replace("user.effective.id", "related.user"))
    result = run_lines(lines, "sso", [r if r.slug != HIGHER_ORDER else merged for r in rules])
    higher = [a for a in result.alerts if a.rule == HIGHER_ORDER]
    role = json.loads(lines[0])["user"]["name"]
    shared = [a for a in higher if a.fields.get("related.user") == role]
    assert shared and len({json.loads(lines[n - 1])["cloud_secrets"]["identity"] for n in shared[0].lines}) == 2


def test_one_signal_alone_raises_no_higher_order_alert(es: Any) -> None:
    """A burst of reads of secrets the identity reads every day (no listing, nothing new) is one building
    block: no visible alert."""
    app = AwsIdentity.assumed_role(ACCOUNT, "payments-api", "i-0abc")
    arns = [secret_arn(ACCOUNT, "eu-west-1", f"prod/payments-{n}") for n in range(3)]
    docs = []
    for day in range(2):
        for n in range(12):
            docs.append(secrets_manager_event("GetSecretValue", app, T0 + day * 86400 + 30 * n,
                                              secret_id=arns[n % 3], source_address="10.0.0.5"))
    lines = _tagged_lines(es, docs)
    result = run_lines(lines, "app", package_rules())
    assert any(a.rule == "bulk_access_sequence" for a in result.alerts if a.start >= T0 * 1000 + 86_400_000)
    assert not [a for a in result.alerts if a.rule == HIGHER_ORDER and a.start >= T0 * 1000 + 86_400_000]


def test_alert_documents_carry_only_what_the_alerts_index_maps() -> None:
    rules = {r.slug: r for r in package_rules()}
    seq = rules["bulk_access_sequence"]
    source = {"cloud_secrets": {"identity": "a"}, "user": {"effective": {"id": "a"}, "name": "role"},
              "source": {"ip": "198.51.100.1"}, "related": {"user": ["role", "a"]}}
    alert = Alert("bulk_access_sequence", "a", "198.51.100.1", 1_000, 61_000, 2, [0, 1], [1, 2])
    doc = alert_document(alert, seq, source, copies_source=True)
    assert doc["kibana.alert.building_block_type"] == "default"
    assert doc["kibana.alert.rule.rule_id"] == seq.rule_id and doc["kibana.alert.risk_score"] == seq.risk_score
    assert doc["user.effective.id"] == "a" and doc["source.ip"] == "198.51.100.1"
    assert "cloud_secrets.identity" not in doc  # unmapped in the alerts index: a rule there cannot read it
    assert doc["@timestamp"] == (61_000 // seq.interval_ms + 1) * seq.interval_ms  # the next scheduled run
    distinct = rules["bulk_access_distinct_secrets"]
    row = replace(alert, detected_at=600_000, fields={"cloud_secrets.identity": "a", "user.effective.id": "a",
                                                      "secrets": 25})
    doc = alert_document(row, distinct, None, copies_source=False)
    # a building block too now; an aggregating ES|QL alert carries its mapped columns only
    assert doc["user.effective.id"] == "a" and "secrets" not in doc
    assert doc["kibana.alert.building_block_type"] == "default"
    assert doc["@timestamp"] == 600_000


def test_the_higher_order_rule_reads_only_this_packs_rules_by_generated_ids() -> None:
    ho = next(r for r in catalog_rules() if r.slug == HIGHER_ORDER)
    assert "{{rule_ids" in ho.query_template and "{{rule_ids" not in ho.query
    others = {r.rule_id for r in catalog_rules() if r.slug not in (HIGHER_ORDER, "tagging_health")}
    assert all(rule_id in ho.query for rule_id in others)
    assert ho.rule_id not in ho.query
