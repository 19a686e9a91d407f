"""Benign Azure actors: Key Vault AuditEvents (platformlogs) and ARM operations (activitylogs)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..upstream.azure import AzureIdentity, KeyVault, activity_event, keyvault_event
from . import common as c
from .common import HOUR, Item, office_weight, poisson
from .fast import FAST


def _kv(out: list[Item], actor: str, op: str, ident: AzureIdentity, vault: KeyVault, ts: float, **kw: Any) -> None:
    out.append(Item(ts, keyvault_event(op, ident, vault, ts, **kw), ident.canonical, actor))


def _arm(
    out: list[Item],
    actor: str,
    op: str,
    ident: AzureIdentity,
    ts: float,
    resource_id: str,
    ip: str | None,
    rng: random.Random,
) -> None:
    """An ARM write: a Start and, a few seconds later, a Success event sharing one correlation id."""
    start = activity_event(op, ident, ts, resource_id=resource_id, source_ip=ip, result_type="Start")
    corr = start["azure"]["correlation_id"]
    done_ts = ts + rng.uniform(1, 40)
    done = activity_event(
        op,
        ident,
        done_ts,
        resource_id=resource_id,
        source_ip=ip,
        result_type="Success",
        correlation_id=corr,
        duration_ms=rng.randint(300, 9000),
    )
    out.append(Item(ts, start, ident.canonical, actor))
    out.append(Item(done_ts, done, ident.canonical, actor))


ARM_WRITES = (
    "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
    "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE",
    "MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE",
    "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE",
    "MICROSOFT.WEB/SITES/WRITE",
    "MICROSOFT.COMPUTE/VIRTUALMACHINES/START/ACTION",
)


def _rid(vault: KeyVault, provider: str, name: str) -> str:
    return (
        f"/SUBSCRIPTIONS/{vault.subscription_id.upper()}/RESOURCEGROUPS/{vault.resource_group.upper()}"
        f"/PROVIDERS/{provider}/{name.upper()}"
    )


@dataclass
class AzPoller:
    """An app with a managed identity re-reading its secrets when its cache expires."""

    actor: str
    ident: AzureIdentity
    vault: KeyVault
    secrets: list[str]
    interval: float
    phase: float
    ip: str
    client: str
    uses_keys: bool = False

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        t = start + ((self.phase - start) % self.interval)
        while t < start + HOUR:
            for k, name in enumerate(self.secrets):
                ts = t + rng.random() * 0.3 + k * 0.03
                out.append(
                    Item(
                        ts,
                        FAST.az_get(self.ident, self.vault, ts, name, self.ip, self.client),
                        self.ident.canonical,
                        self.actor,
                    )
                )
            if self.uses_keys:
                _kv(
                    out,
                    self.actor,
                    "KeyUnwrapKey",
                    self.ident,
                    self.vault,
                    t + 1,
                    object_name="data-key",
                    source_ip=self.ip,
                    client_info=self.client.replace("Secrets", "Keys"),
                )
            t += self.interval


@dataclass
class AzCi:
    """A pipeline reading Key Vault secrets: Azure DevOps' vault task lists the vault and reads every
    secret (filter `*`), GitHub Actions with `az keyvault secret show` reads named ones."""

    actor: str
    flavor: str  # devops | github
    ident: AzureIdentity
    vault: KeyVault
    secrets: list[str]
    runs_per_hour: float
    nightly: bool

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.runs_per_hour * office_weight(start))):
            self._run(rng, start + rng.random() * HOUR, out)
        if self.nightly and c.local_hour(start) == 1 and rng.random() < 0.9:
            self._run(rng, start + rng.random() * 900, out)

    def _run(self, rng: random.Random, ts: float, out: list[Item]) -> None:
        ip = c.pick_ip(rng, c.CI_RUNNERS, 1, 120)
        client = c.AZ_PIPELINES if self.flavor == "devops" else c.AZ_CLI
        if self.flavor == "devops":
            _kv(out, self.actor, "SecretList", self.ident, self.vault, ts, source_ip=ip, client_info=client)
        t = ts
        for name in self.secrets:
            t += rng.uniform(0.05, 0.6) if self.flavor == "devops" else rng.uniform(1, 5)
            _kv(
                out,
                self.actor,
                "SecretGet",
                self.ident,
                self.vault,
                t,
                object_name=name,
                source_ip=ip,
                client_info=client,
            )


@dataclass
class AzTerraform:
    """azurerm plans: VaultGet, reads of secrets used as data sources, ARM writes on apply."""

    actor: str
    ident: AzureIdentity
    vaults: list[KeyVault]
    secrets: dict[str, list[str]]
    runs_per_hour: float
    ip: str

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.runs_per_hour * office_weight(start))):
            t = start + rng.random() * HOUR
            for vault in self.vaults:
                _kv(out, self.actor, "VaultGet", self.ident, vault, t, source_ip=self.ip, client_info=c.TERRAFORM_AZ)
                for name in self.secrets[vault.name]:
                    t += rng.uniform(0.05, 0.3)
                    _kv(
                        out,
                        self.actor,
                        "SecretGet",
                        self.ident,
                        vault,
                        t,
                        object_name=name,
                        source_ip=self.ip,
                        client_info=c.TERRAFORM_AZ,
                    )
            if rng.random() < 0.3:
                vault = rng.choice(self.vaults)
                name = rng.choice(self.secrets[vault.name])
                rid = f"{vault.resource_id}/SECRETS/{name.upper()}"
                _arm(out, self.actor, "MICROSOFT.KEYVAULT/VAULTS/SECRETS/WRITE", self.ident, t + 5, rid, self.ip, rng)
                _kv(
                    out,
                    self.actor,
                    "SecretSet",
                    self.ident,
                    vault,
                    t + 7,
                    object_name=name,
                    source_ip=self.ip,
                    client_info=c.TERRAFORM_AZ,
                )


@dataclass
class AzPerson:
    """A person in the portal or az CLI: ARM changes, and now and then a look at a vault."""

    actor: str
    ident: AzureIdentity
    tz: float
    office_ip: str
    home_ip: str
    vault: KeyVault
    team_secrets: list[str]
    rate: float
    p_secret: float

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        n = poisson(rng, self.rate * office_weight(start, self.tz))
        ip = self.office_ip if rng.random() < 0.6 else self.home_ip
        for _ in range(n):
            ts = start + rng.random() * HOUR
            if rng.random() < self.p_secret:
                self._look(rng, ts, ip, out)
            else:
                op = ARM_WRITES[rng.randrange(len(ARM_WRITES))]
                provider = "/".join(op.split("/")[:2])
                _arm(
                    out,
                    self.actor,
                    op,
                    self.ident,
                    ts,
                    _rid(self.vault, provider, f"res-{rng.randint(1, 40)}"),
                    ip,
                    rng,
                )

    def _look(self, rng: random.Random, ts: float, ip: str, out: list[Item]) -> None:
        portal = rng.random() < 0.6
        client = c.EDGE if portal else c.AZ_CLI
        if portal:
            _kv(out, self.actor, "VaultGet", self.ident, self.vault, ts, source_ip=ip, client_info=client)
            _kv(out, self.actor, "SecretList", self.ident, self.vault, ts + 2, source_ip=ip, client_info=client)
            ts += rng.uniform(5, 30)
        for name in rng.sample(self.team_secrets, min(len(self.team_secrets), rng.choice((1, 1, 2)))):
            if portal:
                _kv(
                    out,
                    self.actor,
                    "SecretListVersions",
                    self.ident,
                    self.vault,
                    ts,
                    object_name=name,
                    source_ip=ip,
                    client_info=client,
                )
                ts += rng.uniform(2, 10)
            _kv(
                out,
                self.actor,
                "SecretGet",
                self.ident,
                self.vault,
                ts,
                object_name=name,
                source_ip=ip,
                client_info=client,
            )
            ts += rng.uniform(5, 90)


@dataclass
class AzAutoscale:
    """A platform service principal scaling VM scale sets: ARM writes around the clock."""

    actor: str
    ident: AzureIdentity
    vault: KeyVault  # only for its subscription and resource group
    per_hour: float

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.per_hour * (0.5 + office_weight(start)))):
            ts = start + rng.random() * HOUR
            rid = _rid(self.vault, "MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS", f"vmss-{rng.randint(1, 6)}")
            _arm(out, self.actor, "MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/WRITE", self.ident, ts, rid, None, rng)
