"""Benign look-alikes: legitimate activity that resembles harvesting, so that the backtest cannot be
flattered by a background made only of quiet pollers.

- `SdkCacheRefresh`: an application whose SDK secret cache (AWS Secrets Manager caching client, default
  TTL one hour, here a few hours) expires and re-reads all of its secrets at once.
- `CrashLoop`: an application that restarts every few minutes for an hour or two (CrashLoopBackOff) and
  reads its secrets on every start.
- `SecretSyncController`: External Secrets Operator (`refreshInterval: 1h`, a `find` by tag that lists
  the store first) or the Secrets Store CSI driver (reads at every pod mount), from a cluster's NAT
  gateway address: dozens of secrets an hour by one role.
- `ConsoleAdmin`: a person with the administrator permission set who signs in to the console and, now and
  then (incidents, audits), lists and opens many secrets.
- `CrossAccountDeploy`: a CI role in the tooling account that assumes a deploy role in production from a
  hosted runner's public address and reads the release's secrets as that role.
- `GcpImpersonatingDeployer`: a person or CI principal that mints an access token for a deployer service
  account (`GenerateAccessToken`) and reads secrets as it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..upstream.aws import AwsIdentity, assume_role_event, console_login_event, secrets_manager_event
from ..upstream.gcp import GcpPrincipal, GcpProject, secret_manager_event, token_event
from . import common as c
from .common import DAY, HOUR, Item, office_weight, poisson


def _sm(out: list[Item], actor: str, action: str, ident: AwsIdentity, ts: float, **kw: object) -> None:
    out.append(Item(ts, secrets_manager_event(action, ident, ts, **kw), ident.canonical, actor))  # type: ignore[arg-type]

def _read_each(out: list[Item], actor: str, ident: AwsIdentity, t: float, secrets: list[str], ip: str, ua: str,
               rng: random.Random, gap: tuple[float, float]) -> float:
    """One GetSecretValue per secret, each `gap` seconds (uniform) after the previous; returns the last time."""
    for sid in secrets:
        t += rng.uniform(*gap)
        _sm(out, actor, "GetSecretValue", ident, t, secret_id=sid, source_address=ip, user_agent=ua)
    return t



@dataclass
class SdkCacheRefresh:
    actor: str
    ident: AwsIdentity
    secrets: list[str]
    ttl_hours: int
    phase: int
    ip: str
    ua: str

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        if (int(start // HOUR) + self.phase) % self.ttl_hours:
            return
        _read_each(out, self.actor, self.ident, start + rng.uniform(0, 300), self.secrets, self.ip, self.ua, rng,
                   (0.01, 0.2))


@dataclass
class CrashLoop:
    actor: str
    ident: AwsIdentity
    secrets: list[str]
    ip: str
    ua: str
    p_incident: float = 0.015  # per hour
    left: int = field(default=0)  # hours of crash-looping still to go

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        if self.left == 0 and rng.random() < self.p_incident:
            self.left = rng.randint(1, 3)
        if self.left == 0:
            return
        self.left -= 1
        t = start + rng.uniform(0, 60)
        backoff = 10.0
        while t < start + HOUR:
            for sid in self.secrets:
                _sm(out, self.actor, "GetSecretValue", self.ident, t, secret_id=sid, source_address=self.ip,
                    user_agent=self.ua)
                t += rng.uniform(0.01, 0.1)
            backoff = min(backoff * 2, 300.0)  # kubelet's CrashLoopBackOff: 10 s doubling up to 5 min
            t += backoff + rng.uniform(5, 30)


@dataclass
class SecretSyncController:
    actor: str
    ident: AwsIdentity
    secrets: list[str]
    nat_ip: str
    flavor: str  # "eso" | "csi"
    ua: str = ("aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 "
               "api/secretsmanager#1.32.3 external-secrets")
    phase: float = 0.0

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        if self.flavor == "eso":  # refreshInterval 1h: list by tag, then read every match
            t = start + self.phase
            _sm(out, self.actor, "ListSecrets", self.ident, t, max_results=100,
                filters=({"key": "tag-key", "values": ["external-secrets"]},), source_address=self.nat_ip,
                user_agent=self.ua)
            _read_each(out, self.actor, self.ident, t, self.secrets, self.nat_ip, self.ua, rng, (0.02, 0.3))
            return
        # CSI driver: every pod mount reads that pod's secrets; rollouts mount many pods at once
        for _ in range(poisson(rng, 2.0 * (1 + 4 * office_weight(start)))):
            t = start + rng.random() * HOUR
            pod = rng.sample(self.secrets, min(len(self.secrets), rng.randint(2, 6)))
            _read_each(out, self.actor, self.ident, t, pod, self.nat_ip, self.ua, rng, (0.05, 0.5))


@dataclass
class ConsoleAdmin:
    actor: str
    ident: AwsIdentity
    tz: float
    office_ip: str
    vpn_ip: str
    secrets: list[str]
    p_incident: float = 0.02  # per busy hour
    last_login_day: int = -1

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        busy = office_weight(start, self.tz)
        if rng.random() > busy * 0.8:
            return
        ip = self.vpn_ip if rng.random() < 0.25 else self.office_ip
        t = start + rng.random() * 1800
        day = int(start // DAY)
        if day != self.last_login_day:
            self.last_login_day = day
            out.append(Item(t, console_login_event(self.ident, t, source_address=ip, user_agent=c.CHROME),
                            self.ident.canonical, self.actor))
            t += rng.uniform(20, 120)
        kw = {"source_address": ip, "user_agent": c.CHROME}
        if rng.random() < self.p_incident:  # an incident or an audit: open many secrets
            _sm(out, self.actor, "ListSecrets", self.ident, t, max_results=100, **kw)
            for sid in rng.sample(self.secrets, min(len(self.secrets), rng.randint(6, 14))):
                t += rng.uniform(10, 90)
                _sm(out, self.actor, "DescribeSecret", self.ident, t, secret_id=sid, **kw)
                _sm(out, self.actor, "GetSecretValue", self.ident, t + rng.uniform(2, 10), secret_id=sid, **kw)
        elif rng.random() < 0.2:
            _sm(out, self.actor, "ListSecrets", self.ident, t, max_results=10, **kw)
            sid = rng.choice(self.secrets)
            _sm(out, self.actor, "GetSecretValue", self.ident, t + rng.uniform(5, 30), secret_id=sid, **kw)


@dataclass
class CrossAccountDeploy:
    actor: str
    ci: AwsIdentity  # the CI role in the tooling account
    deploy: AwsIdentity  # the role it assumes in production
    secrets: list[str]
    runs_per_day: float
    ua: str = c.TERRAFORM_AWS

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.runs_per_day / 24 * (0.3 + 2 * office_weight(start)))):
            ip = c.pick_ip(rng, c.CI_RUNNERS, 1, 120)  # a fresh hosted runner
            t = start + rng.random() * HOUR
            out.append(Item(t, assume_role_event(self.ci, t, role=self.deploy, source_address=ip, user_agent=self.ua),
                            self.ci.canonical, self.actor))
            for sid in rng.sample(self.secrets, min(len(self.secrets), rng.randint(8, 20))):
                t += rng.uniform(0.1, 2)
                _sm(out, self.actor, "GetSecretValue", self.deploy, t, secret_id=sid, source_address=ip,
                    user_agent=self.ua)


@dataclass
class GcpImpersonatingDeployer:
    actor: str
    caller: GcpPrincipal
    target: GcpPrincipal
    project: GcpProject
    secrets: list[str]
    tz: float
    ip: str
    runs_per_day: float = 1.5

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.runs_per_day / 8 * office_weight(start, self.tz))):
            t = start + rng.random() * HOUR
            ua = c.gcloud("auth.print-access-token")
            doc = token_event("GenerateAccessToken", self.caller, self.project, t, target=self.target,
                              caller_ip=self.ip, user_agent=ua)
            out.append(Item(t, doc, self.caller.canonical, self.actor))
            for name in rng.sample(self.secrets, min(len(self.secrets), rng.randint(2, 6))):
                t += rng.uniform(0.5, 5)
                doc = secret_manager_event("AccessSecretVersion", self.target, self.project, t, secret=name,
                                           caller_ip=self.ip, user_agent=c.TERRAFORM_GCP)
                out.append(Item(t, doc, self.target.canonical, self.actor))
