"""A fast path for the documents pollers repeat all day.

An application that reads the same secret every few minutes produces documents that differ only in
their time stamp and derived ids. `DocTemplate` encodes one builder document with markers in those
places and renders later ones by joining strings, so the builder remains the one place that knows the
shape: a rendered document is byte-for-byte `encode(builder(...))` (the tests check this).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ...timestamps import iso
from ..upstream._common import java_to_string
from ..upstream.aws import AwsIdentity, _hour_iso, cloudtrail_event, event_ids, secrets_manager_event
from ..upstream.azure import AzureIdentity, KeyVault, keyvault_correlation_id, keyvault_event
from ..upstream.gcp import GcpPrincipal, GcpProject, audit_event, insert_id_for, secret_manager_event

encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode

_MARK = "@@cs-slot:{}@@"
_MARK_RE = re.compile(r"@@cs-slot:(\w+)@@")
_T0 = 1_000_000_000.123  # any time: the slots are overwritten


class Encoded(NamedTuple):
    """A document already encoded as one JSON line, with what the label file needs from it."""

    json: str
    dataset: str
    timestamp: str


class DocTemplate:
    """A document whose values at `slots` (name -> key path) are filled in at render time."""

    __slots__ = ("_keys", "_parts", "dataset")

    def __init__(self, doc: dict[str, Any], slots: Mapping[str, tuple[str, ...]]) -> None:
        self.dataset = doc["data_stream"]["dataset"]
        for name, path in slots.items():
            node = doc
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None  # type: ignore[assignment]
            if isinstance(node, dict) and path[-1] in node:
                node[path[-1]] = _MARK.format(name)
        pieces = _MARK_RE.split(encode(doc))
        self._parts = pieces[0::2]
        self._keys = pieces[1::2]

    def render(self, values: Mapping[str, str]) -> Encoded:
        parts, keys = self._parts, self._keys
        out = [parts[0]]
        for i, key in enumerate(keys):
            out.append(values[key])
            out.append(parts[i + 1])
        return Encoded("".join(out), self.dataset, values["ts"])


_AWS_SLOTS = {
    "ts": ("@timestamp",),
    "eid": ("event", "id"),
    "rid": ("aws", "cloudtrail", "request_id"),
    "cd": ("aws", "cloudtrail", "user_identity", "session_context", "creation_date"),
}
_GCP_SLOTS = {"ts": ("@timestamp",), "eid": ("event", "id")}
_AZ_SLOTS = {"ts": ("@timestamp",), "cid": ("azure", "correlation_id")}


class FastDocs:
    """Cached templates for the three poller documents; `clear()` when the cache grows too large."""

    def __init__(self) -> None:
        self._aws: dict[tuple[Any, ...], tuple[DocTemplate, str | None]] = {}
        self._gcp: dict[tuple[Any, ...], tuple[DocTemplate, str, str]] = {}
        self._az: dict[tuple[Any, ...], DocTemplate] = {}

    def clear(self) -> None:
        self._aws.clear()
        self._gcp.clear()
        self._az.clear()

    def aws_read(self, ident: AwsIdentity, ts: float, secret_id: str, ip: str, ua: str) -> Encoded:
        """`secrets_manager_event("GetSecretValue", ident, ts, secret_id=..., source_address=ip, user_agent=ua)`."""
        key = (ident, secret_id, ip, ua)
        entry = self._aws.get(key)
        if entry is None:
            doc = secrets_manager_event(
                "GetSecretValue", ident, _T0, secret_id=secret_id, source_address=ip, user_agent=ua
            )
            entry = self._aws[key] = (DocTemplate(doc, _AWS_SLOTS), doc["aws"]["cloudtrail"]["request_parameters"])
        template, rendered = entry
        eid, rid = event_ids("GetSecretValue", ident, ts, rendered)
        return template.render({"ts": iso(ts), "eid": eid, "rid": rid, "cd": _hour_iso(int(ts // 3600))})

    def aws_call(
        self,
        action: str,
        ident: AwsIdentity,
        ts: float,
        *,
        event_source: str,
        params: dict[str, Any] | None,
        ip: str,
        ua: str,
        region: str = "us-east-1",
    ) -> Encoded:
        """`cloudtrail_event(action, ident, ts, event_source=..., request_parameters=params, ...)`."""
        key = (action, ident, event_source, repr(params), ip, ua, region)
        entry = self._aws.get(key)
        if entry is None:
            rendered = java_to_string(params) if params else None
            doc = cloudtrail_event(
                action,
                ident,
                _T0,
                event_source=event_source,
                request_parameters=params,
                source_address=ip,
                user_agent=ua,
                region=region,
            )
            entry = self._aws[key] = (DocTemplate(doc, _AWS_SLOTS), rendered)
        template, rendered = entry
        eid, rid = event_ids(action, ident, ts, rendered)
        return template.render({"ts": iso(ts), "eid": eid, "rid": rid, "cd": _hour_iso(int(ts // 3600))})

    def gcp_access(self, who: GcpPrincipal, project: GcpProject, ts: float, secret: str, ip: str, ua: str) -> Encoded:
        """`secret_manager_event("AccessSecretVersion", who, project, ts, secret=..., caller_ip=ip, user_agent=ua)`."""
        key = (who, project, secret, ip, ua)
        entry = self._gcp.get(key)
        if entry is None:
            doc = secret_manager_event(
                "AccessSecretVersion", who, project, _T0, secret=secret, caller_ip=ip, user_agent=ua
            )
            entry = self._gcp[key] = (
                DocTemplate(doc, _GCP_SLOTS),
                doc["event"]["action"],
                doc["gcp"]["audit"]["resource_name"],
            )
        template, method, resource = entry
        return template.render({"ts": iso(ts), "eid": insert_id_for(method, who.email, resource, ts)})

    def gcp_call(self, method: str, who: GcpPrincipal, project: GcpProject, ts: float, **kw: Any) -> Encoded:
        """`audit_event(method, who, project, ts, **kw)` for any entry without `insert_id`."""
        key = (method, who, project, tuple(sorted(kw.items())))
        entry = self._gcp.get(key)
        if entry is None:
            doc = audit_event(method, who, project, _T0, **kw)
            entry = self._gcp[key] = (DocTemplate(doc, _GCP_SLOTS), method, kw["resource_name"])
        template, _, resource = entry
        return template.render({"ts": iso(ts), "eid": insert_id_for(method, who.email, resource, ts)})

    def az_get(self, ident: AzureIdentity, vault: KeyVault, ts: float, name: str, ip: str, client: str) -> Encoded:
        """`keyvault_event("SecretGet", ident, vault, ts, object_name=name, source_ip=ip, client_info=client)`."""
        key = (ident, vault, name, ip, client)
        template = self._az.get(key)
        if template is None:
            doc = keyvault_event("SecretGet", ident, vault, _T0, object_name=name, source_ip=ip, client_info=client)
            template = self._az[key] = DocTemplate(doc, _AZ_SLOTS)
        return template.render({"ts": iso(ts), "cid": keyvault_correlation_id("SecretGet", ident, vault, name, ts)})


FAST = FastDocs()
