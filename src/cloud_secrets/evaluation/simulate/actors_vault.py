"""Benign HashiCorp Vault actors: each emits the audit entries (request and response) of one simulated hour.

Shapes follow `upstream.vault` (Elastic's hashicorp_vault integration, audit data stream). Every actor draws
from its own random generator, so adding these actors leaves the other actors' documents unchanged.

- `VaultApp`: a workload (AppRole or Kubernetes auth) whose Vault Agent logs in, then re-reads its KV v2
  secrets every `interval` and renews its token (`auth/token/renew-self`, untagged).
- `VaultDbApp`: a workload leasing dynamic database credentials (`database/creds/<role>`) once per lease.
- `VaultSync`: a secret-sync controller (External Secrets Operator) refreshing the secrets of one namespace
  every hour.
- `VaultPerson`: an engineer signed in with OIDC, in office hours: lists a folder, reads a secret's metadata
  and a few values.
- `VaultMonitor`: a monitoring token reading `sys/mounts` and `sys/policies` (untagged look-alikes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ...timestamps import to_ms
from ..upstream.vault import VaultPrincipal, audit_events, kv_path
from . import common as c
from .actors_ssm import OwnRandom, office_session
from .common import HOUR, Item, poisson

KV_MOUNT = "secret"
VAULT_KINDS = ("db-password", "api-key", "redis-auth", "oauth-client-secret", "smtp-password", "signing-key")


def vault_identity(p: VaultPrincipal) -> str:
    """What the tagging pipeline names the caller (see vault.painless): OIDC email, AppRole
    `<display name>:<role_name>`, else the token's display name."""
    if "email" in p.metadata:
        return p.metadata["email"].lower()
    if "role_name" in p.metadata:
        return f"{p.display_name}:{p.metadata['role_name']}"
    return p.display_name


def secret_names(service: str) -> list[str]:
    """The KV v2 secrets of one service, `apps/<service>/<kind>`."""
    return [f"apps/{service}/{kind}" for kind in VAULT_KINDS]


def _call(out: list[Item], actor: str, who: VaultPrincipal, operation: str, path: str, ts: float, ip: str,
          **kw: object) -> None:
    identity = vault_identity(who)
    for doc in audit_events(operation, path, who, ts, remote_address=ip, **kw):  # type: ignore[arg-type]
        out.append(Item(to_ms(doc["@timestamp"]) / 1000, doc, identity, actor))


@dataclass
class VaultApp(OwnRandom):
    who: VaultPrincipal
    secrets: list[str]
    interval: float
    ip: str
    login_path: str

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        t = start + r.random() * self.interval
        while t < start + HOUR:
            for k, name in enumerate(self.secrets):
                _call(out, self.actor, self.who, "read", kv_path(KV_MOUNT, name), t + k * 0.05, self.ip,
                      response_data={"data": {"value": name}, "metadata": {"version": 1 + k, "destroyed": False}})
            t += self.interval
        _call(out, self.actor, self.who, "update", "auth/token/renew-self", start + r.random() * HOUR, self.ip,
              mount_type="token")
        if r.random() < 0.1:
            _call(out, self.actor, self.who, "update", self.login_path, start + r.random() * HOUR, self.ip,
                  mount_type=self.login_path.split("/")[1])


@dataclass
class VaultDbApp(OwnRandom):
    who: VaultPrincipal
    role: str
    leases_per_hour: float
    ip: str

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(max(1, poisson(r, self.leases_per_hour))):
            _call(out, self.actor, self.who, "read", f"database/creds/{self.role}", start + r.random() * HOUR,
                  self.ip, mount_type="database", response_data={"username": f"v-{self.role}", "password": "x"})


@dataclass
class VaultSync(OwnRandom):
    who: VaultPrincipal
    secrets: list[str]
    ip: str

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        t = start + r.uniform(0, 300)
        for k, name in enumerate(self.secrets):
            _call(out, self.actor, self.who, "read", kv_path(KV_MOUNT, name), t + k * 0.2, self.ip,
                  response_data={"data": {"value": name}, "metadata": {"version": 1, "destroyed": False}})


@dataclass
class VaultPerson(OwnRandom):
    who: VaultPrincipal
    services: list[str]
    sessions_per_day: float
    tz: float

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        if not office_session(r, self.sessions_per_day, start, self.tz):
            return
        ip = c.pick_ip(r, c.VPN_POOL, 100, 140)
        svc = r.choice(self.services)
        ts = start + r.random() * (HOUR - 300)
        _call(out, self.actor, self.who, "update", "auth/oidc/oidc/callback", ts, ip, mount_type="oidc")
        _call(out, self.actor, self.who, "list", f"{KV_MOUNT}/metadata/apps/{svc}/", ts + 5, ip,
              response_data={"keys": list(VAULT_KINDS)})
        for name in r.sample(secret_names(svc), r.randint(1, 3)):
            ts += r.uniform(5, 60)
            _call(out, self.actor, self.who, "read", kv_path(KV_MOUNT, name, metadata=True), ts, ip,
                  response_data={"current_version": 2})
            _call(out, self.actor, self.who, "read", kv_path(KV_MOUNT, name), ts + 2, ip,
                  response_data={"data": {"value": name}, "metadata": {"version": 2, "destroyed": False}})


@dataclass
class VaultMonitor(OwnRandom):
    who: VaultPrincipal
    ip: str

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        for k in range(12):
            ts = start + k * 300 + r.random() * 10
            _call(out, self.actor, self.who, "read", "sys/mounts", ts, self.ip, mount_type="system")
            _call(out, self.actor, self.who, "list", "sys/policies/acl", ts + 1, self.ip, mount_type="system")


def vault_actors(seed: int, n: int, services: tuple[str, ...], people: list[str]) -> list[OwnRandom]:
    """About 6% of `n` Vault actors (workloads, a sync controller, people, monitoring)."""
    rng = random.Random(f"vault:{seed}")
    out: list[OwnRandom] = []
    count = max(3, round(n * 0.04))
    for i in range(count):
        svc = services[i % len(services)]
        own = random.Random(f"vault:{seed}:{i}")
        ip = c.private_ip(rng, 40 + i % 4)
        if i % 4 == 3:
            who = VaultPrincipal.approle(f"{svc}-db", policies=(f"{svc}-db",))
            out.append(VaultDbApp(f"vault-db:{svc}", who, f"{svc}-rw", rng.uniform(0.8, 1.5), ip, rng=own))
        elif i % 2:
            who = VaultPrincipal.kubernetes(svc, f"{svc}-api", svc)
            names = rng.sample(secret_names(svc), rng.randint(1, 3))
            out.append(VaultApp(f"vault-app:k8s:{svc}", who, names, 60.0 * rng.choice((5, 15, 30, 60)), ip,
                                "auth/kubernetes/login", rng=own))
        else:
            who = VaultPrincipal.approle(f"{svc}-api", policies=(svc,))
            names = rng.sample(secret_names(svc), rng.randint(1, 3))
            out.append(VaultApp(f"vault-app:approle:{svc}", who, names, 60.0 * rng.choice((5, 15, 30, 60)), ip,
                                "auth/approle/login", rng=own))
    eso = VaultPrincipal.kubernetes("external-secrets", "external-secrets", "eso")
    synced = [name for svc in services[:2] for name in secret_names(svc)]
    out.append(VaultSync("vault-sync:external-secrets", eso, synced, c.private_ip(rng, 44),
                         rng=random.Random(f"vault:{seed}:eso")))
    for k, email in enumerate(people[:4]):
        who = VaultPrincipal.oidc(email, role="engineers")
        out.append(VaultPerson(f"vault-person:{email}", who, list(services[k:k + 3]), 1.0, 0.0,
                               rng=random.Random(f"vault:{seed}:person:{k}")))
    out.append(VaultMonitor("vault-monitor:prometheus", VaultPrincipal.token("prometheus"), c.private_ip(rng, 45),
                            rng=random.Random(f"vault:{seed}:monitor")))
    return out
