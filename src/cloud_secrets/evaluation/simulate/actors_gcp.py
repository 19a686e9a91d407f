"""Benign Google Cloud actors: Secret Manager and other services' audit logs."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..upstream.gcp import GcpPrincipal, GcpProject, secret_manager_event
from . import common as c
from .common import HOUR, Item, office_weight, poisson
from .fast import FAST


def _sm(out: list[Item], actor: str, method: str, who: GcpPrincipal, project: GcpProject, ts: float, **kw: Any) -> None:
    out.append(Item(ts, secret_manager_event(method, who, project, ts, **kw), who.canonical, actor))


# Other services' audit entries (service, method, permission, resource suffix, log type).
OTHER_CALLS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "compute.googleapis.com",
        "v1.compute.instances.list",
        "compute.instances.list",
        "zones/us-central1-a/instances",
        "data_access",
    ),
    (
        "compute.googleapis.com",
        "beta.compute.instances.aggregatedList",
        "compute.instances.list",
        "global/instances",
        "data_access",
    ),
    ("storage.googleapis.com", "storage.buckets.list", "storage.buckets.list", "", "data_access"),
    (
        "container.googleapis.com",
        "google.container.v1.ClusterManager.GetCluster",
        "container.clusters.get",
        "locations/us-central1/clusters/prod",
        "data_access",
    ),
    ("iam.googleapis.com", "google.iam.admin.v1.ListServiceAccounts", "iam.serviceAccounts.list", "", "data_access"),
    (
        "compute.googleapis.com",
        "v1.compute.instances.insert",
        "compute.instances.create",
        "zones/us-central1-a/instances/batch-worker",
        "activity",
    ),
    ("cloudresourcemanager.googleapis.com", "GetIamPolicy", "resourcemanager.projects.getIamPolicy", "", "data_access"),
)


def _other(
    out: list[Item],
    actor: str,
    who: GcpPrincipal,
    project: GcpProject,
    ts: float,
    ip: str | None,
    ua: str,
    rng: random.Random,
) -> None:
    service, method, permission, suffix, log_type = OTHER_CALLS[rng.randrange(len(OTHER_CALLS))]
    resource = f"projects/{project.id}" + (f"/{suffix}" if suffix else "")
    doc = FAST.gcp_call(
        method,
        who,
        project,
        ts,
        service_name=service,
        resource_name=resource,
        permission=permission,
        caller_ip=ip,
        user_agent=ua,
        log_type=log_type,
    )  # type: ignore[arg-type]
    out.append(Item(ts, doc, who.canonical, actor))


@dataclass
class GcpPoller:
    """A workload (GKE, Cloud Run, GCE) reading its secrets with its service account."""

    actor: str
    who: GcpPrincipal
    project: GcpProject
    secrets: list[str]
    interval: float
    phase: float
    ip: str  # gce-internal-ip / private / an address
    ua: str
    bucket: str | None = None  # reads objects from this bucket too (storage data access logs)

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        t = start + ((self.phase - start) % self.interval)
        while t < start + HOUR:
            for k, name in enumerate(self.secrets):
                ts = t + rng.random() * 0.3 + k * 0.03
                out.append(
                    Item(
                        ts,
                        FAST.gcp_access(self.who, self.project, ts, name, self.ip, self.ua),
                        self.who.canonical,
                        self.actor,
                    )
                )
            t += self.interval
        if self.bucket:
            for _ in range(poisson(rng, 2 + 4 * office_weight(start))):
                ts = start + rng.random() * HOUR
                doc = FAST.gcp_call(
                    "storage.objects.get",
                    self.who,
                    self.project,
                    ts,
                    service_name="storage.googleapis.com",
                    resource_name=f"projects/_/buckets/{self.bucket}/objects/exports/{rng.randint(1, 40)}.json",
                    permission="storage.objects.get",
                    caller_ip=self.ip,
                    user_agent=self.ua,
                )
                out.append(Item(ts, doc, self.who.canonical, self.actor))


@dataclass
class GcpCi:
    """Cloud Build or GitHub Actions (workload identity federation) reading secrets on each run."""

    actor: str
    who: GcpPrincipal
    project: GcpProject
    secrets: list[str]
    runs_per_hour: float
    cloud_build: bool

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.runs_per_hour * office_weight(start))):
            ts = start + rng.random() * HOUR
            ip = "private" if self.cloud_build else c.pick_ip(rng, c.CI_RUNNERS, 1, 120)
            ua = c.GCP_LIBS[0] if self.cloud_build else c.gcloud("secrets.versions.access")
            for name in self.secrets:
                ts += rng.uniform(0.5, 4)
                _sm(
                    out,
                    self.actor,
                    "AccessSecretVersion",
                    self.who,
                    self.project,
                    ts,
                    secret=name,
                    caller_ip=ip,
                    user_agent=ua,
                )


@dataclass
class GcpTerraform:
    """Terraform plans: secret metadata, data-source reads, and other services' reads."""

    actor: str
    who: GcpPrincipal
    project: GcpProject
    secrets: list[str]
    runs_per_hour: float
    ip: str

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.runs_per_hour * office_weight(start))):
            t = start + rng.random() * HOUR
            for _ in range(6):
                t += rng.uniform(0.05, 0.3)
                _other(out, self.actor, self.who, self.project, t, self.ip, c.TERRAFORM_GCP, rng)
            for name in self.secrets:
                t += rng.uniform(0.05, 0.3)
                _sm(
                    out,
                    self.actor,
                    "GetSecret",
                    self.who,
                    self.project,
                    t,
                    secret=name,
                    caller_ip=self.ip,
                    user_agent=c.TERRAFORM_GCP,
                )
                if rng.random() < 0.5:
                    _sm(
                        out,
                        self.actor,
                        "AccessSecretVersion",
                        self.who,
                        self.project,
                        t + 0.1,
                        secret=name,
                        caller_ip=self.ip,
                        user_agent=c.TERRAFORM_GCP,
                    )


@dataclass
class GcpRotator:
    """A scheduled function that adds a new version, reads it back and disables the old one."""

    actor: str
    who: GcpPrincipal
    project: GcpProject
    secrets: list[str]
    hour_utc: int

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        if c.local_hour(start) != self.hour_utc:
            return
        t = start + rng.random() * 120
        for name in self.secrets:
            if rng.random() < 0.3:
                for method in ("AddSecretVersion", "AccessSecretVersion", "DisableSecretVersion"):
                    t += rng.uniform(0.2, 2)
                    kw: dict[str, Any] = {"version": "3"} if method == "DisableSecretVersion" else {}
                    _sm(
                        out,
                        self.actor,
                        method,
                        self.who,
                        self.project,
                        t,
                        secret=name,
                        caller_ip="private",
                        user_agent=c.GCP_LIBS[1],
                        **kw,
                    )


@dataclass
class GcpPerson:
    """A person in the console or gcloud: other services mostly, sometimes Secret Manager."""

    actor: str
    who: GcpPrincipal
    project: GcpProject
    tz: float
    office_ip: str
    home_ip: str
    team_secrets: list[str]
    rate: float
    p_secret: float

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        n = poisson(rng, self.rate * office_weight(start, self.tz))
        ip = self.office_ip if rng.random() < 0.6 else self.home_ip
        for _ in range(n):
            ts = start + rng.random() * HOUR
            console = rng.random() < 0.6
            ua = c.CHROME + ",gzip(gfe)" if console else c.gcloud("compute.instances.list")
            if rng.random() >= self.p_secret:
                _other(out, self.actor, self.who, self.project, ts, ip, ua, rng)
                continue
            if console:
                _sm(out, self.actor, "ListSecrets", self.who, self.project, ts, caller_ip=ip, user_agent=ua)
                ts += rng.uniform(3, 20)
            for name in rng.sample(self.team_secrets, min(len(self.team_secrets), rng.choice((1, 1, 2)))):
                if console:
                    _sm(
                        out,
                        self.actor,
                        "GetSecret",
                        self.who,
                        self.project,
                        ts,
                        secret=name,
                        caller_ip=ip,
                        user_agent=ua,
                    )
                    ts += rng.uniform(2, 10)
                _sm(
                    out,
                    self.actor,
                    "AccessSecretVersion",
                    self.who,
                    self.project,
                    ts,
                    secret=name,
                    caller_ip=ip,
                    user_agent=ua if console else c.gcloud("secrets.versions.access"),
                )
                ts += rng.uniform(5, 60)


K8S_CALLERS = (
    ("system:serviceaccount:kube-system:replicaset-controller", "kube-controller-manager/v1.29.1 (linux/amd64)"),
    ("system:serviceaccount:kube-system:cluster-autoscaler", "cluster-autoscaler/v1.29.0"),
    ("system:serviceaccount:cert-manager:cert-manager", "cert-manager/v1.14.4 (linux/amd64) cert-manager"),
    ("system:serviceaccount:external-secrets:external-secrets", "external-secrets/v0.9.14"),
    ("system:kube-scheduler", "kube-scheduler/v1.29.1 (linux/amd64)"),
)
K8S_CALLS = (("get", "secrets"), ("get", "configmaps"), ("list", "pods"), ("get", "leases"), ("watch", "secrets"))


@dataclass
class GkeAudit:
    """A GKE cluster's data-access audit entries: controllers reading Kubernetes objects, Kubernetes
    secrets among them (a look-alike that is not a cloud secret store)."""

    actor: str
    project: GcpProject
    cluster: str
    rate: float  # entries per hour

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.rate)):
            ts = start + rng.random() * HOUR
            name, ua = K8S_CALLERS[rng.randrange(len(K8S_CALLERS))]
            verb, kind = K8S_CALLS[rng.randrange(len(K8S_CALLS))]
            group = "coordination.k8s.io" if kind == "leases" else "core"
            namespace = rng.choice(("kube-system", "payments", "orders", "cert-manager"))
            obj = f"/{kind[:-1]}-{rng.randint(1, 12)}" if verb == "get" else ""
            who = GcpPrincipal.kubernetes(name)
            api = f"io.k8s.{'coordination' if group != 'core' else 'core'}.v1.{kind}.{verb}"
            doc = FAST.gcp_call(
                api,
                who,
                self.project,
                ts,
                service_name="k8s.io",
                resource_name=f"{group}/v1/namespaces/{namespace}/{kind}{obj}",
                permission=api,
                caller_ip=f"10.128.0.{2 + K8S_CALLERS.index((name, ua))}",
                user_agent=ua,
                k8s_cluster=self.cluster,
            )
            out.append(Item(ts, doc, who.canonical, self.actor))
