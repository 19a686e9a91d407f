"""One principal, one identity; one secret, one id: the tagging pipeline on the real engine, over documents
built with the simulator's upstream builders (the official integrations' shapes), and the rule pack run
offline over them."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from cloud_secrets.elastic.tag import tag_documents
from cloud_secrets.evaluation.backtest import package_rules, run_file
from cloud_secrets.evaluation.backtest.alerts import Alert
from cloud_secrets.evaluation.upstream.aws import (
    AwsIdentity,
    batch_companion_events,
    partial_arn,
    secret_arn,
    secret_name,
    secrets_manager_event,
)
from cloud_secrets.evaluation.upstream.azure import (
    AZURE_CLI_APP_ID,
    AZURE_PORTAL_APP_ID,
    AZURE_POWERSHELL_APP_ID,
    AzureIdentity,
    KeyVault,
    activity_event,
    keyvault_event,
)
from cloud_secrets.evaluation.upstream.gcp import GcpPrincipal, GcpProject, secret_manager_event

pytestmark = pytest.mark.engine

T0 = 1_772_409_600.0  # 2026-03-02T00:00:00Z
ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGION = "us-east-1"
VAULT = KeyVault("kv-prod-shared", "00000000-1111-2222-3333-444444444444", "rg-shared")
PROJECT = GcpProject("example-prod", "314159265358")
AZURE_APPS = (AZURE_PORTAL_APP_ID, AZURE_CLI_APP_ID, AZURE_POWERSHELL_APP_ID)

# A principal of the generator's own model (its key says who it is, independently of the pipeline) and a
# function giving one document of a random call shape made by it.
Shape = Callable[[random.Random, float], dict[str, Any]]


def _aws_calls(ident: Callable[[random.Random], AwsIdentity]) -> Shape:
    """Secrets Manager calls of one principal: any id form, batch calls and their per-secret companions."""

    def call(rng: random.Random, t: float) -> dict[str, Any]:
        who = ident(rng)
        arn = secret_arn(who.account_id, REGION, f"app/{rng.randint(0, 5)}")
        form = rng.choice((arn, partial_arn(arn), secret_name(arn)))
        ip = f"198.51.100.{rng.randint(1, 250)}"
        kind = rng.randrange(5)
        if kind == 0:
            return secrets_manager_event("BatchGetSecretValue", who, t, secret_ids=[form, arn], source_address=ip)
        if kind == 1 and who.type != "AWSService":  # an AWS service's own batch calls: shape not documented
            return batch_companion_events(who, t, [arn])[0]
        if kind == 2:
            return secrets_manager_event("ListSecrets", who, t, source_address=ip, region=REGION)
        return secrets_manager_event(rng.choice(("GetSecretValue", "DescribeSecret")), who, t, secret_id=form,
                                     source_address=ip, region=REGION)

    return call


def _azure_calls(person: str | None = None, make: Callable[[], AzureIdentity] | None = None) -> Shape:
    """Key Vault data-plane and ARM calls; a person signs in with any client app, claims short or URI-named."""

    def call(rng: random.Random, t: float) -> dict[str, Any]:
        if person is not None:
            who = AzureIdentity.user(person, app_id=rng.choice(AZURE_APPS), uri_claims=rng.random() < 0.5)
        else:
            assert make is not None
            who = make()
        ip = f"203.0.113.{rng.randint(1, 250)}"
        if rng.random() < 0.25:
            rid = f"{VAULT.resource_id}/SECRETS/S{rng.randint(0, 5)}"
            return activity_event("MICROSOFT.KEYVAULT/VAULTS/SECRETS/READ", who, t, resource_id=rid, source_ip=ip)
        op = rng.choice(("SecretGet", "SecretList", "SecretListVersions", "VaultGet"))
        named = op in ("SecretGet", "SecretListVersions")
        return keyvault_event(op, who, VAULT, t, source_ip=ip, client_info="client/1.0",
                              object_name=f"s{rng.randint(0, 5)}" if named else None)

    return call


def _gcp_calls(who: GcpPrincipal) -> Shape:
    def call(rng: random.Random, t: float) -> dict[str, Any]:
        method = rng.choice(("AccessSecretVersion", "GetSecret", "ListSecrets"))
        secret = None if method == "ListSecrets" else f"s{rng.randint(0, 5)}"
        return secret_manager_event(method, who, PROJECT, t, secret=secret, caller_ip="192.0.2.10")

    return call


def _principals(rng: random.Random) -> dict[tuple[str, ...], Shape]:
    """Random principals whose names collide on purpose: the same user, role and person names in several
    accounts, several people on one Identity Center permission set, one person through several client apps."""
    out: dict[tuple[str, ...], Shape] = {}
    names = ("deploy", "app", "OrganizationAccountAccessRole", "reader")
    people = tuple(f"{n}@example.com" for n in ("ana", "bo", "cy", "di", "ed"))
    for _ in range(40):
        account = rng.choice(ACCOUNTS)
        kind = rng.randrange(9)
        if kind == 0:
            name = rng.choice(names)
            out[("aws-user", account, name)] = _aws_calls(lambda r, a=account, n=name: AwsIdentity.iam_user(a, n))
        elif kind == 1:  # a workload role: every session is the role
            name = rng.choice(names)
            out[("aws-role", account, name)] = _aws_calls(
                lambda r, a=account, n=name: AwsIdentity.assumed_role(a, n, f"i-0{r.randrange(16**8):08x}"))
        elif kind == 2:  # an Identity Center person within a permission set
            pset, email = rng.choice(("ReadOnly", "Admin")), rng.choice(people)
            out[("aws-sso", account, pset, email)] = _aws_calls(
                lambda r, a=account, p=pset, e=email: AwsIdentity.sso_user(a, p, e))
        elif kind == 3:
            service = rng.choice(("rds.amazonaws.com", "lambda.amazonaws.com"))
            out[("aws-service", service)] = _aws_calls(lambda r, a=account, s=service: AwsIdentity.aws_service(s, a))
        elif kind == 4:  # a person: same identity through the portal, the CLI or PowerShell, short or URI claims
            email = rng.choice(people)
            out[("person", email)] = _azure_calls(person=email)  # a person is their address on every cloud
        elif kind == 5:  # a Microsoft-account guest is another person than the member of the same name
            email = rng.choice(people).replace("@example.com", "@outlook.com")
            out[("azure-guest", email)] = _azure_calls(person=f"live.com#{email}")
        elif kind == 6:
            name = rng.choice(names)
            out[("azure-sp", name)] = _azure_calls(make=lambda n=name: AzureIdentity.service_principal(n))
        elif kind == 7:
            name = rng.choice(names)
            out[("azure-mi", name)] = _azure_calls(
                make=lambda n=name: AzureIdentity.managed_identity(n, VAULT.subscription_id, VAULT.resource_group))
        else:
            email = rng.choice(people)
            sa = rng.random() < 0.5
            who = GcpPrincipal.service_account(email.split("@")[0], PROJECT.id) if sa else GcpPrincipal.user(email)
            out[("gcp-sa" if sa else "person", who.email)] = _gcp_calls(who)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_principal_one_identity_and_never_shared(es, seed: int) -> None:
    rng = random.Random(seed)
    principals = _principals(rng)
    keys, docs = [], []
    for key, shape in principals.items():
        for _ in range(rng.randint(2, 5)):
            keys.append(key)
            docs.append(shape(rng, T0 + rng.uniform(0, 86_400)))
    tagged = list(tag_documents(es, docs))
    by_principal: dict[tuple[str, ...], set[str]] = defaultdict(set)
    by_identity: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for key, doc in zip(keys, tagged, strict=True):
        identity = doc["cloud_secrets"].get("identity")
        assert identity, f"{key}: no identity in {doc['cloud_secrets']}"
        assert identity in doc["related"]["user"]
        by_principal[key].add(identity)
        by_identity[identity].add(key)
    split = {k: v for k, v in by_principal.items() if len(v) > 1}
    shared = {i: v for i, v in by_identity.items() if len(v) > 1}
    assert not split, f"one principal, several identities: {split}"
    assert not shared, f"one identity, several principals: {shared}"
    assert len(principals) > 20


def _backtest(es, tmp_path: Path, docs: list[dict[str, Any]]) -> list[Alert]:
    path = tmp_path / "tagged.jsonl"
    docs = sorted(docs, key=lambda d: d["@timestamp"])
    with path.open("wb") as out:
        for doc in tag_documents(es, docs):
            out.write(orjson.dumps(doc) + b"\n")
    return run_file(str(path), package_rules()).alerts


def _harvest_rules(alerts: list[Alert]) -> dict[str, set[str | None]]:
    found: dict[str, set[str | None]] = defaultdict(set)
    for a in alerts:
        found[a.rule].add(a.identity)
    return found


def test_a_harvest_by_one_azure_portal_user_among_twenty_names_the_person(es, tmp_path: Path) -> None:
    rng = random.Random(7)
    users = [AzureIdentity.user(f"user{i:02d}@example.com", app_id=AZURE_PORTAL_APP_ID, uri_claims=True)
             for i in range(20)]
    docs = []
    for i, user in enumerate(users):  # every portal user reads a few secrets of the vault over the day
        for k in range(3):
            t = T0 + rng.uniform(0, 6 * 3600)
            docs.append(keyvault_event("SecretGet", user, VAULT, t, source_ip=f"203.0.113.{i + 1}",
                                       client_info="Mozilla/5.0 Azure Portal", object_name=f"team-{i}-{k}"))
    thief = users[13]
    t = T0 + 3 * 3600
    docs.append(keyvault_event("SecretList", thief, VAULT, t, source_ip="192.0.2.66", client_info="Mozilla/5.0"))
    for k in range(25):
        docs.append(keyvault_event("SecretGet", thief, VAULT, t + 10 + 20 * k, source_ip="192.0.2.66",
                                   client_info="Mozilla/5.0 Azure Portal", object_name=f"prod-secret-{k}"))
    found = _harvest_rules(_backtest(es, tmp_path, docs))
    assert found["bulk_access_distinct_secrets"] == {"user13@example.com"}
    assert found["bulk_access_sequence"] == {"user13@example.com"}
    assert not any(AZURE_PORTAL_APP_ID in ids for ids in found.values())


def test_a_harvest_by_one_sso_user_among_several_names_the_person(es, tmp_path: Path) -> None:
    rng = random.Random(8)
    people = [AwsIdentity.sso_user(ACCOUNTS[0], "Developer", f"dev{i}@example.com") for i in range(8)]
    docs = []
    for i, person in enumerate(people):  # each developer reads their team's secrets during the day
        for k in range(6):
            arn = secret_arn(ACCOUNTS[0], REGION, f"team{i}/secret-{k % 3}")
            docs.append(secrets_manager_event("GetSecretValue", person, T0 + rng.uniform(0, 6 * 3600),
                                              secret_id=arn, source_address=f"198.51.100.{i + 1}"))
    thief = people[5]
    t = T0 + 2 * 3600
    for k in range(25):
        arn = secret_arn(ACCOUNTS[0], REGION, f"prod/secret-{k}")
        docs.append(secrets_manager_event("GetSecretValue", thief, t + 15 * k, secret_id=arn,
                                          source_address="192.0.2.77"))
    found = _harvest_rules(_backtest(es, tmp_path, docs))
    name = f"{ACCOUNTS[0]}:role/{thief.name}/dev5@example.com"
    assert thief.canonical == name
    assert found["bulk_access_distinct_secrets"] == {name}
    assert found["bulk_access_sequence"] == {name}


def test_one_app_polling_one_secret_by_any_id_form_stays_below_the_distinct_secrets_rule(es, tmp_path: Path) -> None:
    app = AwsIdentity.assumed_role(ACCOUNTS[0], "payments-api", "i-0a1b2c3d4e5f60718")
    arn = secret_arn(ACCOUNTS[0], REGION, "prod/payments/api-key")
    forms = (arn, partial_arn(arn), secret_name(arn))
    gcp_app = GcpPrincipal.service_account("payments", PROJECT.id)
    docs = []
    for k in range(60):  # every minute for an hour, cycling through the three forms
        t = T0 + 60 * k
        docs.append(secrets_manager_event("GetSecretValue", app, t, secret_id=forms[k % 3], source_address="10.0.0.5",
                                          region=REGION))
        # a read whose id is not logged: one call, not a new secret
        nameless = secrets_manager_event("GetSecretValue", app, t + 1, source_address="10.0.0.5", region=REGION)
        docs.append(nameless)
        # a regional Google Cloud secret
        regional = secret_manager_event("AccessSecretVersion", gcp_app, PROJECT, t + 2, secret="api-key",
                                        caller_ip="10.0.0.6")
        regional["gcp"]["audit"]["resource_name"] = (
            f"projects/{PROJECT.number}/locations/europe-west1/secrets/api-key/versions/{k % 4 + 1}")
        docs.append(regional)
    found = _harvest_rules(_backtest(es, tmp_path, docs))
    assert "bulk_access_distinct_secrets" not in found
    tagged = list(tag_documents(es, docs))
    assert {str(d["cloud_secrets"].get("secret", {}).get("id")) for d in tagged[0::3]} == {
        str([partial_arn(arn)])}
    assert all("secret" not in d["cloud_secrets"] for d in tagged[1::3])
