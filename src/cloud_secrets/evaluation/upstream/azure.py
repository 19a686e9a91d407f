"""Azure documents as Elastic's Azure integration writes them (before any `@custom` pipeline).

- Key Vault data-plane events (diagnostic category `AuditEvent`) land in `azure.platformlogs`:
  `event.action` = `azure.platformlogs.operation_name` (`SecretGet`...), `source.ip` = callerIpAddress,
  no `user.*` at all; the caller is in `azure.platformlogs.identity.claim.*` (`upn` for people; `appid` and
  `oid` or `http://schemas.microsoft.com/identity/claims/objectidentifier` for applications);
  `azure.platformlogs.properties` holds `id`, `requestUri`, `clientInfo`, `httpStatusCode`.
  `event.outcome` is the lower-cased `resultType`. Key Vault writes `resultType: Success` for requests it
  answered with 403 or 404 too: the refusal is in `httpStatusCode` / `result_signature`.
- ARM (control plane) events land in `azure.activitylogs` with an upper-case `event.action`
  (`MICROSOFT.KEYVAULT/VAULTS/SECRETS/WRITE`); `user.email` = the caller's UPN, `user.name` = its part
  before `@`, `user.domain` = the rest. Azure's Activity Log records writes, deletes and actions, not
  reads (GET).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ...timestamps import Timestamp, epoch_seconds, iso
from ._common import ECS_VERSION, data_stream, is_ip, stable_hex, stable_uuid

PLATFORM_DATASET = "azure.platformlogs"
ACTIVITY_DATASET = "azure.activitylogs"

#: Well-known Microsoft first-party application ids (public facts).
AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
AZURE_POWERSHELL_APP_ID = "1950a258-227b-4e31-a9cf-717495945fc2"
AZURE_PORTAL_APP_ID = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"

OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
SCOPE_CLAIM = "http://schemas.microsoft.com/identity/claims/scope"
DEFAULT_TENANT = stable_uuid("tenant", "example.com")

AzureIdentityKind = Literal["user", "service_principal", "managed_identity"]


@dataclass(frozen=True, slots=True)
class AzureIdentity:
    """An Entra ID caller. Build one with `user`, `service_principal` or `managed_identity`."""

    kind: AzureIdentityKind
    object_id: str
    app_id: str
    tenant_id: str = DEFAULT_TENANT
    upn: str | None = None
    mi_resource_id: str | None = None
    uri_claims: bool = False

    @classmethod
    def user(
        cls, upn: str, *, app_id: str = AZURE_CLI_APP_ID, tenant_id: str = DEFAULT_TENANT, uri_claims: bool = False
    ) -> AzureIdentity:
        """A person signed in through `app_id` (Azure CLI by default; the portal or PowerShell ids exist).

        `uri_claims=True` writes the claims under their URI names (`.../claims/upn`,
        `.../claims/objectidentifier`), as Microsoft's Key Vault logging sample shows them. A Microsoft
        account guest's `upn` reads `live.com#user@outlook.com`.
        """
        return cls("user", stable_uuid("oid", upn), app_id, tenant_id, upn, uri_claims=uri_claims)

    @classmethod
    def service_principal(cls, name: str, *, tenant_id: str = DEFAULT_TENANT) -> AzureIdentity:
        """An app registration's service principal (CI/CD, Terraform); no UPN."""
        return cls("service_principal", stable_uuid("sp-oid", name), stable_uuid("appid", name), tenant_id)

    @classmethod
    def managed_identity(
        cls, name: str, subscription_id: str, resource_group: str, *, tenant_id: str = DEFAULT_TENANT
    ) -> AzureIdentity:
        """A user-assigned managed identity; no UPN."""
        rid = (
            f"/subscriptions/{subscription_id}/resourcegroups/{resource_group}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        )
        return cls(
            "managed_identity",
            stable_uuid("mi-oid", name),
            stable_uuid("mi-appid", name),
            tenant_id,
            mi_resource_id=rid,
        )

    @property
    def canonical(self) -> str:
        """The identity the tagging pipeline derives: a person's sign-in address (lower case, a guest's
        `live.com#` prefix dropped) never the client app id; a managed identity's resource id (lower case);
        a service principal's app id."""
        if self.kind == "managed_identity":
            return (self.mi_resource_id or self.app_id).lower()
        if self.kind == "user":
            address = (self.upn or "").rsplit("#", 1)[-1].lower()
            return address if "@" in address else self.object_id.lower()
        return self.app_id.lower()

    def keyvault_claims(self, caller_ip: str | None) -> dict[str, Any]:
        """`identity.claim` of a Key Vault AuditEvent."""
        if self.kind == "user" and self.uri_claims:
            claim = {OID_CLAIM: self.object_id, UPN_CLAIM: self.upn, "appid": self.app_id, "appidacr": "0",
                     SCOPE_CLAIM: "user_impersonation"}
            if caller_ip:
                claim["ipaddr"] = caller_ip
            return claim
        if self.kind == "user":
            claim: dict[str, Any] = {
                "oid": self.object_id,
                "appid": self.app_id,
                "scp": "user_impersonation",
                "appidacr": "0",
                "upn": self.upn,
                "unique_name": self.upn,
                "amr": "pwd",
            }
            if caller_ip:
                claim["ipaddr"] = caller_ip
            return claim
        if self.kind == "service_principal":
            return {"appid": self.app_id, OID_CLAIM: self.object_id, "appidacr": "1", "idtyp": "app"}
        return {
            "oid": self.object_id,
            "appid": self.app_id,
            "appidacr": "2",
            "idtyp": "app",
            "xms_mirid": self.mi_resource_id,
        }

    def arm_claims(self) -> dict[str, Any]:
        """`identity.claims` of an Activity Log event, keys with `.` replaced by `_` as the pipeline does."""
        base = "http://schemas_microsoft_com/identity/claims/"
        claims: dict[str, Any] = {
            "aud": "https://management.core.windows.net/",
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "appid": self.app_id,
            base + "objectidentifier": self.object_id,
            base + "tenantid": self.tenant_id,
            "ver": "1.0",
        }
        if self.mi_resource_id:
            claims["xms_mirid"] = self.mi_resource_id
        if self.upn:
            claims["http://schemas_xmlsoap_org/ws/2005/05/identity/claims/upn"] = self.upn
            claims["http://schemas_xmlsoap_org/ws/2005/05/identity/claims/name"] = self.upn
        return claims


@dataclass(frozen=True, slots=True)
class KeyVault:
    """A vault: `name` (DNS label), its subscription and resource group."""

    name: str
    subscription_id: str
    resource_group: str
    location: str = "eastus"
    rbac: bool = True

    @property
    def uri(self) -> str:
        return f"https://{self.name}.vault.azure.net"

    @property
    def resource_id(self) -> str:
        """The upper-case resource id Key Vault diagnostic logs carry."""
        return (
            f"/SUBSCRIPTIONS/{self.subscription_id.upper()}/RESOURCEGROUPS/{self.resource_group.upper()}"
            f"/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/{self.name.upper()}"
        )

    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
        )

    def secret_version(self, secret_name: str, generation: int = 0) -> str:
        """A stable 32-hex version id for `secret_name` (bump `generation` after a rotation)."""
        return stable_hex(32, self.name, secret_name, generation)


def _resource_fields(resource_id: str) -> dict[str, Any]:
    """`azure.resource.*` as the integration's grok derives it from an upper-case resource id."""
    out: dict[str, Any] = {"id": resource_id}
    parts = resource_id.strip("/").split("/")
    upper = [p.upper() for p in parts]
    if "RESOURCEGROUPS" in upper:
        out["group"] = parts[upper.index("RESOURCEGROUPS") + 1]
    if "PROVIDERS" in upper:
        i = upper.index("PROVIDERS")
        rest = parts[i + 1 :]
        if len(rest) >= 3:
            out["provider"] = f"{rest[0]}/{rest[1]}"
            out["name"] = "/".join(rest[2:])
    return out


_SIGNATURES = {
    200: "OK",
    201: "Created",
    204: "No Content",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
}
_KV_KIND = {"Secret": "secrets", "Key": "keys", "Certificate": "certificates"}
_PERMISSION = {
    "SecretGet": "getSecret",
    "SecretList": "readMetadata",
    "SecretListVersions": "readMetadata",
    "SecretSet": "setSecret",
    "SecretDelete": "delete",
    "KeyGet": "read",
    "CertificateGet": "read",
}


def keyvault_correlation_id(
    operation: str, identity: AzureIdentity, vault: KeyVault, object_name: str | None, t: float
) -> str:
    """The correlation id `keyvault_event` derives when none is given."""
    return stable_uuid("kv", operation, identity.object_id, vault.name, object_name, t)


def keyvault_event(
    operation: str,
    identity: AzureIdentity,
    vault: KeyVault,
    ts: Timestamp,
    *,
    source_ip: str | None,
    client_info: str,
    object_name: str | None = None,
    version: str | None = None,
    status: int = 200,
    api_version: str = "7.4",
    duration_ms: int = 12,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """One Key Vault `AuditEvent` (`SecretGet`, `SecretList`, `SecretListVersions`, `VaultGet`, `KeyGet`...).

    `object_name` names the secret (or key/certificate) for object operations. A successful `SecretGet`
    records the secret id with its 32-hex version (`version`, default the vault's current one); a refused
    or failed one (`status` 401/403/404) records the id without version. `source_ip` may be None for calls
    without a caller address.
    """
    t = epoch_seconds(ts)
    ok = status < 300
    kind = next((v for k, v in _KV_KIND.items() if operation.startswith(k)), None)
    props: dict[str, Any] = {"clientInfo": client_info, "httpStatusCode": status}
    if operation.startswith("Vault"):
        props["id"] = vault.arm_id
        props["requestUri"] = f"https://management.azure.com{vault.arm_id}?api-version=2023-07-01"
    elif kind and operation.endswith("List"):
        props["requestUri"] = f"{vault.uri}/{kind}?api-version={api_version}&maxresults=25"
    elif kind and object_name:
        base = f"{vault.uri}/{kind}/{object_name}"
        if operation.endswith("ListVersions"):
            props["id"] = base
            props["requestUri"] = f"{base}/versions?api-version={api_version}"
        else:
            ver = version or vault.secret_version(object_name)
            props["id"] = f"{base}/{ver}" if ok and operation.endswith(("Get", "Set")) else base
            props["requestUri"] = (
                f"{base}/{version}?api-version={api_version}" if version else f"{base}/?api-version={api_version}"
            )
    props["isRbacAuthorized" if vault.rbac else "isAccessPolicyMatch"] = status != 403
    props["tlsVersion"] = "TLS1_2"
    platform: dict[str, Any] = {
        "category": "AuditEvent",
        "operation_name": operation,
        "operationVersion": api_version,
        "result_type": "Success",
        "result_signature": _SIGNATURES.get(status, str(status)),
        "identity": {"claim": identity.keyvault_claims(source_ip if is_ip(source_ip) else None)},
        "properties": props,
        "event_category": "Administrative",
    }
    if status == 403:
        action = f"Microsoft.KeyVault/vaults/{kind or 'vault'}/{_PERMISSION.get(operation, 'read')}/action"
        platform["result_description"] = (
            "Caller is not authorized to perform action on resource.\n"
            "If role assignments, deny assignments or role definitions were changed recently, please observe "
            f"propagation time.\nCaller: appid={identity.app_id};oid={identity.object_id};"
            f"iss=https://sts.windows.net/{identity.tenant_id}/\nAction: '{action}'\n"
            f"Resource: '{vault.arm_id.lower()}{'/' + kind + '/' + object_name if kind and object_name else ''}'"
        )
    elif status == 404 and object_name:
        platform["result_description"] = f"A secret with (name/id) {object_name} was not found in this key vault."
    doc: dict[str, Any] = {
        "@timestamp": iso(t),
        "data_stream": data_stream(PLATFORM_DATASET),
        "ecs": {"version": ECS_VERSION},
        "tags": ["forwarded", "azure-platformlogs"],
        "event": {
            "action": operation,
            "kind": "event",
            "outcome": "success",
            "duration": duration_ms * 1_000_000,
            "dataset": PLATFORM_DATASET,
            "module": "azure",
        },
        "cloud": {"provider": "azure", "account": {"id": vault.subscription_id.upper()}},
        "azure": {
            "platformlogs": platform,
            "resource": _resource_fields(vault.resource_id),
            "subscription_id": vault.subscription_id.upper(),
            "correlation_id": correlation_id or keyvault_correlation_id(operation, identity, vault, object_name, t),
        },
    }
    if source_ip:
        if is_ip(source_ip):
            doc["source"] = {"ip": source_ip}
            doc["client"] = {"ip": source_ip}
            doc["related"] = {"ip": [source_ip]}
        else:
            doc["source"] = {"address": source_ip}
    return doc


def activity_event(
    operation: str,
    identity: AzureIdentity,
    ts: Timestamp,
    *,
    resource_id: str,
    source_ip: str | None,
    result_type: Literal["Start", "Success", "Failure", "Accept"] = "Success",
    category: str = "Administrative",
    correlation_id: str | None = None,
    duration_ms: int = 0,
) -> dict[str, Any]:
    """One Activity Log (ARM) event; `operation` upper-case, e.g. `MICROSOFT.KEYVAULT/VAULTS/SECRETS/WRITE`.

    `resource_id` should be upper-case as the export writes it. ARM writes a `Start` and then a `Success`
    (or `Failure`) event per operation with the same correlation id; emit both for realism.
    """
    t = epoch_seconds(ts)
    signature = {"Start": "Started.", "Success": "Succeeded.", "Failure": "Failed.", "Accept": "Accepted.Created"}
    activity: dict[str, Any] = {
        "category": category,
        "event_category": "Administrative",
        "operation_name": operation,
        "result_type": result_type,
        "result_signature": signature[result_type],
        "tenant_id": identity.tenant_id,
        "identity": {
            "authorization": {
                "action": "Microsoft." + operation.lower().removeprefix("microsoft."),
                "scope": resource_id.lower(),
                "evidence": {
                    "principal_id": identity.object_id,
                    "principal_type": "User" if identity.kind == "user" else "ServicePrincipal",
                    "role": "Contributor",
                },
            },
            "claims": identity.arm_claims(),
        },
    }
    if identity.upn:
        activity["identity"]["claims_initiated_by_user"] = {
            "name": identity.upn,
            "schema": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims",
        }
    event: dict[str, Any] = {
        "action": operation,
        "kind": "event",
        "duration": duration_ms * 1_000_000,
        "dataset": ACTIVITY_DATASET,
        "module": "azure",
    }
    if result_type in ("Success", "Failure"):
        event["outcome"] = result_type.lower()
    resource = _resource_fields(resource_id)
    sub = resource_id.strip("/").split("/")[1] if resource_id.upper().startswith("/SUBSCRIPTIONS/") else None
    doc: dict[str, Any] = {
        "@timestamp": iso(t),
        "data_stream": data_stream(ACTIVITY_DATASET),
        "ecs": {"version": ECS_VERSION},
        "tags": ["forwarded", "azure-activitylogs"],
        "event": event,
        "log": {"level": "Information"},
        "cloud": {"provider": "azure"},
        "azure": {
            "activitylogs": activity,
            "resource": resource,
            "correlation_id": correlation_id or stable_uuid("arm", operation, identity.object_id, resource_id, t),
        },
    }
    if sub:
        doc["azure"]["subscription_id"] = sub
    if source_ip and is_ip(source_ip):
        doc["source"] = {"ip": source_ip}
        doc["client"] = {"ip": source_ip}
        doc["related"] = {"ip": [source_ip]}
    if identity.upn and "@" in identity.upn:
        # the integration's unanchored grok %{USERNAME}@%{HOSTNAME}: a guest's live.com# stays out of user.name
        local, domain = identity.upn.rsplit("#", 1)[-1].split("@", 1)
        doc["user"] = {"name": local, "domain": domain, "email": identity.upn}
        doc.setdefault("related", {})["user"] = [local]
    return doc
