"""`gcp.audit` documents as Elastic's Google Cloud integration writes them (before any `@custom` pipeline).

Facts followed: `event.action` = methodName; `event.provider` = the log name suffix (`data_access` for
Secret Manager reads, which need DATA_READ / ADMIN_READ audit logs; `activity` for writes such as
AddSecretVersion); `service.name` = serviceName; `source.ip` = callerIp unless it is `gce-internal-ip` or
`private`; `user_agent.original` = callerSuppliedUserAgent; the principal is `client.user.email` and
`client.user.id`, never `user.*`; `gcp.audit.resource_name`, `gcp.audit.authorization_info`,
`gcp.audit.request` (keys as logged, `@type` included), `gcp.audit.status` for errors; `event.outcome`
from the status code, else the single authorization decision (then also `event.category:
[network, configuration]` and `event.type: [access, allowed|denied]`). The current integration keeps no
`gcp.audit.method_name` (older versions did).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...timestamps import Timestamp, epoch_seconds, iso
from ._common import ECS_VERSION, data_stream, digest, is_ip
from .geo import enrich_source

DATASET = "gcp.audit"
SECRET_MANAGER = "secretmanager.googleapis.com"
SECRET_MANAGER_METHOD_PREFIX = "google.cloud.secretmanager.v1.SecretManagerService."
AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"

PrincipalKind = Literal["user", "service_account", "kubernetes"]


@dataclass(frozen=True, slots=True)
class GcpProject:
    """A project: its id (`example-prod`) and number (what Google writes in most resource names)."""

    id: str
    number: str


@dataclass(frozen=True, slots=True)
class GcpPrincipal:
    """The authenticated caller (`authenticationInfo.principalEmail`)."""

    email: str
    kind: PrincipalKind = "user"

    @classmethod
    def user(cls, email: str) -> GcpPrincipal:
        return cls(email, "user")

    @classmethod
    def service_account(cls, name: str, project_id: str) -> GcpPrincipal:
        """`<name>@<project>.iam.gserviceaccount.com`."""
        return cls(f"{name}@{project_id}.iam.gserviceaccount.com", "service_account")

    @classmethod
    def kubernetes(cls, name: str) -> GcpPrincipal:
        """An in-cluster identity of a GKE audit entry, e.g. `system:serviceaccount:kube-system:x`."""
        return cls(name, "kubernetes")

    @property
    def subject(self) -> str | None:
        if self.kind == "kubernetes":
            return None
        return ("serviceAccount:" if self.kind == "service_account" else "user:") + self.email

    @property
    def canonical(self) -> str:
        """The identity the tagging pipeline derives: the principal email, lower case."""
        return self.email.lower()


def audit_event(
    method: str,
    principal: GcpPrincipal,
    project: GcpProject,
    ts: Timestamp,
    *,
    service_name: str,
    resource_name: str,
    permission: str | None = None,
    authorization_resource: str | None = None,
    resource_type: str | None = None,
    granted: bool = True,
    request: Mapping[str, Any] | None = None,
    caller_ip: str | None = None,
    user_agent: str | None = None,
    status_code: int | None = None,
    status_message: str | None = None,
    log_type: Literal["data_access", "activity", "system_event", "policy"] = "data_access",
    num_response_items: int | None = None,
    insert_id: str | None = None,
    k8s_cluster: str | None = None,
) -> dict[str, Any]:
    """One Cloud Audit Log entry of any service, as the integration indexes it.

    `caller_ip` is requestMetadata.callerIp: an IP, or `gce-internal-ip` / `private` (then no
    `source.ip`). A non-zero `status_code` (7 = PERMISSION_DENIED) makes event.outcome failure.
    `k8s_cluster` marks a GKE audit entry (resource type `k8s_cluster`): the integration then fills
    `orchestrator.*` from `resource_name` (`core/v1/namespaces/<ns>/<type>/<name>`) and keeps no
    `gcp.audit.resource_name`.
    """
    t = epoch_seconds(ts)
    log_name = f"projects/{project.id}/logs/cloudaudit.googleapis.com%2F{log_type}"
    failed = status_code not in (None, 0)
    event: dict[str, Any] = {
        "id": insert_id or insert_id_for(method, principal.email, resource_name, t),
        "kind": "event",
        "action": method,
        "provider": log_type,
        "dataset": DATASET,
        "module": "gcp",
    }
    audit: dict[str, Any] = {"type": AUDIT_LOG_TYPE, "resource_name": resource_name}
    if permission:
        info: dict[str, Any] = {
            "permission": permission,
            "granted": granted,
            "resource": authorization_resource or resource_name,
        }
        if resource_type:
            info["resource_attributes"] = {
                "service": service_name,
                "name": authorization_resource or resource_name,
                "type": resource_type,
            }
        audit["authorization_info"] = [info]
        event["category"] = ["network", "configuration"]
        event["type"] = ["access", "allowed" if granted else "denied"]
    if request:
        audit["request"] = dict(request)
    if status_code is not None:
        status: dict[str, Any] = {"code": status_code}
        if status_message:
            status["message"] = status_message
        audit["status"] = status
    if num_response_items is not None:
        audit["num_response_items"] = num_response_items
    if failed:
        event["outcome"] = "failure"
    elif status_code == 0 or (permission and granted):
        event["outcome"] = "success"
    elif permission:
        event["outcome"] = "failure"
    else:
        event["outcome"] = "unknown"
    doc: dict[str, Any] = {
        "@timestamp": iso(t),
        "data_stream": data_stream(DATASET),
        "ecs": {"version": ECS_VERSION},
        "tags": ["forwarded", "gcp-audit"],
        "event": event,
        "log": {"logger": log_name, "level": "ERROR" if failed else ("NOTICE" if log_type == "activity" else "INFO")},
        "cloud": {"provider": "gcp", "project": {"id": project.id}},
        "client": {"user": {"email": principal.email}},
        "service": {"name": service_name},
        "gcp": {"audit": audit},
    }
    if principal.subject:
        doc["client"]["user"]["id"] = principal.subject
    if k8s_cluster:
        del audit["resource_name"]
        doc["orchestrator"] = _orchestrator(k8s_cluster, resource_name)
    if caller_ip and is_ip(caller_ip):
        doc["source"] = {"ip": caller_ip}
        enrich_source(doc)
    if user_agent:
        doc["user_agent"] = {"original": user_agent}
    return doc


def _orchestrator(cluster: str, resource_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "kubernetes", "cluster": {"name": cluster}}
    parts = resource_name.split("/")
    if len(parts) >= 5 and parts[2] == "namespaces":
        out["api_version"] = parts[1]
        out["namespace"] = parts[3]
        out["resource"] = {"type": parts[4]}
        if len(parts) > 5:
            out["resource"]["name"] = parts[5]
    return out


def insert_id_for(method: str, email: str, resource_name: str, t: float) -> str:
    """The `event.id` (insertId) `audit_event` derives when none is given."""
    return digest(method, email, resource_name, t, size=8).hex()[:12]


def version_number(project: GcpProject, secret: str, version: str) -> str:
    """The numeric version a `latest` alias resolves to (stable for a secret)."""
    if version.isdigit():
        return version
    return str(1 + digest(project.id, secret, size=1)[0] % 9)


_METHODS: dict[str, tuple[str, str, str]] = {
    # short method: (permission, resource type, log type)
    "AccessSecretVersion": ("secretmanager.versions.access", "SecretVersion", "data_access"),
    "GetSecretVersion": ("secretmanager.versions.get", "SecretVersion", "data_access"),
    "ListSecretVersions": ("secretmanager.versions.list", "Secret", "data_access"),
    "GetSecret": ("secretmanager.secrets.get", "Secret", "data_access"),
    "ListSecrets": ("secretmanager.secrets.list", "Project", "data_access"),
    "GetIamPolicy": ("secretmanager.secrets.getIamPolicy", "Secret", "data_access"),
    "AddSecretVersion": ("secretmanager.versions.add", "Secret", "activity"),
    "CreateSecret": ("secretmanager.secrets.create", "Project", "activity"),
    "DeleteSecret": ("secretmanager.secrets.delete", "Secret", "activity"),
    "DestroySecretVersion": ("secretmanager.versions.destroy", "SecretVersion", "activity"),
    "DisableSecretVersion": ("secretmanager.versions.disable", "SecretVersion", "activity"),
}


def secret_manager_event(
    method: str,
    principal: GcpPrincipal,
    project: GcpProject,
    ts: Timestamp,
    *,
    secret: str | None = None,
    version: str = "latest",
    filter: str | None = None,
    page_size: int | None = None,
    denied: bool = False,
    caller_ip: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """One Secret Manager call; `method` short (`AccessSecretVersion`) or full.

    The request carries the names as the client sent them (project id, `latest`); `resource_name` is what
    Google logs after resolving them (project number, numeric version). `denied=True` records
    PERMISSION_DENIED (status code 7) with the requested name. `filter` (e.g. `labels.env=prod`) and
    `page_size` apply to ListSecrets.
    """
    short = method.removeprefix(SECRET_MANAGER_METHOD_PREFIX)
    if short not in _METHODS:
        raise ValueError(f"unknown Secret Manager method {method!r}; known: {', '.join(sorted(_METHODS))}")
    permission, rtype, log_type = _METHODS[short]
    full = SECRET_MANAGER_METHOD_PREFIX + short
    by_id = f"projects/{project.id}"
    by_number = f"projects/{project.number}"
    request: dict[str, Any] = {"@type": f"type.googleapis.com/google.cloud.secretmanager.v1.{short}Request"}
    if rtype == "Project":
        if secret is None and short == "CreateSecret":
            raise ValueError("CreateSecret needs secret")
        request["parent"] = by_id
        if short == "CreateSecret":
            request["secretId"] = secret
        if filter:
            request["filter"] = filter
        if page_size:
            request["pageSize"] = page_size
        requested = resolved = by_id
    else:
        if not secret:
            raise ValueError(f"{short} needs secret")
        if rtype == "SecretVersion":
            requested = f"{by_id}/secrets/{secret}/versions/{version}"
            resolved = f"{by_number}/secrets/{secret}/versions/{version_number(project, secret, version)}"
            request["name"] = requested
        else:
            requested = f"{by_id}/secrets/{secret}"
            resolved = f"{by_number}/secrets/{secret}"
            key = "parent" if short in ("ListSecretVersions", "AddSecretVersion") else "name"
            if short == "GetIamPolicy":
                key = "resource"
            request[key] = requested
    resource_name = requested if denied else resolved
    return audit_event(
        full,
        principal,
        project,
        ts,
        service_name=SECRET_MANAGER,
        resource_name=resource_name,
        permission=permission,
        authorization_resource=resource_name,
        resource_type=f"{SECRET_MANAGER}/{rtype}",
        granted=not denied,
        request=request,
        caller_ip=caller_ip,
        user_agent=user_agent,
        status_code=7 if denied else None,
        status_message=(
            f"Permission '{permission}' denied for resource '{requested}' (or it may not exist)." if denied else None
        ),
        log_type=log_type,  # type: ignore[arg-type]
    )


IAM_CREDENTIALS = "iamcredentials.googleapis.com"
_TOKEN_METHODS = {
    "GenerateAccessToken": "iam.serviceAccounts.getAccessToken",
    "GenerateIdToken": "iam.serviceAccounts.getOpenIdToken",
    "SignJwt": "iam.serviceAccounts.signJwt",
    "SignBlob": "iam.serviceAccounts.signBlob",
}


def token_event(
    method: str,
    caller: GcpPrincipal,
    project: GcpProject,
    ts: Timestamp,
    *,
    target: GcpPrincipal,
    caller_ip: str | None = None,
    user_agent: str | None = None,
    granted: bool = True,
) -> dict[str, Any]:
    """An IAM Service Account Credentials API call (`GenerateAccessToken`, `SignJwt`, ...): `caller`
    impersonates the service account `target`. Google logs these as Data Access entries of
    `iamcredentials.googleapis.com` with the short method name (Google Cloud "IAM audit logging": method
    `GenerateAccessToken`, resource `projects/-/serviceAccounts/<account>`, permission
    `iam.serviceAccounts.getAccessToken`); the integration keeps the caller in `client.user.email` and the
    account in `gcp.audit.resource_name`."""
    resource = f"projects/-/serviceAccounts/{target.email}"
    return audit_event(
        method,
        caller,
        project,
        ts,
        service_name=IAM_CREDENTIALS,
        resource_name=resource,
        permission=_TOKEN_METHODS[method],
        granted=granted,
        status_code=None if granted else 7,
        caller_ip=caller_ip,
        user_agent=user_agent,
    )
