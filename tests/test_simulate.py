"""The simulator and the upstream document builders: shapes, claims of every scenario, determinism."""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from click.testing import CliRunner

from cloud_secrets.cli.simulate import simulate
from cloud_secrets.errors import UserError
from cloud_secrets.evaluation.simulate import Label, Options, generate, scenarios, stream, write_stream
from cloud_secrets.evaluation.simulate.fast import FastDocs, encode
from cloud_secrets.evaluation.upstream import (
    AwsIdentity,
    AzureIdentity,
    GcpPrincipal,
    GcpProject,
    KeyVault,
    activity_event,
    java_to_string,
    keyvault_event,
    secret_arn,
    secret_manager_event,
    secrets_manager_event,
)

ATTACKS = [s.name for s in scenarios() if s.kind == "attack"]
SMALL = Options(seed=7, days=1.0, identities=60)
ALLOWED_NETS = [
    ipaddress.ip_network(n)
    for n in (
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001:db8::/32",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
    )
]
TOP_LEVEL = {
    "@timestamp",
    "data_stream",
    "ecs",
    "tags",
    "event",
    "cloud",
    "source",
    "user",
    "related",
    "user_agent",
    "aws",
    "service",
    "tls",
    "azure",
    "client",
    "log",
    "gcp",
    "orchestrator",
    "hashicorp_vault",
    "message",
}
SM = "google.cloud.secretmanager.v1.SecretManagerService."


def run(name: str, opts: Options = SMALL) -> list[tuple[dict[str, Any], Label]]:
    return list(generate(name, opts))


@cache
def attack_docs(name: str) -> tuple[tuple[str, Label], ...]:
    return tuple((json.dumps(d), label) for d, label in run(name, Options(seed=3)))


def docs_of(name: str) -> list[dict[str, Any]]:
    return [json.loads(d) for d, _ in attack_docs(name)]


@cache
def mixed() -> tuple[tuple[str, Label], ...]:
    return tuple((json.dumps(d), label) for d, label in run("all", SMALL))


def get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def walk_ips(doc: dict[str, Any]) -> Iterator[str]:
    for path in ("source.ip", "client.ip", "azure.platformlogs.identity.claim.ipaddr"):
        value = get(doc, path)
        if value:
            yield value
    yield from get(doc, "related.ip") or []


def actions(docs: list[dict[str, Any]]) -> list[str]:
    return [d["event"]["action"] for d in docs]


# --- scenario registry and errors -----------------------------------------------------------------


def test_every_scenario_is_listed() -> None:
    result = CliRunner().invoke(simulate, ["--list-scenarios"])
    assert result.exit_code == 0
    for name in [*ATTACKS, "benign_week", "all"]:
        assert name in result.output
    assert len(ATTACKS) == 25  # 10 public techniques + 13 harder variants (issue 14) + Vault and Parameter Store


def test_unknown_scenario_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown scenario 'nope'"):
        generate("nope", SMALL)
    result = CliRunner().invoke(simulate, ["--scenario", "nope"])
    assert isinstance(result.exception, UserError)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "benign_week", "--days", "0"], "--days"),
        (["--scenario", "benign_week", "--identities", "3"], "--identities"),
        (["--scenario", "all", "--days", "0.5"], "at least 1"),
        (["--scenario", "seed_aws_list_get", "--start", "yesterday"], "ISO 8601"),
        ([], "--scenario"),
    ],
)
def test_bad_arguments_are_user_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(simulate, args)
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception)


# --- determinism, purity, labels -------------------------------------------------------------------


def test_same_seed_same_documents_other_seed_others() -> None:
    opts = Options(seed=11, days=0.5, identities=40)
    a = [json.dumps(d) for d, _ in generate("benign_week", opts)]
    b = [json.dumps(d) for d, _ in generate("benign_week", opts)]
    c = [json.dumps(d) for d, _ in generate("benign_week", Options(seed=12, days=0.5, identities=40))]
    assert a == b
    assert a != c
    assert [d for d, _ in attack_docs("denied_probing")] == [
        json.dumps(d) for d, _ in run("denied_probing", Options(seed=3))
    ]


def test_documents_are_pure_and_in_time_order() -> None:
    rows = [json.loads(d) for d, _ in mixed()]
    stamps = [d["@timestamp"] for d in rows]
    assert stamps == sorted(stamps)
    for doc in rows:
        assert set(doc) <= TOP_LEVEL, set(doc) - TOP_LEVEL
        assert "cloud_secrets" not in doc
        assert "secret_access" not in doc.get("tags", [])


def test_labels_go_to_a_side_file_only(tmp_path: Any) -> None:
    out, labels = tmp_path / "docs.jsonl", tmp_path / "labels.jsonl"
    result = CliRunner().invoke(
        simulate, ["--scenario", "stratus_aws_retrieve", "--out", str(out), "--labels", str(labels)]
    )
    assert result.exit_code == 0, result.output
    docs = out.read_text().splitlines()
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert len(docs) == len(rows) == 21
    assert [r["line"] for r in rows] == list(range(1, 22))
    assert {r["kind"] for r in rows} == {"attack"}
    assert {r["scenario"] for r in rows} == {"stratus_aws_retrieve"}
    for line, row in zip(docs, rows, strict=True):
        doc = json.loads(line)
        assert row["timestamp"] == doc["@timestamp"]
        # the label is the identity the pipeline derives: the person's session within the permission set's role
        ui = doc["aws"]["cloudtrail"]["user_identity"]
        session = ui["arn"].rsplit("/", 1)[1]
        assert row["identity"] == f"{doc['cloud']['account']['id']}:role/{doc['user']['name']}/{session}"
        assert "stratus_aws_retrieve" not in line and '"attack"' not in line


def test_default_output_carries_no_labels() -> None:
    result = CliRunner().invoke(simulate, ["--scenario", "seed_aws_list_get"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert all(set(json.loads(line)) <= TOP_LEVEL for line in lines)


def test_all_injects_every_attack_into_the_benign_period() -> None:
    labels = [label for _, label in mixed()]
    kinds = Counter(label.kind for label in labels)
    assert kinds["benign"] > 5 * kinds["attack"] > 0
    assert {label.scenario for label in labels if label.kind == "attack"} == set(ATTACKS)
    assert {label.scenario for label in labels if label.kind == "benign"} == {"benign_week"}


def test_write_stream_counts(tmp_path: Any) -> None:
    with (tmp_path / "d").open("w") as out, (tmp_path / "l").open("w") as lab:
        stats = write_stream(stream("microburst_keyvault_dump", Options()), out, lab)
    assert stats.documents == stats.by_kind["attack"] == stats.by_dataset["azure.platformlogs"]


# --- attack scenarios do what they claim ------------------------------------------------------------


def test_seed_scenarios_are_a_list_then_one_read() -> None:
    assert actions(docs_of("seed_aws_list_get")) == ["ListSecrets", "GetSecretValue"]
    assert actions(docs_of("seed_azure_list_get")) == ["SecretList", "SecretGet"]
    assert actions(docs_of("seed_gcp_list_access")) == [SM + "ListSecrets", SM + "AccessSecretVersion"]
    for name in ("seed_aws_list_get", "seed_azure_list_get", "seed_gcp_list_access"):
        docs = docs_of(name)
        assert len({d["source"]["ip"] for d in docs}) == 1


def test_microburst_dumps_every_secret_of_three_vaults() -> None:
    docs = docs_of("microburst_keyvault_dump")
    per_vault: dict[str, list[str]] = {}
    for doc in docs:
        per_vault.setdefault(doc["azure"]["resource"]["name"], []).append(doc["event"]["action"])
    assert len(per_vault) == 3
    for ops in per_vault.values():
        assert ops[:2] == ["VaultGet", "SecretList"]
        assert set(ops[2:]) == {"SecretGet"} and len(ops) > 6
    ids = [d["azure"]["platformlogs"]["properties"]["id"] for d in docs if d["event"]["action"] == "SecretGet"]
    assert len(ids) == len(set(ids))


def test_stratus_aws_retrieve_lists_then_reads_20() -> None:
    docs = docs_of("stratus_aws_retrieve")
    assert actions(docs) == ["ListSecrets"] + ["GetSecretValue"] * 20
    ids = {d["aws"]["cloudtrail"]["flattened"]["request_parameters"]["secretId"] for d in docs[1:]}
    assert len(ids) == 20


def test_stratus_batch_reads_42_secrets_in_5_filtered_calls() -> None:
    docs = docs_of("stratus_aws_batch_retrieve")
    batch = [d for d in docs if d["event"]["action"] == "BatchGetSecretValue"]
    assert len(batch) == 5
    for i, doc in enumerate(batch):
        params = doc["aws"]["cloudtrail"]["flattened"]["request_parameters"]
        assert "secretIdList" not in params
        assert params["maxResults"] == 10
        assert params["filters"] == [{"key": "tag-key", "values": ["StratusRedTeam"]}]
        assert ("nextToken" in params) == (i > 0)
        assert doc["aws"]["cloudtrail"]["request_parameters"].startswith("{")
    companions = [d for d in docs if d["event"]["action"] == "GetSecretValue"]
    assert len({d["aws"]["cloudtrail"]["flattened"]["request_parameters"]["secretId"] for d in companions}) == 42
    for doc in companions:
        assert doc["aws"]["cloudtrail"]["user_identity"]["invoked_by"] == "secretsmanager.amazonaws.com"
        assert "ip" not in doc["source"]
    only_batch = run("stratus_aws_batch_retrieve", Options(batch_companions=False))
    assert actions([d for d, _ in only_batch]) == ["BatchGetSecretValue"] * 5


def test_stratus_gcp_filters_then_reads_20() -> None:
    docs = docs_of("stratus_gcp_retrieve")
    assert actions(docs) == [SM + "ListSecrets"] + [SM + "AccessSecretVersion"] * 20
    assert docs[0]["gcp"]["audit"]["request"]["filter"].startswith("labels.")
    assert len({d["gcp"]["audit"]["resource_name"] for d in docs[1:]}) == 20


def test_low_and_slow_reads_30_secrets_over_6_hours() -> None:
    from datetime import datetime

    reads = [d for d in docs_of("low_and_slow") if d["event"]["action"] == "GetSecretValue"]
    assert len({d["aws"]["cloudtrail"]["flattened"]["request_parameters"]["secretId"] for d in reads}) == 30
    times = [datetime.fromisoformat(d["@timestamp"].replace("Z", "+00:00")).timestamp() for d in reads]
    assert 5 * 3600 <= times[-1] - times[0] <= 6 * 3600
    assert max(b - a for a, b in itertools.pairwise(times)) < 3600


def test_compromised_ci_reads_new_secrets_from_a_new_address() -> None:
    rows = [(json.loads(d), label) for d, label in attack_docs("compromised_ci_identity")]
    baseline = [d for d, label in rows if label.kind == "benign"]
    attack = [d for d, label in rows if label.kind == "attack"]
    secret = "aws.cloudtrail.flattened.request_parameters.secretId"
    usual = {get(d, secret) for d in baseline if d["event"]["action"] == "GetSecretValue"}
    assert len(usual) == 3 and len(baseline) > 50
    new = {get(d, secret) for d in attack if d["event"]["action"] == "GetSecretValue"}
    assert len(new) == 25 and not new & usual
    reads = [d for d in baseline if d["event"]["provider"] == "secretsmanager.amazonaws.com"]
    assert {d["user"]["name"] for d in attack} == {d["user"]["name"] for d in reads} == {"gha-billing-deploy"}
    assert not {d["source"]["ip"] for d in attack} & {d["source"]["ip"] for d in baseline}


def test_denied_probing_is_refused_on_all_three_clouds() -> None:
    docs = docs_of("denied_probing")
    aws = [d for d in docs if get(d, "event.action") == "GetSecretValue"]
    assert len(aws) >= 20 and all(get(d, "aws.cloudtrail.error_code") == "AccessDenied" for d in aws)
    assert all(d["event"]["outcome"] == "failure" for d in aws)
    azure = [d for d in docs if get(d, "event.action") == "SecretGet"]
    assert len(azure) == 20
    assert all(get(d, "azure.platformlogs.properties.httpStatusCode") == 403 for d in azure)
    assert all(get(d, "azure.platformlogs.result_signature") == "Forbidden" for d in azure)
    gcp = [d for d in docs if get(d, "event.action") == SM + "AccessSecretVersion"]
    assert len(gcp) == 20 and all(get(d, "gcp.audit.status.code") == 7 for d in gcp)
    assert all(d["event"]["outcome"] == "failure" for d in gcp)
    for group in (aws, azure, gcp):
        assert len(
            {
                json.dumps(
                    get(d, "aws.cloudtrail.flattened")
                    or get(d, "azure.platformlogs.properties.id")
                    or get(d, "gcp.audit.resource_name")
                )
                for d in group
            }
        ) == len(group)


# --- upstream shapes ------------------------------------------------------------------------------------


def _check_aws(doc: dict[str, Any]) -> None:
    for path in (
        "event.provider",
        "event.type",
        "event.outcome",
        "event.id",
        "cloud.provider",
        "cloud.region",
        "cloud.account.id",
        "source.address",
        "user_agent.original",
        "aws.cloudtrail.user_identity.type",
    ):
        assert get(doc, path) is not None, path
    assert doc["event"]["kind"] == "event"
    kind = doc["aws"]["cloudtrail"]["user_identity"]["type"]
    if kind == "AWSService":
        assert "user" not in doc and "ip" not in doc["source"]
        assert doc["source"]["address"].endswith(".amazonaws.com")
        assert doc["service"]["name"] == doc["aws"]["cloudtrail"]["user_identity"]["invoked_by"]
    else:
        assert doc["user"]["name"]
    if kind == "AssumedRole":
        session = doc["aws"]["cloudtrail"]["user_identity"]["arn"].rsplit("/", 1)[1]
        assert re.fullmatch(r"AROA[A-Z2-7]{17}:.+", doc["user"]["id"])
        assert doc["user"]["id"].endswith(":" + session)
        assert session in doc["related"]["user"] and doc["user"]["name"] in doc["related"]["user"]
        assert doc["user"]["name"] == doc["aws"]["cloudtrail"]["user_identity"]["arn"].split("/")[1]
    if get(doc, "aws.cloudtrail.user_identity.invoked_by") and not re.match(r"[\d.:a-f]+$", doc["source"]["address"]):
        assert "ip" not in doc["source"]
    trail = doc["aws"]["cloudtrail"]
    if "request_parameters" in trail:
        assert trail["request_parameters"].startswith("{") and '"' not in trail["request_parameters"]
        assert isinstance(trail["flattened"]["request_parameters"], dict)
    assert (doc["event"]["outcome"] == "failure") == ("error_code" in trail or "error_message" in trail)


def _check_platformlogs(doc: dict[str, Any]) -> None:
    platform = doc["azure"]["platformlogs"]
    assert "user" not in doc
    assert platform["category"] == "AuditEvent" and platform["operation_name"] == doc["event"]["action"]
    claim = platform["identity"]["claim"]
    assert claim.get("upn") or claim.get("appid")
    assert claim.get("oid") or claim.get("http://schemas.microsoft.com/identity/claims/objectidentifier")
    props = platform["properties"]
    for key in ("requestUri", "clientInfo", "httpStatusCode"):
        assert key in props, key
    assert doc["azure"]["resource"]["name"] and doc["azure"]["resource"]["id"]
    assert platform["result_type"] == "Success" and doc["event"]["outcome"] == "success"
    if doc["event"]["action"] == "SecretGet" and props["httpStatusCode"] == 200:
        assert re.fullmatch(r"https://[a-z0-9-]+\.vault\.azure\.net/secrets/[^/]+/[0-9a-f]{32}", props["id"])


def _check_activitylogs(doc: dict[str, Any]) -> None:
    assert doc["event"]["action"] == doc["event"]["action"].upper()
    assert doc["event"]["action"] == doc["azure"]["activitylogs"]["operation_name"]
    upn = get(doc, "azure.activitylogs.identity.claims_initiated_by_user.name")
    if upn:
        assert doc["user"]["email"] == upn and doc["user"]["name"] == upn.split("@")[0]


def _check_gcp(doc: dict[str, Any]) -> None:
    assert "user" not in doc
    assert doc["event"]["provider"] in ("data_access", "activity")
    assert doc["service"]["name"] and doc["client"]["user"]["email"]
    audit = doc["gcp"]["audit"]
    assert audit["authorization_info"][0]["permission"] and "granted" in audit["authorization_info"][0]
    if doc["service"]["name"] == "secretmanager.googleapis.com":
        assert doc["event"]["action"].startswith(SM)
        assert re.fullmatch(r"projects/[^/]+(/secrets/[^/]+(/versions/[^/]+)?)?", audit["resource_name"])
    if doc["event"]["outcome"] == "failure":
        assert audit["status"]["code"] != 0


def _check_vault(doc: dict[str, Any]) -> None:
    audit = doc["hashicorp_vault"]["audit"]
    assert audit["type"] in ("request", "response") and ("response" in audit) == (audit["type"] == "response")
    assert doc["event"]["id"] == audit["request"]["id"] and doc["event"]["action"] == audit["request"]["operation"]
    assert re.fullmatch(r"hmac-sha256:[0-9a-f]{64}", audit["request"]["client_token"])
    assert "name" not in doc.get("user", {})  # the integration never sets user.name
    assert (doc["event"]["outcome"] == "failure") == ("error" in audit)


CHECKS = {
    "aws.cloudtrail": _check_aws,
    "hashicorp_vault.audit": _check_vault,
    "azure.platformlogs": _check_platformlogs,
    "azure.activitylogs": _check_activitylogs,
    "gcp.audit": _check_gcp,
}


def test_every_document_has_its_datasets_upstream_fields() -> None:
    seen: Counter[str] = Counter()
    for line, _ in mixed():
        doc = json.loads(line)
        dataset = doc["data_stream"]["dataset"]
        assert doc["event"]["dataset"] == dataset and doc["event"]["module"] == dataset.split(".")[0]
        assert doc["data_stream"] == {"type": "logs", "dataset": dataset, "namespace": "default"}
        assert doc["event"]["action"] and doc["event"]["kind"] == "event"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["@timestamp"])
        CHECKS[dataset](doc)
        seen[dataset] += 1
    assert set(seen) == set(CHECKS)


def test_addresses_are_documentation_or_private_ranges() -> None:
    count = 0
    for line, _ in mixed():
        for ip in walk_ips(json.loads(line)):
            address = ipaddress.ip_address(ip)
            assert any(address in net for net in ALLOWED_NETS), ip
            count += 1
    assert count > 1000


def test_benign_week_mixes_automation_people_and_non_secret_traffic() -> None:
    rows = [json.loads(d) for d, _ in mixed()]
    uas = " ".join(
        {get(d, "user_agent.original") or get(d, "azure.platformlogs.properties.clientInfo") or "" for d in rows}
    )
    for needle in ("Terraform", "AWS_Lambda", "AzurePipelines", "aws-cli", "gcloud", "Mozilla"):
        assert needle in uas, needle
    stages = {get(d, "aws.cloudtrail.flattened.request_parameters.versionStage") for d in rows}
    assert {"AWSPENDING", "AWSCURRENT"} <= stages
    assert any(get(d, "aws.cloudtrail.user_identity.invoked_by") == "ecs-tasks.amazonaws.com" for d in rows)
    assert any(get(d, "aws.cloudtrail.user_identity.type") == "AWSService" for d in rows)
    secret_ops = sum(
        1
        for d in rows
        if d["event"]["action"] in ("GetSecretValue", "SecretGet") or d["event"]["action"].startswith(SM)
    )
    assert secret_ops < 0.7 * len(rows)


# --- builders -------------------------------------------------------------------------------------------


def test_request_parameters_render_like_java_hashmap() -> None:
    # the AWS integration's own test data shows these orders (HashMap bucket order, not insertion order)
    assert java_to_string({"roleArn": "r", "roleSessionName": "s", "durationSeconds": 3600}) == (
        "{durationSeconds=3600, roleArn=r, roleSessionName=s}"
    )
    assert java_to_string({"credentials": {"a": 1}, "assumedRoleUser": {"assumedRoleId": "x", "arn": "y"}}) == (
        "{assumedRoleUser={assumedRoleId=x, arn=y}, credentials={a=1}}"
    )
    assert java_to_string({"secretIdList": ["a", "b"]}) == "{secretIdList=[a, b]}"


def test_aws_identity_kinds() -> None:
    arn = secret_arn("111122223333", "us-east-1", "prod/db")
    assert re.fullmatch(r"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-[A-Za-z]{6}", arn)
    user = secrets_manager_event(
        "GetSecretValue",
        AwsIdentity.iam_user("111122223333", "bob"),
        0.0,
        secret_id=arn,
        source_address="192.0.2.1",
        user_agent="aws-cli/2",
    )
    assert user["user"]["name"] == "bob" and user["related"]["user"] == ["bob"]
    assert user["aws"]["cloudtrail"]["request_parameters"] == f"{{secretId={arn}}}"
    sso = AwsIdentity.assumed_role("111122223333", "AWSReservedSSO_Dev_0123", "ann@example.com")
    doc = secrets_manager_event("ListSecrets", sso, 0.0, source_address="192.0.2.2", user_agent="x")
    assert doc["user"]["email"] == "ann@example.com" and doc["user"]["name"] == "AWSReservedSSO_Dev_0123"
    assert "request_parameters" not in doc["aws"]["cloudtrail"]
    svc = AwsIdentity.aws_service("rds.amazonaws.com", "111122223333")
    doc = secrets_manager_event("GetSecretValue", svc, 0.0, secret_id=arn)
    assert "user" not in doc and "ip" not in doc["source"] and doc["service"]["name"] == "rds.amazonaws.com"
    denied = secrets_manager_event(
        "GetSecretValue", sso, 0.0, secret_id="prod/x", source_address="192.0.2.2", user_agent="x", denied=True
    )
    assert denied["event"]["outcome"] == "failure" and "not authorized" in denied["aws"]["cloudtrail"]["error_message"]
    with pytest.raises(ValueError):
        secrets_manager_event("GetSecretValue", sso, 0.0, secret_id=arn)


def test_gcp_internal_callers_have_no_source_ip_and_no_user() -> None:
    project = GcpProject("example-prod", "314159265358")
    who = GcpPrincipal.service_account("api", project.id)
    doc = secret_manager_event("AccessSecretVersion", who, project, 0.0, secret="db", caller_ip="gce-internal-ip")
    assert "source" not in doc and "user" not in doc
    assert doc["client"]["user"] == {"email": who.email, "id": "serviceAccount:" + who.email}
    assert doc["gcp"]["audit"]["resource_name"].startswith("projects/314159265358/secrets/db/versions/")
    assert doc["gcp"]["audit"]["request"]["name"] == "projects/example-prod/secrets/db/versions/latest"
    write = secret_manager_event("AddSecretVersion", who, project, 0.0, secret="db", caller_ip="private")
    assert write["event"]["provider"] == "activity"


def test_azure_identities() -> None:
    vault = KeyVault("kv-a", "00000000-0000-4000-a000-000000000001", "rg-a")
    sp = AzureIdentity.service_principal("ci")
    doc = keyvault_event("SecretGet", sp, vault, 0.0, object_name="db", source_ip="198.51.100.7", client_info="c")
    claim = doc["azure"]["platformlogs"]["identity"]["claim"]
    assert "upn" not in claim and claim["appid"] == sp.app_id and sp.canonical == sp.app_id
    assert doc["azure"]["resource"]["provider"] == "MICROSOFT.KEYVAULT/VAULTS"
    user = AzureIdentity.user("ann@example.com")
    arm = activity_event(
        "MICROSOFT.KEYVAULT/VAULTS/SECRETS/WRITE",
        user,
        0.0,
        resource_id=vault.resource_id + "/SECRETS/DB",
        source_ip="192.0.2.9",
    )
    assert arm["user"] == {"name": "ann", "domain": "example.com", "email": "ann@example.com"}


def test_fast_path_is_byte_identical_to_the_builders() -> None:
    fast = FastDocs()
    arn = secret_arn("111122223333", "us-east-1", "prod/db")
    for ident in (AwsIdentity.assumed_role("111122223333", "r", "s"), AwsIdentity.iam_user("111122223333", "u")):
        for ts in (1772409600.0, 1772409601.2345, 1772413199.9996):
            expected = secrets_manager_event(
                "GetSecretValue", ident, ts, secret_id=arn, source_address="10.0.0.1", user_agent="ua"
            )
            assert fast.aws_read(ident, ts, arn, "10.0.0.1", "ua").json == encode(expected)
    project, who = GcpProject("p", "1"), GcpPrincipal.service_account("s", "p")
    vault, mi = KeyVault("kv", "s", "rg"), AzureIdentity.managed_identity("m", "s", "rg")
    for ts in (1772409600.0, 1772409601.2345):
        assert fast.gcp_access(who, project, ts, "db", "private", "ua").json == encode(
            secret_manager_event(
                "AccessSecretVersion", who, project, ts, secret="db", caller_ip="private", user_agent="ua"
            )
        )
        assert fast.az_get(mi, vault, ts, "db", "10.0.0.2", "c").json == encode(
            keyvault_event("SecretGet", mi, vault, ts, object_name="db", source_ip="10.0.0.2", client_info="c")
        )


def test_generic_fast_paths_match_the_builders() -> None:
    from cloud_secrets.evaluation.upstream import audit_event, cloudtrail_event

    fast = FastDocs()
    ident = AwsIdentity.assumed_role("111122223333", "r", "s").with_invoked_by("secretsmanager.amazonaws.com")
    params = {"encryptionContext": {"SecretARN": "arn:x"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    host = "secretsmanager.amazonaws.com"
    project, who = GcpProject("p", "1"), GcpPrincipal.kubernetes("system:serviceaccount:a:b")
    kw = {
        "service_name": "k8s.io",
        "resource_name": "core/v1/namespaces/a/secrets/x",
        "permission": "p",
        "caller_ip": "10.0.0.3",
        "user_agent": "ua",
        "k8s_cluster": "c",
    }
    for ts in (1772409600.0, 1772409601.2345):
        expected = cloudtrail_event(
            "Decrypt",
            ident,
            ts,
            event_source="kms.amazonaws.com",
            request_parameters=params,
            source_address=host,
            user_agent=host,
            region="eu-west-1",
        )
        got = fast.aws_call(
            "Decrypt", ident, ts, event_source="kms.amazonaws.com", params=params, ip=host, ua=host, region="eu-west-1"
        )
        assert got.json == encode(expected)
        assert fast.gcp_call("io.k8s.core.v1.secrets.get", who, project, ts, **kw).json == encode(
            audit_event("io.k8s.core.v1.secrets.get", who, project, ts, **kw)
        )


@pytest.mark.parametrize("name", ATTACKS)
def test_attacks_begin_at_start(name: str) -> None:
    opts = Options(start=1772445600.0)
    first = next(doc for doc, label in generate(name, opts) if label.kind == "attack")
    assert first["@timestamp"] == "2026-03-02T10:00:00.000Z"


def test_vault_token_harvest_lists_then_reads_from_one_address() -> None:
    docs = [d for d, label in generate("vault_token_harvest", SMALL) if label.kind == "attack"]
    responses = [d for d in docs if d["hashicorp_vault"]["audit"]["type"] == "response"]
    assert len(docs) == 2 * len(responses)
    paths = [d["hashicorp_vault"]["audit"]["request"]["path"] for d in responses]
    assert paths[0] == "auth/token/lookup-self" and paths[1].startswith("secret/metadata/")
    assert len({p for p in paths if p.startswith("secret/data/")}) >= 30
    assert any(p.startswith("database/creds/") for p in paths) and "aws/creds/deploy" in paths
    assert len({d["source"]["ip"] for d in docs}) == 1


def test_ssm_sweep_pages_through_one_recursive_decrypted_path() -> None:
    docs = [d for d, label in generate("ssm_parameters_by_path_sweep", SMALL) if label.kind == "attack"]
    assert len(docs) >= 5
    for d in docs:
        assert d["event"]["provider"] == "ssm.amazonaws.com" and d["event"]["action"] == "GetParametersByPath"
        params = d["aws"]["cloudtrail"]["flattened"]["request_parameters"]
        assert params == {"path": "/", "recursive": True, "withDecryption": True, "maxResults": 10}


def test_store_actors_leave_the_other_actors_unchanged() -> None:
    """Parameter Store and Vault actors draw from their own generators: removing them changes nothing else."""
    from cloud_secrets.evaluation.simulate.benign import benign_items
    from cloud_secrets.evaluation.simulate.world import build_world

    world = build_world(0, 40)
    others = build_world(0, 40)
    others.actors = [a for a in others.actors if not a.actor.startswith(("ssm-", "vault-"))]
    assert len(others.actors) < len(world.actors)
    start = 1772409600.0
    full = [i for i in benign_items(world, 0, start, 0.25) if not i.actor.startswith(("ssm-", "vault-"))]
    assert full == list(benign_items(others, 0, start, 0.25))
