"""Benign AWS Systems Manager Parameter Store actors: each emits the CloudTrail documents of one simulated hour.

Shapes follow `upstream.ssm` (Parameter Store calls are read-only management events of `ssm.amazonaws.com`).
Every actor draws from its own random generator, so adding these actors leaves the draws of the other actors
of the world, and so their documents, unchanged.

- `SsmApp`: a service reading its SecureString parameters with `GetParameters --with-decryption` at each
  container start and `GetParameter --with-decryption` for one of them now and then (a refreshed config),
  or loading its whole `/prod/<service>/` subtree with `GetParametersByPath --with-decryption --recursive`
  (Spring Cloud AWS, chamber, Powertools): one page of up to 10.
- `SsmAmiLookup`: launch templates and autoscaling scripts resolving public AMI ids under `/aws/service/`
  with `GetParameter` without decryption, a look-alike that must stay untagged.
- `SsmPerson`: an engineer browsing Parameter Store in office hours: `DescribeParameters`, then reading a
  few values with decryption.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..upstream.aws import AwsIdentity
from ..upstream.ssm import parameter_event
from . import common as c
from .common import HOUR, Item, office_weight, poisson

AMI_PARAMETERS = (
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    "/aws/service/eks/optimized-ami/1.29/amazon-linux-2/recommended/image_id",
)
PARAMETER_KINDS = ("db-password", "api-key", "redis-auth", "smtp-password", "jwt-signing-key", "webhook-secret",
                   "feature-flags", "service-url")
SSM_SDK = "aws-sdk-java/2.25.13 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS " \
          "Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"


def parameter_names(service: str) -> list[str]:
    """The SecureString parameters of one service, `/prod/<service>/<kind>`."""
    return [f"/prod/{service}/{kind}" for kind in PARAMETER_KINDS]


@dataclass
class OwnRandom:
    """An actor drawing from its own generator, never the world's shared one: adding it to the world leaves
    the draws, and so the documents, of every other actor unchanged."""

    actor: str
    rng: random.Random = field(repr=False, default_factory=random.Random, kw_only=True)

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        self.emit(self.rng, start, out)

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        raise NotImplementedError


def office_session(r: random.Random, sessions_per_day: float, start: float, tz: float) -> bool:
    """Does a person start a session in this hour (office hours weigh, weekends hardly)?"""
    return r.random() < sessions_per_day / 8 * office_weight(start, tz)


@dataclass
class SsmApp(OwnRandom):
    """A service reading its parameters, decrypted, at each container start: by name (`GetParameters`, and a
    `GetParameter` now and then), or its whole subtree (`GetParametersByPath --recursive`) when `path` is set."""

    ident: AwsIdentity
    names: list[str]
    starts_per_hour: float
    ip: str
    region: str
    path: str | None = None

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        calls = [("GetParametersByPath", {"path": self.path, "recursive": True}) if self.path
                 else ("GetParameters", {"names": self.names})] * poisson(r, self.starts_per_hour)
        if not self.path and r.random() < 0.3:
            calls.append(("GetParameter", {"name": r.choice(self.names)}))
        for action, kw in calls:
            ts = start + r.random() * HOUR
            out.append(Item(ts, parameter_event(action, self.ident, ts, with_decryption=True,  # type: ignore[arg-type]
                                                region=self.region, source_address=self.ip, user_agent=SSM_SDK, **kw),
                            self.ident.canonical, self.actor))


@dataclass
class SsmAmiLookup(OwnRandom):
    """Instances and launch scripts resolving public AMI ids: GetParameter without decryption (untagged)."""

    ident: AwsIdentity
    calls_per_hour: float
    region: str

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(r, self.calls_per_hour)):
            ts = start + r.random() * HOUR
            out.append(Item(ts, parameter_event("GetParameter", self.ident, ts, name=r.choice(AMI_PARAMETERS),
                                                region=self.region, source_address=c.private_ip(r, 20),
                                                user_agent=SSM_SDK), self.ident.canonical, self.actor))


@dataclass
class SsmPerson(OwnRandom):
    """An engineer in the console: lists the parameters, then reads a few of them decrypted."""

    ident: AwsIdentity
    names: list[str]
    sessions_per_day: float
    tz: float
    region: str

    def emit(self, r: random.Random, start: float, out: list[Item]) -> None:
        if not office_session(r, self.sessions_per_day, start, self.tz):
            return
        ip = c.pick_ip(r, c.OFFICE_NAT, 10, 19)
        ts = start + r.random() * (HOUR - 300)
        ua = c.aws_cli("ssm.describe-parameters")
        out.append(Item(ts, parameter_event("DescribeParameters", self.ident, ts, max_results=50, region=self.region,
                                            source_address=ip, user_agent=ua), self.ident.canonical, self.actor))
        for name in r.sample(self.names, r.randint(1, 3)):
            ts += r.uniform(5, 60)
            out.append(Item(ts, parameter_event("GetParameter", self.ident, ts, name=name, with_decryption=True,
                                                region=self.region, source_address=ip,
                                                user_agent=ua.replace("describe-parameters", "get-parameter")),
                            self.ident.canonical, self.actor))


def ssm_actors(seed: int, n: int, account: str, region: str, services: tuple[str, ...],
               people: list[AwsIdentity]) -> list[OwnRandom]:
    """About 5% of `n` Parameter Store actors in `account`, with their own random generators."""
    rng = random.Random(f"ssm:{seed}")
    out: list[OwnRandom] = []
    count = max(2, round(n * 0.05))
    for i in range(count):
        svc = services[i % len(services)]
        role = AwsIdentity.assumed_role(account, f"{svc}-ssm-{i}-task-role", f"ecs-{svc}-{i}")
        ip = c.private_ip(rng, 30 + i % 4)
        own = random.Random(f"ssm:{seed}:{i}")
        if i % 3 == 2:
            out.append(SsmApp(f"ssm-loader:{role.name}", role, [], rng.uniform(0.05, 0.2), ip, region,
                              f"/prod/{svc}/", rng=own))
        else:
            names = rng.sample(parameter_names(svc), rng.randint(2, 6))
            out.append(SsmApp(f"ssm-app:{role.name}", role, names, rng.uniform(0.1, 0.5), ip, region, rng=own))
    launcher = AwsIdentity.assumed_role(account, "autoscaling-launch-role", "i-0launch")
    out.append(SsmAmiLookup("ssm-ami:autoscaling", launcher, 6.0, region, rng=random.Random(f"ssm:{seed}:ami")))
    for k, person in enumerate(people[:3]):
        names = [p for svc in services[k * 2:k * 2 + 3] for p in parameter_names(svc)]
        out.append(SsmPerson(f"ssm-person:{person.canonical}", person, names, 1.0, 0.0, region,
                             rng=random.Random(f"ssm:{seed}:person:{k}")))
    return out
