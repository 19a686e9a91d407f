"""The harder simulator (issue 14): GeoIP enrichment, sign-in events, attacks by identities with a history."""

from __future__ import annotations

import pytest

from cloud_secrets.evaluation.simulate import Options, generate
from cloud_secrets.evaluation.simulate.attacks import ATTACKS, HARVEST_SIZES
from cloud_secrets.evaluation.simulate.world import build_world
from cloud_secrets.evaluation.upstream.aws import (
    AwsIdentity,
    assume_role_event,
    console_login_event,
    secrets_manager_event,
)
from cloud_secrets.evaluation.upstream.gcp import GcpPrincipal, GcpProject, secret_manager_event, token_event
from cloud_secrets.evaluation.upstream.geo import geo_fields

PERSON = AwsIdentity.assumed_role("111122223333", "AWSReservedSSO_Dev_0123", "ana@example.com", mfa=True)


def test_geoip_fields_have_the_processors_shape_and_skip_private_addresses() -> None:
    # Shape of the integrations' geoip + GeoLite2-ASN processors after their renames (asn -> number).
    found = geo_fields("203.0.113.200")
    assert found is not None
    assert set(found["geo"]) == {"continent_name", "country_iso_code", "country_name", "region_iso_code",
                                 "region_name", "city_name", "location"}
    assert isinstance(found["as"]["number"], int) and found["as"]["organization"]["name"]
    assert geo_fields("10.1.2.3") is None and geo_fields("ecs-tasks.amazonaws.com") is None
    doc = secrets_manager_event("GetSecretValue", PERSON, 1772409600, secret_id="db", source_address="198.51.100.7",
                                user_agent="x")
    assert doc["source"]["as"]["number"] == geo_fields("198.51.100.7")["as"]["number"]  # type: ignore[index]
    private = secrets_manager_event("GetSecretValue", PERSON, 1772409600, secret_id="db", source_address="10.0.0.9",
                                    user_agent="x")
    assert "as" not in private["source"] and "geo" not in private["source"]
    gcp = secret_manager_event("AccessSecretVersion", GcpPrincipal.user("a@example.com"),
                               GcpProject("p", "1"), 1772409600, secret="s", caller_ip="203.0.113.5")
    assert gcp["source"]["geo"]["country_iso_code"]


def test_console_login_joins_the_session_reads_by_user_id_and_address() -> None:
    login = console_login_event(PERSON, 1772409600, source_address="203.0.113.160", user_agent="Mozilla/5.0")
    read = secrets_manager_event("GetSecretValue", PERSON, 1772409660, secret_id="db",
                                 source_address="203.0.113.160", user_agent="Mozilla/5.0")
    assert login["event"]["action"] == "ConsoleLogin" and login["event"]["category"] == ["authentication"]
    assert login["aws"]["cloudtrail"]["event_type"] == "AwsConsoleSignIn"
    assert "access_key_id" not in login["aws"]["cloudtrail"]["user_identity"]
    assert login["user"]["id"] == read["user"]["id"] and login["source"]["ip"] == read["source"]["ip"]


def test_role_assumption_and_token_creation_name_the_principal_they_hand_out() -> None:
    role = AwsIdentity.assumed_role("111122223333", "deployer", "s1")
    doc = assume_role_event(AwsIdentity.iam_user("111122223333", "jenkins"), 1772409600, role=role,
                            source_address="198.51.100.210", user_agent="x")
    flat = doc["aws"]["cloudtrail"]["flattened"]
    assert flat["request_parameters"]["roleArn"] == role.role_arn
    assert flat["response_elements"]["credentials"]["accessKeyId"] == role.access_key_id
    assert doc["user"]["name"] == "jenkins" and doc["event"]["category"] == ["authentication"]
    sa = GcpPrincipal.service_account("deployer", "p")
    tok = token_event("GenerateAccessToken", GcpPrincipal.user("a@example.com"), GcpProject("p", "1"), 1772409600,
                      target=sa, caller_ip="203.0.113.170")
    assert tok["event"]["action"] == "GenerateAccessToken" and tok["service"]["name"] == "iamcredentials.googleapis.com"
    assert tok["gcp"]["audit"]["resource_name"] == f"projects/-/serviceAccounts/{sa.email}"
    assert tok["event"]["outcome"] == "success" and tok["source"]["as"]["number"]


def test_size_sweep_scenarios_say_their_size_and_read_that_many_secrets() -> None:
    names = [a.name for a in ATTACKS if a.name.startswith("existing_app_harvest_")]
    assert names == [f"existing_app_harvest_{n:02d}" for n in HARVEST_SIZES]
    for n in HARVEST_SIZES:
        docs = [d for d, label in generate(f"existing_app_harvest_{n:02d}", Options()) if label.kind == "attack"]
        ids = {d["aws"]["cloudtrail"]["flattened"]["request_parameters"]["secretId"] for d in docs}
        assert len(ids) == n


@pytest.mark.parametrize("name", ["existing_app_harvest_15", "rotating_address_harvest", "slow_harvest_hourly",
                                  "list_then_read_small", "seed_aws_list_get_known", "low_and_slow_known",
                                  "console_login_then_harvest", "gcp_impersonation_then_harvest"])
def test_harder_attacks_use_identities_with_a_benign_history(name: str) -> None:
    attack_ids = {label.identity for _, label in generate(name, Options()) if label.kind == "attack"}
    benign = {label.identity for _, label in generate("benign_week", Options(days=1))}
    assert attack_ids and attack_ids & benign, (name, attack_ids)


def test_rotating_harvest_changes_address_on_every_call() -> None:
    ips = [d["source"]["ip"] for d, label in generate("rotating_address_harvest", Options()) if label.kind == "attack"]
    assert len(ips) == 15 and len(set(ips)) >= 12  # random draws from ~150 addresses may repeat once or twice


def test_benign_world_has_the_look_alikes() -> None:
    actors = {a.actor.split(":")[0] + ":" + a.actor.split(":")[1].split("-")[0] for a in build_world(0).actors}
    for wanted in ("k8s-sync:external", "k8s-sync:secrets", "aws-app:cache", "aws-app:crash", "aws-ci:cross",
                   "gcp-iac:impersonating", "person:sso"):
        assert wanted in actors, wanted
