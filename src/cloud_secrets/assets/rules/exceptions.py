"""A user-controlled allowlist (identities, optionally their addresses) as a Kibana rule exception list,
for the ndjson of Kibana's rule import. Only rules whose definition says `allowlist: true` get it."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import UserError
from ..yamlsrc import load

LIST_ID = "cloud-secrets-allowlist"


@dataclass(frozen=True)
class Allowlist:
    identities: tuple[str, ...]
    source_ips: tuple[str, ...] = ()


def load_allowlist(path: Path) -> Allowlist:
    """`identities:` (cloud_secrets.identity values, required) and `source_ips:` (addresses or CIDR ranges)."""
    src = load(path)
    data = src.data if isinstance(src.data, dict) else {}
    for key in data:
        if key not in ("identities", "source_ips"):
            raise src.fail(key, "unknown key (expected identities, source_ips)")
    ids = data.get("identities")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise src.fail("identities", "expected a non-empty list of cloud_secrets.identity values")
    ips = data.get("source_ips", [])
    if not isinstance(ips, list):
        raise src.fail("source_ips", "expected a list of addresses or CIDR ranges")
    for i, ip in enumerate(ips):
        try:
            ipaddress.ip_network(str(ip), strict=False)
        except ValueError:
            raise src.fail(f"source_ips[{i}]", f"{ip!r} is not an IP address or CIDR range") from None
    return Allowlist(tuple(i.strip() for i in ids), tuple(str(ip) for ip in ips))


def exception_objects(allow: Allowlist) -> list[dict[str, Any]]:
    """The exception list container and its one item, as Kibana's import reads them."""
    entries: list[dict[str, Any]] = [{"field": "cloud_secrets.identity", "operator": "included",
                                      "type": "match_any", "value": list(allow.identities)}]
    if allow.source_ips:
        entries.append({"field": "source.ip", "operator": "included", "type": "match_any",
                        "value": list(allow.source_ips)})
    container = {"list_id": LIST_ID, "name": "cloud-secrets: allowlisted automation",
                 "description": "Identities (and their addresses) allowed to read secrets in bulk. "
                                "Written by `cloud-secrets rules export --allowlist`.",
                 "type": "detection", "namespace_type": "single", "tags": ["cloud-secrets"], "os_types": []}
    item = {"item_id": f"{LIST_ID}-identities", "list_id": LIST_ID, "namespace_type": "single",
            "type": "simple", "name": "Allowlisted identities",
            "description": "cloud_secrets.identity is one of the allowlisted identities"
                           + (" and source.ip is one of their addresses" if allow.source_ips else ""),
            "entries": entries, "tags": [], "os_types": [], "comments": []}
    return [container, item]


def rule_reference() -> dict[str, Any]:
    """How a rule points at the list; Kibana's import resolves `id` from `list_id`."""
    return {"exceptions_list": [{"id": LIST_ID, "list_id": LIST_ID, "type": "detection",
                                 "namespace_type": "single"}]}


def lines(allow: Allowlist) -> list[str]:
    return [json.dumps(obj, ensure_ascii=False, separators=(",", ":")) for obj in exception_objects(allow)]


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise UserError(f"{path}: allowlist file not found")
    return path
