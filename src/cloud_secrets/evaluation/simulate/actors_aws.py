"""Benign AWS actors: each emits the CloudTrail documents of one simulated hour."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from ..upstream._common import stable_hex, stable_uuid
from ..upstream.aws import AwsIdentity, cloudtrail_event, console_login_event, secrets_manager_event
from . import common as c
from .common import DAY, HOUR, Item, office_weight, poisson
from .fast import FAST


def _sm(out: list[Item], actor: str, action: str, ident: AwsIdentity, ts: float, **kw: Any) -> None:
    out.append(Item(ts, secrets_manager_event(action, ident, ts, **kw), ident.canonical, actor))


def _ct(
    out: list[Item],
    actor: str,
    ident: AwsIdentity,
    ts: float,
    source: str,
    action: str,
    params: dict[str, Any] | None,
    **kw: Any,
) -> None:
    doc = cloudtrail_event(action, ident, ts, event_source=source, request_parameters=params, **kw)
    out.append(Item(ts, doc, ident.canonical, actor))


def _java_date(ts: float) -> str:
    """`Mar 2, 2026, 6:00:00 PM`, the way CloudTrail renders credential expirations."""
    t = time.gmtime(ts)
    clock = f"{(t.tm_hour - 1) % 12 + 1}:{t.tm_min:02d}:{t.tm_sec:02d} {'AM' if t.tm_hour < 12 else 'PM'}"
    return f"{time.strftime('%b', t)} {t.tm_mday}, {t.tm_year}, {clock}"


def _assume_role_by_service(out: list[Item], service: str, account: str, role: AwsIdentity, ts: float) -> None:
    """The hourly credential refresh of an instance/task/function role, made by the AWS service itself."""
    svc = AwsIdentity.aws_service(service, account)
    params = {"roleArn": role.role_arn, "roleSessionName": role.session_name}
    response = {
        "assumedRoleUser": {"assumedRoleId": role.principal_id, "arn": role.arn},
        "credentials": {
            "accessKeyId": role.access_key_id,
            "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "expiration": _java_date(ts + 6 * HOUR),
        },
    }
    doc = cloudtrail_event(
        "AssumeRole",
        svc,
        ts,
        event_source="sts.amazonaws.com",
        region="us-east-1",
        request_parameters=params,
        response_elements=response,
    )
    out.append(Item(ts, doc, svc.canonical, f"service:{service}"))


def _kms_decrypt(out: list[Item], actor: str, ident: AwsIdentity, ts: float, secret_arn: str) -> None:
    """The kms:Decrypt Secrets Manager makes on the caller's behalf for a secret under a customer key."""
    on_behalf = ident.with_invoked_by("secretsmanager.amazonaws.com")
    account, region = secret_arn.split(":")[4], secret_arn.split(":")[3]
    params = {
        "encryptionContext": {"SecretARN": secret_arn, "SecretVersionId": stable_uuid("v", secret_arn)},
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    assert account == ident.account_id
    host = "secretsmanager.amazonaws.com"
    doc = FAST.aws_call(
        "Decrypt", on_behalf, ts, event_source="kms.amazonaws.com", params=params, ip=host, ua=host, region=region
    )
    out.append(Item(ts, doc, on_behalf.canonical, actor))


# Management calls people and tools make all day (event source, action, request parameters).
BROWSING: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("ec2.amazonaws.com", "DescribeInstances", {"maxResults": 1000}),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", {"maxResults": 1000}),
    ("ec2.amazonaws.com", "DescribeVpcs", {"maxResults": 1000}),
    ("s3.amazonaws.com", "ListBuckets", {"Host": "s3.amazonaws.com"}),
    ("sts.amazonaws.com", "GetCallerIdentity", None),
    ("logs.amazonaws.com", "DescribeLogGroups", {"limit": 50}),
    ("monitoring.amazonaws.com", "DescribeAlarms", {"maxRecords": 100}),
    ("rds.amazonaws.com", "DescribeDBInstances", {"maxRecords": 100}),
    ("lambda.amazonaws.com", "ListFunctions20150331", {"maxItems": 50}),
    ("iam.amazonaws.com", "ListRoles", {"maxItems": 100}),
    ("ecs.amazonaws.com", "ListClusters", {"maxResults": 100}),
    ("cloudformation.amazonaws.com", "DescribeStacks", None),
)


@dataclass
class AwsPoller:
    """An application that reads the same 1-3 secrets every `interval` seconds, day and night."""

    actor: str
    ident: AwsIdentity
    secrets: list[str]
    interval: float
    phase: float
    ip: str
    ua: str
    service: str  # who refreshes the role credentials: ec2.amazonaws.com / ecs-tasks.amazonaws.com
    exec_role: AwsIdentity | None = None  # ECS task execution role: pulls secrets at container start
    metrics: bool = False
    cmk: bool = False  # secrets under a customer-managed KMS key: each read logs a kms Decrypt too

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        t = start + ((self.phase - start) % self.interval)
        while t < start + HOUR:
            for k, sid in enumerate(self.secrets):
                ts = t + rng.random() * 0.3 + k * 0.04
                if rng.random() < 0.0005:
                    _sm(
                        out,
                        self.actor,
                        "GetSecretValue",
                        self.ident,
                        ts,
                        secret_id=sid + "-old",
                        source_address=self.ip,
                        user_agent=self.ua,
                        error_code="ResourceNotFoundException",
                        error_message="Secrets Manager can't find the specified secret.",
                    )
                    continue
                out.append(
                    Item(ts, FAST.aws_read(self.ident, ts, sid, self.ip, self.ua), self.ident.canonical, self.actor)
                )
                if self.cmk and sid.startswith("arn:"):
                    _kms_decrypt(out, self.actor, self.ident, ts + 0.01, sid)
            t += self.interval
        _assume_role_by_service(out, self.service, self.ident.account_id, self.ident, start + rng.random() * 60)
        if self.metrics:
            for q in range(4):
                ts = start + q * 900 + rng.random() * 30
                doc = FAST.aws_call(
                    "PutMetricData",
                    self.ident,
                    ts,
                    event_source="monitoring.amazonaws.com",
                    params={"namespace": f"App/{self.ident.name}"},
                    ip=self.ip,
                    ua=self.ua,
                )
                out.append(Item(ts, doc, self.ident.canonical, self.actor))
        if self.exec_role and rng.random() < 0.12 * office_weight(start):
            self.deploy(rng, start + rng.random() * 3000, out)

    def deploy(self, rng: random.Random, ts: float, out: list[Item]) -> None:
        """A rolling deploy: the ECS agent fetches the secrets for each new task; new task sessions."""
        assert self.exec_role is not None
        for task in range(rng.randint(2, 4)):
            task_id = stable_hex(32, self.actor, ts, task)
            puller = AwsIdentity.assumed_role(
                self.exec_role.account_id, self.exec_role.name, task_id, invoked_by="ecs-tasks.amazonaws.com"
            )
            for k, sid in enumerate(self.secrets):
                _sm(out, self.actor, "GetSecretValue", puller, ts + task * 20 + k * 0.1, secret_id=sid)
        self.ident = AwsIdentity.assumed_role(self.ident.account_id, self.ident.name, stable_hex(32, self.actor, ts))


@dataclass
class AwsLambdaApp:
    """A function that reads its secrets at each cold start."""

    actor: str
    ident: AwsIdentity
    secrets: list[str]
    rate: float  # cold starts per hour at peak
    ip: str

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.rate * (0.3 + office_weight(start)))):
            ts = start + rng.random() * HOUR
            for k, sid in enumerate(self.secrets):
                t = ts + k * 0.05
                out.append(
                    Item(t, FAST.aws_read(self.ident, t, sid, self.ip, c.LAMBDA_PY), self.ident.canonical, self.actor)
                )


@dataclass
class AwsCi:
    """A CI/CD pipeline (GitHub Actions, GitLab, Jenkins, CodeBuild) reading its secrets on every run."""

    actor: str
    flavor: str
    ident: AwsIdentity
    secrets: list[str]
    runs_per_hour: float
    nightly: bool
    fixed_ip: str | None = None
    oidc_subject: str | None = None

    def _run(self, rng: random.Random, ts: float, out: list[Item]) -> None:
        ip = self.fixed_ip or c.pick_ip(rng, c.CI_RUNNERS, 1, 120)
        ident = self.ident
        if self.flavor == "gitlab":
            ident = AwsIdentity.assumed_role(ident.account_id, ident.name, f"gitlab-{rng.randint(10**8, 10**9)}")
        elif self.flavor == "codebuild":
            ident = AwsIdentity.assumed_role(ident.account_id, ident.name, f"AWSCodeBuild-{stable_uuid(ts, 'cb')}")
        ua = c.aws_cli("secretsmanager.get-secret-value", "os/linux#6.5.0-1018-azure md/arch#x86_64")
        if self.flavor == "jenkins":
            ua = c.AWS_SDKS[0]
        if self.oidc_subject:
            web = AwsIdentity.web_identity(ident.account_id, self.oidc_subject, "token.actions.githubusercontent.com")
            _ct(
                out,
                self.actor,
                web,
                ts - 2,
                "sts.amazonaws.com",
                "AssumeRoleWithWebIdentity",
                {"roleArn": ident.role_arn, "roleSessionName": ident.session_name, "durationSeconds": 3600},
                source_address=ip,
                user_agent="configure-aws-credentials-for-github-actions",
            )
        t = ts
        for sid in self.secrets:
            t += rng.uniform(0.3, 6.0)
            _sm(out, self.actor, "GetSecretValue", ident, t, secret_id=sid, source_address=ip, user_agent=ua)
        for action in ("GetAuthorizationToken", "DescribeServices", "UpdateService"):
            t += rng.uniform(20, 90)
            src = "ecr.amazonaws.com" if action == "GetAuthorizationToken" else "ecs.amazonaws.com"
            params = None if src == "ecr.amazonaws.com" else {"cluster": "prod", "service": self.actor.split(":")[-1]}
            _ct(out, self.actor, ident, t, src, action, params, source_address=ip, user_agent=ua)

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.runs_per_hour * office_weight(start))):
            self._run(rng, start + rng.random() * HOUR, out)
        if self.nightly and c.local_hour(start) == 2 and rng.random() < 0.9:
            self._run(rng, start + rng.random() * 900, out)


@dataclass
class AwsIac:
    """Terraform / Pulumi plans (enumerate + describe + read) and CloudFormation dynamic references."""

    actor: str
    flavor: str  # terraform | pulumi | cloudformation
    ident: AwsIdentity
    secrets: list[str]
    runs_per_hour: float
    ip: str

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        for _ in range(poisson(rng, self.runs_per_hour * office_weight(start))):
            self._run(rng, start + rng.random() * HOUR, out)

    def _run(self, rng: random.Random, ts: float, out: list[Item]) -> None:
        if self.flavor == "cloudformation":
            ident = self.ident.with_invoked_by("cloudformation.amazonaws.com")
            for k, sid in enumerate(rng.sample(self.secrets, min(len(self.secrets), rng.randint(2, 6)))):
                _sm(out, self.actor, "GetSecretValue", ident, ts + k * 0.5, secret_id=sid)
            return
        ua = c.TERRAFORM_AWS if self.flavor == "terraform" else c.PULUMI_AWS
        session = f"{self.flavor}-{stable_hex(8, self.actor, ts)}"
        ident = AwsIdentity.assumed_role(self.ident.account_id, self.ident.name, session)
        t = ts
        for src, action, params in BROWSING[:3] + BROWSING[6:10]:
            t += rng.uniform(0.05, 0.4)
            _ct(out, self.actor, ident, t, src, action, params, source_address=self.ip, user_agent=ua)
        if self.flavor == "pulumi":
            _sm(out, self.actor, "ListSecrets", ident, t + 0.2, max_results=100, source_address=self.ip, user_agent=ua)
        for sid in self.secrets:
            t += rng.uniform(0.05, 0.5)
            _sm(out, self.actor, "DescribeSecret", ident, t, secret_id=sid, source_address=self.ip, user_agent=ua)
            _sm(
                out,
                self.actor,
                "GetResourcePolicy",
                ident,
                t + 0.05,
                secret_id=sid,
                source_address=self.ip,
                user_agent=ua,
            )
            if rng.random() < 0.4:
                _sm(
                    out,
                    self.actor,
                    "GetSecretValue",
                    ident,
                    t + 0.1,
                    secret_id=sid,
                    version_stage="AWSCURRENT",
                    source_address=self.ip,
                    user_agent=ua,
                )


@dataclass
class AwsRotation:
    """A rotation Lambda: for each due secret the four steps, nightly; now and then a bulk night."""

    actor: str
    ident: AwsIdentity
    secrets: list[str]
    every_days: int
    hour_utc: int
    ip: str
    bulk_day: int = -1  # day index (from the start) when every secret rotates at once
    _day0: float = field(default=-1.0, repr=False)

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        if self._day0 < 0:
            self._day0 = start - start % c.DAY
        if c.local_hour(start) != self.hour_utc:
            return
        day = int((start - self._day0) // c.DAY)
        due = [s for i, s in enumerate(self.secrets) if (i + day) % self.every_days == 0 or day == self.bulk_day]
        t = start + rng.random() * 300
        for sid in due:
            t = self._rotate(rng, t, sid, out) + rng.uniform(1, 20)

    def _rotate(self, rng: random.Random, t: float, sid: str, out: list[Item]) -> float:
        kw = {"source_address": self.ip, "user_agent": c.LAMBDA_PY}
        steps: list[tuple[str, dict[str, Any]]] = [
            ("DescribeSecret", {}),
            ("GetSecretValue", {"version_stage": "AWSCURRENT"}),
            ("GetRandomPassword", {}),
            ("PutSecretValue", {"version_stage": "AWSPENDING"}),
            ("DescribeSecret", {}),
            ("GetSecretValue", {"version_stage": "AWSPENDING"}),
            ("GetSecretValue", {"version_stage": "AWSCURRENT"}),
            ("DescribeSecret", {}),
            ("GetSecretValue", {"version_stage": "AWSPENDING"}),
            ("DescribeSecret", {}),
            ("UpdateSecretVersionStage", {"version_stage": "AWSCURRENT"}),
        ]
        for action, extra in steps:
            t += rng.uniform(0.2, 2.5)
            sid_kw = {} if action == "GetRandomPassword" else {"secret_id": sid}
            _sm(out, self.actor, action, self.ident, t, **sid_kw, **extra, **kw)
        return t


@dataclass
class AwsManagedRotation:
    """RDS-managed master user secrets (`rds!db-...`): RDS itself reads and writes them."""

    actor: str
    account: str
    secrets: list[str]

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        svc = AwsIdentity.aws_service("rds.amazonaws.com", self.account)
        if c.local_hour(start) == 4:
            for sid in self.secrets:
                if rng.random() < 0.15:
                    t = start + rng.random() * 600
                    _sm(out, self.actor, "GetSecretValue", svc, t, secret_id=sid, version_stage="AWSCURRENT")
                    _sm(out, self.actor, "PutSecretValue", svc, t + 2, secret_id=sid, version_stage="AWSPENDING")


@dataclass
class AwsPerson:
    """A person in the console or CLI: mostly other services, now and then a secret."""

    actor: str
    ident: AwsIdentity
    tz: float
    office_ip: str
    home_ip: str
    team_secrets: list[str]
    rate: float  # API calls per busy hour
    p_secret: float
    console: bool
    vpn_ip: str | None = None  # a VPN exit (another network, often another country) used now and then
    last_login_day: int = -1

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        n = poisson(rng, self.rate * office_weight(start, self.tz))
        if not n:
            return
        ip = self.office_ip if rng.random() < 0.6 else self.home_ip
        if self.vpn_ip and rng.random() < 0.1:
            ip = self.vpn_ip
        cli = not self.console or rng.random() < 0.3
        day = int(start // DAY)
        if self.console and day != self.last_login_day:  # the first console use of the day signs in
            self.last_login_day = day
            out.append(Item(start, console_login_event(self.ident, start, source_address=ip, user_agent=c.CHROME),
                            self.ident.canonical, self.actor))
        for _ in range(n):
            ts = start + rng.random() * HOUR
            if rng.random() < self.p_secret and self.team_secrets:
                self._secret_task(rng, ts, ip, cli, out)
                continue
            src, action, params = BROWSING[rng.randrange(len(BROWSING))]
            ua = c.aws_cli(f"{src.split('.')[0]}.{action.lower()}") if cli else c.CHROME
            doc = FAST.aws_call(action, self.ident, ts, event_source=src, params=params, ip=ip, ua=ua)
            out.append(Item(ts, doc, self.ident.canonical, self.actor))

    def _secret_task(self, rng: random.Random, ts: float, ip: str, cli: bool, out: list[Item]) -> None:
        ua = c.aws_cli("secretsmanager.get-secret-value") if cli else c.CHROME
        kw = {"source_address": ip, "user_agent": ua}
        if not cli:
            _sm(out, self.actor, "ListSecrets", self.ident, ts, max_results=10, **kw)
            ts += rng.uniform(3, 20)
        for sid in rng.sample(self.team_secrets, min(len(self.team_secrets), rng.choice((1, 1, 1, 2, 3)))):
            if not cli:
                _sm(out, self.actor, "DescribeSecret", self.ident, ts, secret_id=sid, **kw)
                ts += rng.uniform(2, 15)
            _sm(out, self.actor, "GetSecretValue", self.ident, ts, secret_id=sid, **kw)
            ts += rng.uniform(5, 60)


@dataclass
class AwsMonitor:
    """A SaaS monitoring integration: a read-only role in every account, polled every few minutes."""

    actor: str
    idents: list[AwsIdentity]
    interval: float
    ip: str
    ua: str = "aws-sdk-go/1.50.36 (go1.21.8; linux; amd64)"

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None:
        t = start + rng.random() * 5
        while t < start + HOUR:
            for ident in self.idents:
                for k, (src, action, params) in enumerate((BROWSING[0], BROWSING[6], BROWSING[7], BROWSING[8])):
                    ts = t + k * 0.2 + rng.random() * 0.1
                    doc = FAST.aws_call(action, ident, ts, event_source=src, params=params, ip=self.ip, ua=self.ua)
                    out.append(Item(ts, doc, ident.canonical, self.actor))
            t += self.interval
