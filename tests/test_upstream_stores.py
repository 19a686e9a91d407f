"""The document builders of the two further stores follow what the official integrations write.

Vault: elastic/integrations `packages/hashicorp_vault/data_stream/audit` (package 1.26.0) pipeline and its
`test-audit.log-expected.json`. Parameter Store: the `aws.cloudtrail` integration's rendering of CloudTrail's
`requestParameters` and AWS's parameter ARN format (see the builders' docstrings).
"""

from __future__ import annotations

import re

import pytest

from cloud_secrets.evaluation.upstream.aws import AwsIdentity
from cloud_secrets.evaluation.upstream.ssm import parameter_arn, parameter_event
from cloud_secrets.evaluation.upstream.vault import (
    DENIED_REQUEST,
    DENIED_RESPONSE,
    VaultPrincipal,
    audit_events,
    kv_path,
)
from cloud_secrets.fieldpath import first_value, leaves

T0 = 1772409600.0
HMAC = re.compile(r"^hmac-sha256:[0-9a-f]{64}$")


def test_a_vault_call_is_a_request_entry_then_a_response_entry_of_one_request_id() -> None:
    request, response = audit_events("read", kv_path("secret", "apps/db"), VaultPrincipal.oidc("alice@example.com"),
                                     T0, response_data={"data": {"password": "s3cret", "port": 5432}})
    assert [first_value(d, "hashicorp_vault.audit.type") for d in (request, response)] == ["request", "response"]
    assert request["event"]["id"] == response["event"]["id"] == request["hashicorp_vault"]["audit"]["request"]["id"]
    assert "response" not in request["hashicorp_vault"]["audit"]
    assert request["@timestamp"] < response["@timestamp"]
    data = response["hashicorp_vault"]["audit"]["response"]["data"]["data"]
    assert HMAC.match(data["password"]) and data["port"] == 5432  # strings HMAC'd, keys and numbers in clear
    assert all("s3cret" not in str(v) for d in (request, response) for _, v in leaves(d))
    for doc in (request, response):
        assert doc["event"]["action"] == "read" and doc["event"]["type"] == ["info", "start"]
        assert doc["event"]["category"] == ["authentication"] and doc["event"]["outcome"] == "success"
        assert doc["data_stream"]["dataset"] == "hashicorp_vault.audit"
        assert HMAC.match(doc["hashicorp_vault"]["audit"]["request"]["client_token"])


def test_vault_people_and_workloads_as_the_integration_names_them() -> None:
    person = audit_events("read", "secret/data/x", VaultPrincipal.oidc("bob@example.com"), T0)[0]
    assert person["hashicorp_vault"]["audit"]["auth"]["display_name"] == "oidc-bob@example.com"
    assert person["user"]["email"] == "bob@example.com" and "name" not in person["user"]  # never user.name
    workload = audit_events("list", "secret/metadata/apps/", VaultPrincipal.approle("billing"), T0)[0]
    auth = workload["hashicorp_vault"]["audit"]["auth"]
    assert auth["display_name"] == "approle" and auth["metadata"] == {"role_name": "billing"}
    assert "user" not in workload
    bare = audit_events("read", "secret/foo", VaultPrincipal.token(), T0, mount_type="kv")[0]
    assert bare["hashicorp_vault"]["audit"]["auth"]["display_name"] == "token"
    assert "entity_id" not in bare["hashicorp_vault"]["audit"]["auth"]
    assert VaultPrincipal.oidc("a@x.io").entity_id == VaultPrincipal.oidc("a@x.io").entity_id != \
        VaultPrincipal.oidc("b@x.io").entity_id


def test_a_denied_vault_call_fails_on_both_entries() -> None:
    request, response = audit_events("read", "database/creds/readonly", VaultPrincipal.approle("etl"), T0,
                                     mount_type="database", denied=True)
    assert request["hashicorp_vault"]["audit"]["error"] == request["message"] == DENIED_REQUEST
    assert response["hashicorp_vault"]["audit"]["error"] == response["message"] == DENIED_RESPONSE
    assert request["event"]["outcome"] == response["event"]["outcome"] == "failure"
    assert HMAC.match(response["hashicorp_vault"]["audit"]["response"]["data"]["error"])


@pytest.mark.parametrize(("operation", "types"), [
    ("read", ["info", "start"]), ("list", ["info", "start"]), ("update", ["info"]), ("delete", ["info", "end"]),
])
def test_vault_event_types_follow_the_operation(operation: str, types: list[str]) -> None:
    assert all(d["event"]["type"] == types
               for d in audit_events(operation, "secret/data/x", VaultPrincipal.approle("a"), T0))


def test_kv_paths_of_both_engine_versions() -> None:
    assert kv_path("secret", "apps/db", version=1) == "secret/apps/db"
    assert kv_path("secret", "apps/db") == "secret/data/apps/db"
    assert kv_path("kv", "apps/", metadata=True) == "kv/metadata/apps/"


def test_parameter_arns_never_double_the_leading_slash() -> None:
    assert parameter_arn("111122223333", "eu-west-1", "/prod/db/password") == \
        "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/db/password"
    assert parameter_arn("111122223333", "eu-west-1", "feature-flag") == \
        "arn:aws:ssm:eu-west-1:111122223333:parameter/feature-flag"


def test_a_parameter_read_as_cloudtrail_and_the_integration_render_it() -> None:
    who = AwsIdentity.assumed_role("111122223333", "batch-runner", "i-0a1b")
    doc = parameter_event("GetParameters", who, T0, names=["/prod/db/user", "/prod/db/password"],
                          with_decryption=True, source_address="10.0.8.15")
    trail = doc["aws"]["cloudtrail"]
    assert doc["event"]["provider"] == "ssm.amazonaws.com" and doc["event"]["action"] == "GetParameters"
    assert trail["read_only"] is True and trail["event_category"] == "Management"
    assert trail["flattened"]["request_parameters"] == {"names": ["/prod/db/user", "/prod/db/password"],
                                                        "withDecryption": True}
    assert trail["request_parameters"] == "{names=[/prod/db/user, /prod/db/password], withDecryption=true}"
    assert "response_elements" not in trail  # values are never logged
    plain = parameter_event("GetParameter", who, T0, name="/prod/flag", source_address="10.0.8.15")
    assert "withDecryption" not in plain["aws"]["cloudtrail"]["flattened"]["request_parameters"]


def test_a_denied_parameter_read_names_the_ssm_action_and_the_parameter_arn() -> None:
    who = AwsIdentity.iam_user("111122223333", "terraform")
    doc = parameter_event("GetParameter", who, T0, name="/DEV/db1/username", with_decryption=True,
                          source_address="198.51.100.7", denied=True)
    assert doc["event"]["outcome"] == "failure"
    message = doc["aws"]["cloudtrail"]["error_message"]
    assert "perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:111122223333:parameter/DEV/db1/username" \
        in message
