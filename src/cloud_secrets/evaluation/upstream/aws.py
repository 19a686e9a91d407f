"""`aws.cloudtrail` documents as Elastic's AWS integration writes them (before any `@custom` pipeline).

Facts followed (see docs/reference/upstream-datasets.md and the integration's pipeline tests):
`event.action` = eventName, `event.provider` = eventSource, `source.address` = sourceIPAddress and
`source.ip` only when that is an IP; `user.name` = IAM user name, or the role name for an AssumedRole
(`user.id` = `AROA...:<session>`, a session name with `@` also in `user.email`); AWSService callers get no
`user.*` and `service.name` = the invoking service. `aws.cloudtrail.request_parameters` is the Java
`Map.toString()` rendering of requestParameters, `aws.cloudtrail.flattened.request_parameters` the object.
`event.kind: event`, `event.type: [info]`, `event.outcome` = failure when an error code or message exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from ...timestamps import Timestamp, epoch_seconds, iso
from ._common import (
    ECS_VERSION,
    data_stream,
    is_ip,
    java_to_string,
    stable_key,
    stable_letters,
    stable_uuid,
    stable_uuid_pair,
)
from .geo import enrich_source

DATASET = "aws.cloudtrail"
SECRETS_MANAGER = "secretsmanager.amazonaws.com"

AwsIdentityType = Literal["IAMUser", "AssumedRole", "AWSService", "WebIdentityUser"]

# ECS categorisation the integration adds for a few actions (everything else: kind event, type info).
_CATEGORIES: dict[str, tuple[list[str], list[str]]] = {
    "AssumeRole": (["authentication"], ["info"]),
    "ConsoleLogin": (["authentication"], ["info"]),
    "GetUser": (["iam"], ["user", "info"]),
    "ListUsers": (["iam"], ["user", "info"]),
    "ListGroups": (["iam"], ["group", "info"]),
}

_READ_ONLY_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Lookup", "Head", "Decrypt", "Generate")

# Secrets Manager actions whose request names exactly one secret with `secretId`.
_SECRET_ID_ACTIONS = frozenset(
    {
        "GetSecretValue",
        "DescribeSecret",
        "GetResourcePolicy",
        "ListSecretVersionIds",
        "PutSecretValue",
        "UpdateSecret",
        "UpdateSecretVersionStage",
        "RotateSecret",
        "DeleteSecret",
        "RestoreSecret",
        "TagResource",
        "CancelRotateSecret",
    }
)


@dataclass(frozen=True, slots=True)
class AwsIdentity:
    """A CloudTrail `userIdentity`. Build one with the class methods, not the constructor.

    `name` is the IAM user name (IAMUser), the role name (AssumedRole), the invoking service host
    (AWSService) or the federated user name (WebIdentityUser).
    """

    type: AwsIdentityType
    account_id: str
    name: str
    session_name: str | None = None
    access_key_id: str | None = None
    invoked_by: str | None = None
    mfa: bool = False
    role_path: str = "/"

    @classmethod
    def iam_user(cls, account_id: str, user_name: str, *, access_key_id: str | None = None) -> AwsIdentity:
        """A long-term IAM user; the access key defaults to a stable `AKIA...` id."""
        key = access_key_id or "AKIA" + stable_key(16, "akia", account_id, user_name)
        return cls("IAMUser", account_id, user_name, access_key_id=key)

    @classmethod
    def assumed_role(
        cls,
        account_id: str,
        role_name: str,
        session_name: str,
        *,
        access_key_id: str | None = None,
        invoked_by: str | None = None,
        mfa: bool = False,
        role_path: str = "/",
    ) -> AwsIdentity:
        """Temporary credentials of `role_name` with session `session_name` (`ASIA...` key)."""
        key = access_key_id or "ASIA" + stable_key(16, "asia", account_id, role_name, session_name)
        return cls("AssumedRole", account_id, role_name, session_name, key, invoked_by, mfa, role_path)

    @classmethod
    def aws_service(cls, service: str, account_id: str) -> AwsIdentity:
        """An AWS service acting on its own (`userIdentity.type: AWSService`, `invokedBy: service`)."""
        return cls("AWSService", account_id, service, invoked_by=service)

    @classmethod
    def web_identity(cls, account_id: str, user_name: str, provider: str) -> AwsIdentity:
        """An OIDC-federated caller of AssumeRoleWithWebIdentity (`provider` e.g. the GitHub token host)."""
        return cls("WebIdentityUser", account_id, user_name, session_name=provider)

    def with_invoked_by(self, service: str | None) -> AwsIdentity:
        """The same credentials used by an AWS service on the caller's behalf (`invokedBy`)."""
        return dataclasses.replace(self, invoked_by=service)

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role{self.role_path}{self.name}"

    @property
    def role_id(self) -> str:
        return "AROA" + stable_key(17, "aroa", self.account_id, self.name)

    @property
    def principal_id(self) -> str:
        if self.type == "IAMUser":
            return "AIDA" + stable_key(17, "aida", self.account_id, self.name)
        if self.type == "AssumedRole":
            return f"{self.role_id}:{self.session_name}"
        if self.type == "WebIdentityUser":
            return f"{self.session_name}:sts.amazonaws.com:{self.name}"
        return ""

    @property
    def arn(self) -> str | None:
        if self.type == "IAMUser":
            return f"arn:aws:iam::{self.account_id}:user/{self.name}"
        if self.type == "AssumedRole":
            return f"arn:aws:sts::{self.account_id}:assumed-role/{self.name}/{self.session_name}"
        return None

    @property
    def is_person_session(self) -> bool:
        """An AssumedRole session that is a person: an IAM Identity Center permission set's role
        (`AWSReservedSSO_*`) or a session named by an email address (SAML federation)."""
        session = self.session_name or ""
        return self.type == "AssumedRole" and (self.name.startswith("AWSReservedSSO_") or "@" in session)

    @property
    def canonical(self) -> str:
        """The identity the tagging pipeline derives: one per principal, qualified by its account.

        `<account>:user/<name>`, `<account>:role/<role>` (every session of a workload role),
        `<account>:role/<role>/<session>` for a person's session, the service for AWSService callers, and
        `<account>:<user.name>` for callers without an ARN (WebIdentityUser).
        """
        a = self.account_id
        if self.type == "AWSService":
            return self.name
        if self.type == "IAMUser":
            return f"{a}:user/{self.name}"
        if self.type == "AssumedRole":
            return f"{a}:role/{self.name}/{self.session_name}" if self.is_person_session else f"{a}:role/{self.name}"
        return f"{a}:{self.name}"

    @classmethod
    def sso_user(cls, account_id: str, permission_set: str, email: str, *, mfa: bool = True) -> AwsIdentity:
        """A person signed in through IAM Identity Center: the permission set's reserved role
        `AWSReservedSSO_<set>_<16 hex>` (path `/aws-reserved/sso.amazonaws.com/`), session = the user name."""
        role = f"AWSReservedSSO_{permission_set}_{stable_key(16, 'sso', account_id, permission_set).lower()}"
        return cls.assumed_role(account_id, role, email, mfa=mfa, role_path=SSO_ROLE_PATH)


SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"


def partial_arn(arn: str) -> str:
    """A complete secret ARN without its `-` + 6-character suffix (what the pipeline's secret id is)."""
    return arn[:-7] if len(arn) > 7 and arn[-7] == "-" else arn


def secret_name(arn: str) -> str:
    """The secret's name from its complete ARN."""
    return partial_arn(arn).split(":secret:", 1)[1]


def secret_arn(account_id: str, region: str, name: str) -> str:
    """`arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf` with a stable 6-letter suffix."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:{name}-{stable_letters(6, account_id, name)}"


def _region_of(secret_id: str | None, default: str) -> str:
    if secret_id and secret_id.startswith("arn:aws:"):
        parts = secret_id.split(":")
        if len(parts) > 3 and parts[3]:
            return parts[3]
    return default


def _user_fields(identity: AwsIdentity) -> tuple[dict[str, Any] | None, list[str] | None]:
    t = identity.type
    if t == "IAMUser":
        return {"name": identity.name, "id": identity.principal_id}, [identity.name]
    if t == "AssumedRole":
        session = identity.session_name or ""
        user: dict[str, Any] = {"name": identity.name, "id": identity.principal_id}
        related = [session]
        if "@" in session:
            user["email"] = session
            related.append(session.split("@", 1)[0])
        related += [identity.principal_id, identity.name]
        return user, related
    if t == "WebIdentityUser":
        return {"name": identity.name, "id": identity.principal_id}, [identity.name]
    return None, None


@lru_cache(maxsize=4096)
def _hour_iso(hour: int) -> str:
    return iso(hour * 3600)


def _user_identity(identity: AwsIdentity, ts: float) -> dict[str, Any]:
    ui: dict[str, Any] = {"type": identity.type}
    arn = identity.arn
    if arn:
        ui["arn"] = arn
    if identity.access_key_id and identity.type in ("IAMUser", "AssumedRole"):
        ui["access_key_id"] = identity.access_key_id
    if identity.type == "AssumedRole":
        ui["session_context"] = {
            "mfa_authenticated": "true" if identity.mfa else "false",
            "creation_date": _hour_iso(int(ts // 3600)),
            "session_issuer": {
                "type": "Role",
                "arn": identity.role_arn,
                "principal_id": identity.role_id,
                "account_id": identity.account_id,
            },
        }
    if identity.invoked_by:
        ui["invoked_by"] = identity.invoked_by
    return ui


def event_ids(action: str, identity: AwsIdentity, t: float, rendered_params: str | None) -> tuple[str, str]:
    """The (`event.id`, `request_id`) `cloudtrail_event` derives when no `event_id` is given."""
    return stable_uuid_pair(
        "ct", action, identity.account_id, identity.name, identity.session_name, identity.invoked_by, t, rendered_params
    )


def cloudtrail_event(
    action: str,
    identity: AwsIdentity,
    ts: Timestamp,
    *,
    event_source: str,
    region: str = "us-east-1",
    source_address: str | None = None,
    user_agent: str | None = None,
    request_parameters: Mapping[str, Any] | None = None,
    response_elements: Mapping[str, Any] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    read_only: bool | None = None,
    recipient_account_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One CloudTrail management event of any service, as the integration indexes it.

    `source_address` is CloudTrail's sourceIPAddress: an IP, or a service host such as
    `ecs-tasks.amazonaws.com` (then `source.ip` is absent). It defaults to the identity's `invoked_by`.
    `user_agent` defaults to the invoking service too. Pass `event_id` to pin `event.id`; otherwise it
    is derived from the other arguments.
    """
    t = epoch_seconds(ts)
    address = source_address or identity.invoked_by
    if not address:
        raise ValueError("cloudtrail_event needs source_address unless the identity has invoked_by")
    agent = user_agent or identity.invoked_by or address
    account = identity.account_id
    rendered_params = java_to_string(request_parameters) if request_parameters else None
    if event_id:
        eid, request_id = event_id, stable_uuid("req", event_id)
    else:
        eid, request_id = event_ids(action, identity, t, rendered_params)
    category_type = _CATEGORIES.get(action)
    event: dict[str, Any] = {
        "action": action,
        "provider": event_source,
        "kind": "event",
        "type": list(category_type[1]) if category_type else ["info"],
        "outcome": "failure" if (error_code or error_message) else "success",
        "id": eid,
        "dataset": DATASET,
        "module": "aws",
    }
    if category_type:
        event["category"] = list(category_type[0])
    trail: dict[str, Any] = {
        "event_version": "1.11",
        "event_type": "AwsApiCall",
        "event_category": "Management",
        "management_event": True,
        "read_only": read_only if read_only is not None else action.startswith(_READ_ONLY_PREFIXES),
        "recipient_account_id": recipient_account_id or account,
        "request_id": request_id,
        "user_identity": _user_identity(identity, t),
    }
    flattened: dict[str, Any] = {}
    if request_parameters and rendered_params:
        trail["request_parameters"] = rendered_params
        if len(rendered_params) < 32766:
            flattened["request_parameters"] = _plain(request_parameters)
    if response_elements:
        rendered = java_to_string(response_elements)
        trail["response_elements"] = rendered
        if len(rendered) < 32766:
            flattened["response_elements"] = _plain(response_elements)
    if flattened:
        trail["flattened"] = flattened
    if error_code:
        trail["error_code"] = error_code
    if error_message:
        trail["error_message"] = error_message
    doc: dict[str, Any] = {
        "@timestamp": iso(t),
        "data_stream": data_stream(DATASET),
        "ecs": {"version": ECS_VERSION},
        "tags": ["forwarded", "aws-cloudtrail"],
        "event": event,
        "cloud": {
            "provider": "aws",
            "region": region,
            "account": {"id": account},
            "service": {"name": event_source.split(".", 1)[0]},
        },
        "source": {"address": address},
        "user_agent": {"original": agent},
        "aws": {"cloudtrail": trail},
    }
    if is_ip(address):
        doc["source"]["ip"] = address
        doc["related"] = {"ip": [address]}
        enrich_source(doc)
    user, related_users = _user_fields(identity)
    if user:
        doc["user"] = user
        doc.setdefault("related", {})["user"] = related_users
    if identity.type == "AWSService":
        doc["service"] = {"name": identity.name}
    if event_source.endswith(".amazonaws.com") and is_ip(address):
        doc["tls"] = {
            "version": "1.3",
            "version_protocol": "tls",
            "cipher": "TLS_AES_128_GCM_SHA256",
            "client": {"server_name": f"{event_source.split('.', 1)[0]}.{region}.amazonaws.com"},
        }
    return doc


def _plain(value: Any) -> Any:
    """A JSON-ready deep copy (tuples to lists) so documents never share mutable parts."""
    if type(value) is dict and all(type(v) is str for v in value.values()):
        return dict(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def access_denied_message(identity: AwsIdentity, action: str, resource: str, service: str = "secretsmanager") -> str:
    """The errorMessage CloudTrail records for an IAM denial of `<service>:<action>` (`secretsmanager`, `ssm`)."""
    who = identity.arn or identity.name
    return (
        f"User: {who} is not authorized to perform: {service}:{action} on resource: {resource} "
        f"because no identity-based policy allows the {service}:{action} action"
    )


def secrets_manager_event(
    action: str,
    identity: AwsIdentity,
    ts: Timestamp,
    *,
    secret_id: str | None = None,
    secret_ids: Sequence[str] | None = None,
    filters: Sequence[Mapping[str, Any]] | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
    version_stage: str | None = None,
    version_id: str | None = None,
    region: str | None = None,
    source_address: str | None = None,
    user_agent: str | None = None,
    denied: bool = False,
    error_code: str | None = None,
    error_message: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One Secrets Manager API call (`GetSecretValue`, `BatchGetSecretValue`, `ListSecrets`, ...).

    - `secret_id`: the `secretId` (ARN or name, as the caller gave it) of single-secret actions.
    - `secret_ids`: `secretIdList` of BatchGetSecretValue; or give `filters` (`[{"key": "tag-key",
      "values": ["x"]}]`) with `max_results` / `next_token` instead (BatchGetSecretValue, ListSecrets).
    - `version_stage`: e.g. `AWSPENDING` / `AWSCURRENT` (GetSecretValue, PutSecretValue).
    - `denied=True` records an IAM `AccessDenied` (event.outcome failure); or set `error_code` /
      `error_message` yourself (e.g. `ResourceNotFoundException`).
    - `region` defaults to the region in the secret ARN, else `us-east-1`.
    """
    params: dict[str, Any] = {}
    if action == "BatchGetSecretValue":
        if secret_ids:
            params["secretIdList"] = list(secret_ids)
    elif action == "CreateSecret":
        if secret_id:
            params["name"] = secret_id
    elif secret_id is not None:
        params["secretId"] = secret_id
    if filters:
        params["filters"] = [{"key": f["key"], "values": list(f["values"])} for f in filters]
    if max_results is not None:
        params["maxResults"] = max_results
    if next_token:
        params["nextToken"] = next_token
    if version_id:
        params["versionId"] = version_id
    if version_stage:
        if action == "PutSecretValue":
            params["versionStages"] = [version_stage]
            params["clientRequestToken"] = stable_uuid("crt", secret_id, epoch_seconds(ts))
        elif action == "UpdateSecretVersionStage":
            params["versionStage"] = version_stage
        else:
            params["versionStage"] = version_stage
    elif action in ("PutSecretValue", "CreateSecret"):
        params["clientRequestToken"] = stable_uuid("crt", secret_id, epoch_seconds(ts))
    first = secret_id or (secret_ids[0] if secret_ids else None)
    the_region = region or _region_of(first, "us-east-1")
    if denied and not error_code:
        error_code = "AccessDenied"
        error_message = error_message or access_denied_message(identity, action, first or "*")
    response: dict[str, Any] | None = None
    if action == "PutSecretValue" and not (error_code or error_message) and secret_id:
        response = {
            "arn": secret_id if secret_id.startswith("arn:") else None,
            "versionId": stable_uuid("ver", secret_id, epoch_seconds(ts)),
            "versionStages": [version_stage or "AWSCURRENT"],
        }
        response = {k: v for k, v in response.items() if v is not None}
    return cloudtrail_event(
        action,
        identity,
        ts,
        event_source=SECRETS_MANAGER,
        region=the_region,
        source_address=source_address,
        user_agent=user_agent,
        request_parameters=params or None,
        response_elements=response,
        error_code=error_code,
        error_message=error_message,
        event_id=event_id,
    )


def batch_companion_events(
    identity: AwsIdentity,
    ts: Timestamp,
    secret_arns: Sequence[str],
    *,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """The per-secret `GetSecretValue` entries Secrets Manager logs for one BatchGetSecretValue call.

    AWS documents that BatchGetSecretValue "generates CloudTrail GetSecretValue log entries for each
    secret you request". Their exact shape is not published; we model them as made by Secrets Manager
    on the caller's behalf: the caller's `userIdentity` with `invokedBy: secretsmanager.amazonaws.com`,
    and `sourceIPAddress` / `userAgent` = `secretsmanager.amazonaws.com` (so no `source.ip`).
    """
    on_behalf = identity.with_invoked_by(SECRETS_MANAGER)
    t = epoch_seconds(ts)
    return [
        secrets_manager_event(
            "GetSecretValue",
            on_behalf,
            t + 0.005 * (i + 1),
            secret_id=arn,
            region=region,
            source_address=SECRETS_MANAGER,
            user_agent=SECRETS_MANAGER,
        )
        for i, arn in enumerate(secret_arns)
    ]


SIGNIN = "signin.amazonaws.com"
STS = "sts.amazonaws.com"


def console_login_event(
    identity: AwsIdentity,
    ts: Timestamp,
    *,
    source_address: str,
    user_agent: str,
    success: bool = True,
    mfa: bool = True,
) -> dict[str, Any]:
    """A `ConsoleLogin` sign-in event (`eventSource: signin.amazonaws.com`, `eventType: AwsConsoleSignIn`):
    an IAM user's password sign-in, or a federated / IAM Identity Center session (AssumedRole) opening
    the console. The sign-in carries the same `userIdentity` (so the same `user.id`, the principal id) as
    the calls the session makes afterwards, and no access key. Success or failure is in
    responseElements `{"ConsoleLogin": "Success"}`; a failure also has errorMessage "Failed authentication"
    (AWS CloudTrail User Guide, "AWS console sign-in events")."""
    ident = dataclasses.replace(identity, access_key_id=None)
    doc = cloudtrail_event(
        "ConsoleLogin",
        ident,
        ts,
        event_source=SIGNIN,
        region="us-east-1",
        source_address=source_address,
        user_agent=user_agent,
        response_elements={"ConsoleLogin": "Success" if success else "Failure"},
        error_message=None if success else "Failed authentication",
        read_only=False,
    )
    trail = doc["aws"]["cloudtrail"]
    trail["event_type"] = "AwsConsoleSignIn"
    trail["additional_eventdata"] = {
        "login_to": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
        "mobile_version": False,
        "mfa_used": mfa,
    }
    return doc


def assume_role_event(
    caller: AwsIdentity,
    ts: Timestamp,
    *,
    role: AwsIdentity,
    source_address: str,
    user_agent: str,
    action: str = "AssumeRole",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """An STS `AssumeRole` / `AssumeRoleWithWebIdentity` / `AssumeRoleWithSAML` call by `caller` that returns
    the temporary credentials of `role` (an AssumedRole identity: its role ARN, session name and `ASIA...`
    key appear in requestParameters and responseElements). The event's `userIdentity` is the caller's (for
    the web-identity and SAML actions, the federated user); the session's own calls later carry `role`'s
    principal id and access key."""
    params: dict[str, Any] = {"roleArn": role.role_arn, "roleSessionName": role.session_name, "durationSeconds": 3600}
    t = epoch_seconds(ts)
    response = {
        "credentials": {
            "accessKeyId": role.access_key_id,
            "sessionToken": "<redacted>",
            "expiration": iso(t + 3600),
        },
        "assumedRoleUser": {"assumedRoleId": role.principal_id, "arn": role.arn},
    }
    return cloudtrail_event(
        action,
        caller,
        ts,
        event_source=STS,
        region=region,
        source_address=source_address,
        user_agent=user_agent,
        request_parameters=params,
        response_elements=response,
        read_only=True,
    )
