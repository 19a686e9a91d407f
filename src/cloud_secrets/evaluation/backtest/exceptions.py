"""The user's allowlist as Kibana applies it: a rule exception that keeps matching events out of the rule.

`cloud-secrets rules export --allowlist FILE` attaches one exception item to the rules that accept an
allowlist (`allowlist: true` in their catalog definition): `cloud_secrets.identity` is one of the listed
identities, and, when addresses are listed, `source.ip` is one of them (CIDR ranges allowed). Kibana adds
a rule's exceptions to the query as a filter on the source events, for every rule type, so an excluded
event never reaches the rule: it starts no sequence, joins no group and counts in no threshold. The
backtest does the same with the same file (`backtest --allowlist FILE`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ...assets.rules.exceptions import Allowlist
from ...fieldpath import values_of

IDENTITY_FIELD, ADDRESS_FIELD = EXCEPTION_FIELDS = ("cloud_secrets.identity", "source.ip")  # what `excludes` reads


@dataclass(frozen=True)
class ExceptionFilter:
    identities: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def of(cls, allow: Allowlist) -> ExceptionFilter:
        return cls(frozenset(allow.identities), tuple(ipaddress.ip_network(n, strict=False) for n in allow.source_ips))

    def excludes(self, doc: dict[str, Any]) -> bool:
        if not any(v in self.identities for v in values_of(doc, IDENTITY_FIELD)):
            return False
        if not self.networks:
            return True
        for ip in values_of(doc, ADDRESS_FIELD):
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                continue
            if any(addr in net for net in self.networks):
                return True
        return False
