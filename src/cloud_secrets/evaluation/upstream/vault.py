"""`hashicorp_vault.audit` documents as Elastic's HashiCorp Vault integration writes them (before any `@custom`
pipeline).

Facts followed (elastic/integrations `packages/hashicorp_vault/data_stream/audit`, package 1.26.0, ECS 8.16.0:
its ingest pipeline and `_dev/test/pipeline/test-audit.log-expected.json`; Vault's audit device schema):
- Vault writes two entries per audited call, `type: request` and then `type: response`, both with the same
  `request.id` (the integration copies it to `event.id`); only the response carries `response` (the data
  Vault returned, every string value HMAC'd as `hmac-sha256:<hex>`, keys in clear).
- The whole entry lands under `hashicorp_vault.audit.*`; `@timestamp` from `time`; `event.action` is the
  request's `operation` (`read`, `list`, `update`, `create`, `delete`); `event.category: [authentication]`;
  `event.type` `[info, start]` for read, list and create, `[info]` for update, `[info, end]` for delete;
  `event.kind: event`.
- `error` may stand on both entries (`permission denied` on the request, `1 error occurred: ...` on the
  response); any `error` makes `event.outcome: failure` and is copied to `message`, else `success`.
- `source.ip` from `request.remote_address`; `user.email` / `user.id` only from `auth.metadata.email` /
  `auth.metadata.account_id` (OIDC); the integration never sets `user.name`. Tokens and accessors are HMAC'd;
  `auth.display_name`, `entity_id`, `metadata`, `policies`, `request.path`, `mount_type` are in clear.
- KV v1 and v2 mounts both log `mount_type: kv`; a v2 path has `data/` or `metadata/` after the mount.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...timestamps import Timestamp, epoch_seconds, iso
from ._common import data_stream, digest, is_ip, stable_uuid

DATASET = "hashicorp_vault.audit"
ECS_VERSION = "8.16.0"  # what package 1.26.0's pipeline writes
DENIED_REQUEST = "permission denied"
DENIED_RESPONSE = "1 error occurred:\n\t* permission denied\n\n"
EVENT_TYPES = {"read": ["info", "start"], "list": ["info", "start"], "create": ["info", "start"],
               "update": ["info"], "delete": ["info", "end"]}


def hmac(*parts: object) -> str:
    """A stable stand-in for the audit device's HMAC of a value."""
    return "hmac-sha256:" + digest(*parts, size=32).hex()


@dataclass(frozen=True, slots=True)
class VaultPrincipal:
    """The token's `auth` block: who called. Build one with the class methods."""

    display_name: str
    entity_id: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    policies: tuple[str, ...] = ("default",)
    token_type: str = "service"

    @classmethod
    def oidc(cls, email: str, *, role: str = "default", policies: tuple[str, ...] = ()) -> VaultPrincipal:
        """A person signed in through an OIDC auth mount whose `user_claim` is the email."""
        return cls(f"oidc-{email}", stable_uuid("entity", "oidc", email),
                   {"email": email, "account_id": str(int(digest("sub", email, size=8).hex(), 16)), "role": role},
                   ("default", *policies))

    @classmethod
    def approle(cls, role_name: str, *, policies: tuple[str, ...] = ()) -> VaultPrincipal:
        """A workload logged in with AppRole: the plugin sets no display name; `role_name` is in metadata."""
        return cls("approle", stable_uuid("entity", "approle", role_name), {"role_name": role_name},
                   ("default", *policies))

    @classmethod
    def kubernetes(cls, namespace: str, service_account: str, role: str) -> VaultPrincipal:
        """A pod logged in through the Kubernetes auth method (`kubernetes-<namespace>-<service account>`)."""
        return cls(f"kubernetes-{namespace}-{service_account}",
                   stable_uuid("entity", "kubernetes", namespace, service_account),
                   {"role": role, "service_account_name": service_account, "service_account_namespace": namespace},
                   ("default", role))

    @classmethod
    def token(cls, name: str | None = None) -> VaultPrincipal:
        """A token without an entity: `token`, or `token-<name>` when created with a display name."""
        return cls(f"token-{name}" if name else "token")

    def auth(self, issued: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "client_token": hmac("token", self.display_name, self.entity_id),
            "accessor": hmac("accessor", self.display_name, self.entity_id),
            "display_name": self.display_name,
            "policies": list(self.policies),
            "token_policies": list(self.policies),
            "token_type": self.token_type,
            "token_ttl": 3600,
            "token_issue_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued)),
        }
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        if self.entity_id:
            out["entity_id"] = self.entity_id
        return out


def kv_path(mount: str, name: str, version: int = 2, metadata: bool = False) -> str:
    """The request path of a KV secret: `<mount>/<name>` (v1), `<mount>/data|metadata/<name>` (v2)."""
    if version == 1:
        return f"{mount}/{name}"
    return f"{mount}/{'metadata' if metadata else 'data'}/{name}"


def audit_events(
    operation: str,
    path: str,
    principal: VaultPrincipal,
    ts: Timestamp,
    *,
    mount_type: str = "kv",
    remote_address: str | None = "10.20.0.5",
    response_data: Mapping[str, Any] | None = None,
    denied: bool = False,
    request_id: str | None = None,
    response_delay: float = 0.004,
) -> list[dict[str, Any]]:
    """The request entry and the response entry of one audited call, as the integration indexes them.

    `response_data` is what Vault returned, in clear: every string in it is HMAC'd as the audit device does.
    `denied` makes both entries carry the permission error (and the response only the HMAC'd error text).
    """
    t = epoch_seconds(ts)
    rid = request_id or stable_uuid("vault", operation, path, principal.display_name, t)
    request: dict[str, Any] = {
        "id": rid, "operation": operation, "mount_type": mount_type,
        "client_token": hmac("token", principal.display_name, principal.entity_id),
        "client_token_accessor": hmac("accessor", principal.display_name, principal.entity_id),
        "namespace": {"id": "root"}, "path": path,
    }
    if remote_address:
        request["remote_address"] = remote_address
    auth = principal.auth(t - 600)
    entries = []
    for kind, at in (("request", t), ("response", t + response_delay)):
        audit: dict[str, Any] = {"type": kind, "auth": auth, "request": dict(request)}
        error = None
        if kind == "response":
            data = {"error": DENIED_RESPONSE} if denied else dict(response_data or {})
            audit["response"] = {"mount_type": mount_type, **({"data": _hashed(data)} if data else {})}
            error = DENIED_RESPONSE if denied else None
        elif denied:
            error = DENIED_REQUEST
        if error:
            audit["error"] = error
        entries.append(_document(audit, operation, rid, at, error, remote_address, principal))
    return entries


def _hashed(value: Any) -> Any:
    if isinstance(value, str):
        return hmac("data", value)
    if isinstance(value, Mapping):
        return {k: _hashed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hashed(v) for v in value]
    return value


def _document(audit: dict[str, Any], operation: str, rid: str, t: float, error: str | None,
              remote_address: str | None, principal: VaultPrincipal) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": iso(t),
        "data_stream": data_stream(DATASET),
        "ecs": {"version": ECS_VERSION},
        "event": {"action": operation, "category": ["authentication"], "id": rid, "kind": "event",
                  "outcome": "failure" if error else "success",
                  "type": EVENT_TYPES.get(operation, ["info"]), "dataset": DATASET, "module": "hashicorp_vault"},
        "hashicorp_vault": {"audit": audit},
        "tags": ["hashicorp-vault-audit"],
    }
    if error:
        doc["message"] = error
    if remote_address and is_ip(remote_address):
        doc["source"] = {"ip": remote_address}
        doc["related"] = {"ip": [remote_address]}
    user = {k: principal.metadata[m] for k, m in (("email", "email"), ("id", "account_id")) if m in principal.metadata}
    if user:
        doc["user"] = user
    return doc
