"""The simulated organisation: accounts, vaults, projects, their secrets and the benign actors."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..upstream._common import stable_hex, stable_uuid
from ..upstream.aws import AwsIdentity, partial_arn, secret_arn, secret_name
from ..upstream.azure import AZURE_CLI_APP_ID, AZURE_PORTAL_APP_ID, AzureIdentity, KeyVault
from ..upstream.gcp import GcpPrincipal, GcpProject
from . import common as c
from .actors_aws import AwsCi, AwsIac, AwsLambdaApp, AwsManagedRotation, AwsMonitor, AwsPerson, AwsPoller, AwsRotation
from .actors_azure import AzAutoscale, AzCi, AzPerson, AzPoller, AzTerraform
from .actors_gcp import GcpCi, GcpPerson, GcpPoller, GcpRotator, GcpTerraform, GkeAudit
from .actors_lookalike import (
    ConsoleAdmin,
    CrashLoop,
    CrossAccountDeploy,
    GcpImpersonatingDeployer,
    SdkCacheRefresh,
    SecretSyncController,
)
from .actors_ssm import ssm_actors
from .actors_vault import vault_actors
from .common import Item

PROD, STAGING, TOOLING = "111122223333", "444455556666", "777788889999"
REGIONS = {PROD: "us-east-1", STAGING: "eu-west-1", TOOLING: "us-east-1"}
AZ_PROD_SUB = stable_uuid("subscription", "prod")
AZ_DEV_SUB = stable_uuid("subscription", "dev")
PROJECTS = (
    GcpProject("example-prod", "314159265358"),
    GcpProject("example-data", "271828182845"),
    GcpProject("example-staging", "161803398874"),
)

SERVICES = (
    "payments",
    "billing",
    "orders",
    "inventory",
    "search",
    "auth",
    "notifications",
    "reporting",
    "analytics",
    "checkout",
    "catalog",
    "shipping",
    "users",
    "gateway",
    "ledger",
    "fraud",
    "pricing",
    "recommendations",
    "media",
    "messaging",
    "identity",
    "loyalty",
    "support",
    "warehouse",
)
KINDS = (
    "db-password",
    "api-key",
    "jwt-signing-key",
    "redis-auth",
    "oauth-client-secret",
    "smtp-password",
    "webhook-secret",
    "kafka-credentials",
)
CI_SECRETS = (
    "ci/npm-token",
    "ci/sonar-token",
    "ci/dockerhub-password",
    "ci/slack-webhook",
    "ci/github-app-key",
    "ci/artifactory-token",
    "ci/sentry-auth-token",
    "ci/codecov-token",
)
FIRST = (
    "alice",
    "bob",
    "carol",
    "dan",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "ken",
    "laura",
    "mallory",
    "nina",
    "oscar",
    "peggy",
    "quinn",
    "rita",
    "sam",
    "trent",
    "uma",
    "victor",
    "wendy",
    "xavier",
    "yara",
    "zoe",
    "amir",
    "bea",
    "chen",
    "dara",
    "eli",
    "fatima",
    "goran",
    "hana",
    "ines",
    "jonas",
    "kai",
    "lena",
    "mo",
    "noor",
)
LAST = (
    "nguyen",
    "smith",
    "garcia",
    "kowalski",
    "okafor",
    "tanaka",
    "muller",
    "rossi",
    "silva",
    "haddad",
    "johansson",
    "kim",
    "novak",
    "patel",
    "dubois",
    "ivanova",
    "lee",
    "moreau",
    "singh",
    "walsh",
    "fischer",
    "costa",
    "berg",
    "sato",
    "lopez",
    "brown",
    "weber",
    "ali",
    "yilmaz",
    "martin",
)
SSO_ROLES = tuple(
    f"AWSReservedSSO_{p}_{stable_hex(16, p)}"
    for p in ("Developer", "ReadOnly", "AdministratorAccess", "DataEngineer", "SupportEngineer")
)
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
TZS = (-8.0, -5.0, 0.0, 1.0, 1.0, 0.0, -5.0)


class Actor(Protocol):
    actor: str

    def hour(self, rng: random.Random, start: float, out: list[Item]) -> None: ...


@dataclass
class World:
    """Everything the benign generator and the attack scenarios draw from."""

    aws_secrets: dict[str, list[str]] = field(default_factory=dict)  # account -> ARNs
    vaults: list[KeyVault] = field(default_factory=list)
    vault_secrets: dict[str, list[str]] = field(default_factory=dict)  # vault name -> secret names
    gcp_secrets: dict[str, list[str]] = field(default_factory=dict)  # project id -> secret names
    people: list[str] = field(default_factory=list)  # e-mail addresses
    actors: list[Actor] = field(default_factory=list)
    ci_victim: AwsCi | None = None
    gcp_ci_principals: list[GcpPrincipal] = field(default_factory=list)
    aws_people: list[AwsIdentity] = field(default_factory=list)
    azure_people: list[AzureIdentity] = field(default_factory=list)
    gcp_people: list[GcpPrincipal] = field(default_factory=list)

    def vault(self, name: str) -> KeyVault:
        return next(v for v in self.vaults if v.name == name)


def _names(rng: random.Random, env: str, sep: str, n_services: int) -> list[str]:
    out = []
    for svc in rng.sample(SERVICES, n_services):
        for kind in rng.sample(KINDS, rng.randint(2, 5)):
            out.append(f"{env}{sep}{svc}{sep}{kind}" if env else f"{svc}{sep}{kind}")
    return out


def _inventory(rng: random.Random, world: World) -> None:
    world.aws_secrets[PROD] = [secret_arn(PROD, REGIONS[PROD], n) for n in _names(rng, "prod", "/", 22)]
    world.aws_secrets[STAGING] = [secret_arn(STAGING, REGIONS[STAGING], n) for n in _names(rng, "staging", "/", 12)]
    world.aws_secrets[TOOLING] = [secret_arn(TOOLING, REGIONS[TOOLING], n) for n in CI_SECRETS]
    for svc in ("payments", "orders", "identity", "ledger", "shared", "platform"):
        sub = AZ_DEV_SUB if svc == "platform" else AZ_PROD_SUB
        vault = KeyVault(f"kv-{svc}-{'dev' if svc == 'platform' else 'prod'}", sub, f"rg-{svc}", rbac=svc != "ledger")
        world.vaults.append(vault)
        count = 28 if svc == "shared" else rng.randint(8, 16)
        names = [f"{s}-{k}" for s in rng.sample(SERVICES, 8) for k in KINDS]
        world.vault_secrets[vault.name] = sorted(rng.sample(names, count))
    for project in PROJECTS:
        world.gcp_secrets[project.id] = _names(rng, "", "-", 10 if project.id != "example-staging" else 5)


def _share(n: int, fraction: float, minimum: int = 1) -> int:
    return max(minimum, round(n * fraction))


def build_world(seed: int, identities: int = 300) -> World:
    """The organisation for `seed`, with about `identities` benign actors."""
    rng = random.Random(f"world:{seed}")
    world = World()
    _inventory(rng, world)
    people = [f"{f}.{last}@example.com" for f in FIRST for last in LAST]
    rng.shuffle(people)
    world.people = people
    it = iter(people)
    _aws_actors(rng, world, identities, it)
    _azure_actors(rng, world, identities, it)
    _gcp_actors(rng, world, identities, it)
    # Parameter Store and Vault actors draw from their own generators: the actors above stay as they were.
    world.actors.extend(ssm_actors(seed, identities, PROD, REGIONS[PROD], SERVICES, world.aws_people))
    world.actors.extend(vault_actors(seed, identities, SERVICES, people[-4:]))
    return world


def _interval(rng: random.Random) -> float:
    return 60.0 * rng.choice((5, 10, 15, 15, 30, 30, 60, 60, 60, 120))


def _aws_actors(rng: random.Random, world: World, n: int, it: Iterator[str]) -> None:
    for i in range(_share(n, 0.15)):
        account = PROD if i % 4 else STAGING
        svc = rng.choice(SERVICES)
        role = f"{svc}-{'api' if i % 3 else 'worker'}-{i}-task-role"
        ecs = rng.random() < 0.6
        session = stable_hex(32, role) if ecs else "i-0" + stable_hex(16, role)
        ident = AwsIdentity.assumed_role(account, role, session)
        pool = world.aws_secrets[account]
        secrets = rng.sample(pool, rng.choice((1, 1, 2, 3)))
        if account == PROD and rng.random() < 0.3:  # some apps name secrets instead of using ARNs
            secrets = [secret_name(s) for s in secrets]
        elif i % 7 == 3:  # others use the partial ARN (no 6-character suffix), as CDK and Terraform often do
            secrets = [partial_arn(s) for s in secrets]
        exec_role = AwsIdentity.assumed_role(account, f"{svc}-{i}-ecs-exec-role", "x") if ecs else None
        world.actors.append(
            AwsPoller(
                f"aws-app:{role}",
                ident,
                secrets,
                _interval(rng),
                rng.random() * 3600,
                c.private_ip(rng, 10 + i % 4),
                rng.choice(c.AWS_SDKS),
                "ecs-tasks.amazonaws.com" if ecs else "ec2.amazonaws.com",
                exec_role,
                metrics=rng.random() < 0.4,
                cmk=rng.random() < 0.25,
            )
        )
    monitors = [
        AwsIdentity.assumed_role(a, "observability-readonly", "observability-poller") for a in (PROD, STAGING, TOOLING)
    ]
    for k in range(max(1, n // 150)):
        world.actors.append(
            AwsMonitor(f"aws-monitor:{k}", monitors, 300.0 * (k + 1), c.pick_ip(rng, c.CI_RUNNERS, 130, 199))
        )
    for i in range(_share(n, 0.04)):
        fn = f"{rng.choice(SERVICES)}-{rng.choice(('ingest', 'notify', 'resize', 'sync', 'export'))}-{i}"
        ident = AwsIdentity.assumed_role(PROD, f"{fn}-lambda-role", fn)
        world.actors.append(
            AwsLambdaApp(
                f"aws-lambda:{fn}",
                ident,
                rng.sample(world.aws_secrets[PROD], rng.randint(1, 2)),
                rng.uniform(0.5, 6),
                c.private_ip(rng, 20),
            )
        )
    victim = AwsCi(
        "aws-ci:gha-billing-deploy",
        "github",
        AwsIdentity.assumed_role(TOOLING, "gha-billing-deploy", "GitHubActions"),
        [world.aws_secrets[TOOLING][0], world.aws_secrets[PROD][0], world.aws_secrets[PROD][1]],
        0.5,
        nightly=True,
        oidc_subject="repo:example-org/billing:ref:refs/heads/main",
    )
    world.ci_victim = victim
    world.actors.append(victim)
    flavors = ("github", "github", "gitlab", "jenkins", "codebuild")
    for i in range(_share(n, 0.05) - 1):
        flavor = flavors[i % len(flavors)]
        repo = f"{rng.choice(SERVICES)}-{i}"
        if flavor == "jenkins":
            ident = AwsIdentity.iam_user(TOOLING, f"jenkins-{repo}")
        else:
            role = {"github": f"gha-{repo}-deploy", "gitlab": f"gitlab-{repo}", "codebuild": f"codebuild-{repo}"}[
                flavor
            ]
            ident = AwsIdentity.assumed_role(TOOLING, role, "GitHubActions" if flavor == "github" else "ci")
        secrets = rng.sample(world.aws_secrets[TOOLING], rng.randint(2, 5)) + rng.sample(
            world.aws_secrets[PROD], rng.randint(2, 10)
        )
        world.actors.append(
            AwsCi(
                f"aws-ci:{repo}",
                flavor,
                ident,
                secrets,
                rng.uniform(0.3, 1.5),
                nightly=rng.random() < 0.5,
                fixed_ip=c.private_ip(rng, 30) if flavor in ("jenkins", "gitlab") else None,
                oidc_subject=f"repo:example-org/{repo}:ref:refs/heads/main" if flavor == "github" else None,
            )
        )
    iac = ("terraform", "terraform", "pulumi", "cloudformation")
    for i in range(_share(n, 0.015, 3)):
        flavor = iac[i % len(iac)]
        account = PROD if i % 2 == 0 else STAGING
        ident = AwsIdentity.assumed_role(account, f"{flavor}-deployer-{i}", flavor)
        secrets = rng.sample(world.aws_secrets[account], min(len(world.aws_secrets[account]), rng.randint(12, 35)))
        world.actors.append(
            AwsIac(f"aws-iac:{flavor}-{i}", flavor, ident, secrets, rng.uniform(0.2, 0.8), c.private_ip(rng, 40))
        )
    for i in range(_share(n, 0.01, 2)):
        account = PROD if i % 2 == 0 else STAGING
        fn = f"SecretsManagerRotation-{('rds-postgres', 'rds-mysql', 'api-keys')[i % 3]}-{i}"
        ident = AwsIdentity.assumed_role(account, f"{fn}-role", fn)
        pool = [s for s in world.aws_secrets[account] if "password" in s or "api-key" in s]
        world.actors.append(
            AwsRotation(
                f"aws-rotation:{fn}",
                ident,
                pool[: rng.randint(8, 25)],
                rng.choice((7, 30)),
                rng.randint(0, 4),
                c.private_ip(rng, 50),
                bulk_day=rng.randint(1, 6),
            )
        )
    managed = [secret_arn(PROD, REGIONS[PROD], f"rds!db-{stable_uuid('rds', k)}") for k in range(6)]
    world.aws_secrets[PROD].extend(managed)
    world.actors.append(AwsManagedRotation("aws-service:rds-managed-secrets", PROD, managed))
    for i in range(_share(n, 0.15)):
        email = next(it)
        tz = TZS[i % len(TZS)]
        if i % 10 == 9:
            ident = AwsIdentity.iam_user(PROD, email.split("@")[0])
        else:
            role = SSO_ROLES[0] if i % 3 else SSO_ROLES[1 + i % 4]
            ident = AwsIdentity.assumed_role(PROD if i % 5 else STAGING, role, email, role_path=SSO_PATH, mfa=True)
        world.aws_people.append(ident)
        home = c.home_ipv6(rng) if i % 6 == 0 else c.pick_ip(rng, c.HOME_V4, 1, 99)
        team = rng.sample(world.aws_secrets[ident.account_id], 4)
        world.actors.append(
            AwsPerson(
                f"person:{email}",
                ident,
                tz,
                c.pick_ip(rng, c.OFFICE_NAT, 10, 19),
                home,
                team,
                rng.uniform(3, 14),
                rng.choice((0.01, 0.03, 0.06, 0.12)),
                rng.random() < 0.7,
                vpn_ip=c.pick_ip(rng, c.VPN_POOL, 100, 140) if i % 4 == 1 else None,
            )
        )
    _aws_lookalikes(rng, world, n)


def _aws_lookalikes(rng: random.Random, world: World, n: int) -> None:
    """Benign activity that resembles harvesting (actors_lookalike.py), scaled with the population."""
    prod = world.aws_secrets[PROD]
    for i in range(_share(n, 0.01, 2)):
        ident = AwsIdentity.assumed_role(PROD, f"{rng.choice(SERVICES)}-cached-{i}-task-role", stable_hex(32, "c", i))
        world.actors.append(
            SdkCacheRefresh(f"aws-app:cache-refresh-{i}", ident, rng.sample(prod, rng.randint(6, 12)),
                            rng.choice((4, 6, 8)), i, c.private_ip(rng, 11), c.AWS_SDKS[0])
        )
    for i in range(_share(n, 0.01, 2)):
        ident = AwsIdentity.assumed_role(PROD, f"{rng.choice(SERVICES)}-flaky-{i}-task-role", stable_hex(32, "f", i))
        world.actors.append(
            CrashLoop(f"aws-app:crash-loop-{i}", ident, rng.sample(prod, rng.randint(3, 6)), c.private_ip(rng, 12),
                      c.AWS_SDKS[3])
        )
    for flavor in ("eso", "csi")[: max(1, min(2, n // 100))]:
        name = "external-secrets-operator" if flavor == "eso" else "secrets-store-csi-driver"
        ident = AwsIdentity.assumed_role(PROD, f"eks-prod-{name}", f"botocore-session-{stable_hex(10, name)}")
        world.actors.append(
            SecretSyncController(f"k8s-sync:{name}", ident, rng.sample(prod, rng.randint(30, 45)),
                                 c.pick_ip(rng, c.CI_RUNNERS, 121, 129), flavor, phase=rng.uniform(0, 600))
        )
    for i in range(max(1, n // 100)):
        email = f"sso-admin-{i}@example.com"
        ident = AwsIdentity.assumed_role(PROD, SSO_ROLES[2], email, role_path=SSO_PATH, mfa=True)
        world.actors.append(
            ConsoleAdmin(f"person:{email}", ident, TZS[i % len(TZS)], c.pick_ip(rng, c.OFFICE_NAT, 10, 19),
                         c.pick_ip(rng, c.VPN_POOL, 100, 140), rng.sample(prod, 25))
        )
    for i in range(max(1, n // 150)):
        ci = AwsIdentity.assumed_role(TOOLING, f"gha-platform-release-{i}", "GitHubActions")
        deploy = AwsIdentity.assumed_role(PROD, f"cross-account-deploy-{i}", f"release-{i}")
        world.actors.append(
            CrossAccountDeploy(f"aws-ci:cross-account-deploy-{i}", ci, deploy, rng.sample(prod, 24), 3.0)
        )


def _azure_actors(rng: random.Random, world: World, n: int, it: Iterator[str]) -> None:
    for i in range(_share(n, 0.10)):
        vault = world.vaults[i % len(world.vaults)]
        name = f"id-{rng.choice(SERVICES)}-{i}"
        ident = AzureIdentity.managed_identity(name, vault.subscription_id, vault.resource_group)
        secrets = rng.sample(world.vault_secrets[vault.name], rng.choice((1, 1, 2, 3)))
        world.actors.append(
            AzPoller(
                f"az-app:{name}",
                ident,
                vault,
                secrets,
                _interval(rng),
                rng.random() * 3600,
                c.private_ip(rng, 60 + i % 4),
                rng.choice(c.AZ_SDKS),
                rng.random() < 0.2,
            )
        )
    for k in range(max(1, n // 150)):
        world.actors.append(
            AzAutoscale(
                f"az-platform:autoscale-{k}",
                AzureIdentity.service_principal(f"sp-autoscale-{k}"),
                world.vaults[k % len(world.vaults)],
                3.0,
            )
        )
    for i in range(_share(n, 0.03)):
        vault = world.vaults[i % len(world.vaults)]
        flavor = "devops" if i % 2 == 0 else "github"
        ident = AzureIdentity.service_principal(f"sp-{flavor}-{vault.name}-{i}")
        pool = world.vault_secrets[vault.name]
        secrets = list(pool) if flavor == "devops" else rng.sample(pool, min(len(pool), rng.randint(2, 6)))
        world.actors.append(
            AzCi(f"az-ci:{flavor}-{i}", flavor, ident, vault, secrets, rng.uniform(0.2, 1.0), rng.random() < 0.5)
        )
    for i in range(_share(n, 0.01)):
        vaults = rng.sample(world.vaults, 3)
        secrets = {v.name: rng.sample(world.vault_secrets[v.name], 4) for v in vaults}
        world.actors.append(
            AzTerraform(
                f"az-iac:terraform-{i}",
                AzureIdentity.service_principal(f"sp-terraform-{i}"),
                vaults,
                secrets,
                rng.uniform(0.2, 0.6),
                c.private_ip(rng, 70),
            )
        )
    for i in range(_share(n, 0.11)):
        email = next(it)
        if i % 9 == 8:  # a Microsoft-account guest: upn live.com#<user>@outlook.com
            email = f"live.com#{email.split('@')[0]}@outlook.com"
        # Portal sign-ins carry their claims under URI names (Microsoft's Key Vault logging sample), CLI ones short.
        portal = i % 2 == 1
        ident = AzureIdentity.user(email, app_id=AZURE_PORTAL_APP_ID if portal else AZURE_CLI_APP_ID, uri_claims=portal)
        world.azure_people.append(ident)
        vault = world.vaults[i % len(world.vaults)]
        home = c.home_ipv6(rng) if i % 7 == 0 else c.pick_ip(rng, c.HOME_V4, 1, 99)
        world.actors.append(
            AzPerson(
                f"person:{email}",
                ident,
                TZS[i % len(TZS)],
                c.pick_ip(rng, c.OFFICE_NAT, 10, 19),
                home,
                vault,
                rng.sample(world.vault_secrets[vault.name], 3),
                rng.uniform(1, 5),
                rng.choice((0.03, 0.08, 0.15)),
            )
        )


def _gcp_actors(rng: random.Random, world: World, n: int, it: Iterator[str]) -> None:
    for i in range(_share(n, 0.10)):
        project = PROJECTS[i % len(PROJECTS)]
        name = f"{rng.choice(SERVICES)}-app-{i}"
        who = GcpPrincipal.service_account(name, project.id)
        secrets = rng.sample(world.gcp_secrets[project.id], rng.choice((1, 1, 2, 3)))
        ip = rng.choice(("gce-internal-ip", "gce-internal-ip", "private", c.private_ip(rng, 80)))
        world.actors.append(
            GcpPoller(
                f"gcp-app:{name}",
                who,
                project,
                secrets,
                _interval(rng),
                rng.random() * 3600,
                ip,
                rng.choice(c.GCP_LIBS),
                f"{project.id}-{name}" if i % 2 else None,
            )
        )
    for k, project in enumerate(PROJECTS[: max(1, min(3, n // 100))]):
        world.actors.append(GkeAudit(f"gke:{project.id}", project, f"gke-{project.id}-{k}", 0.12 * n))
    for i in range(_share(n, 0.03)):
        project = PROJECTS[i % 2]
        cloud_build = i % 2 == 0
        who = (
            GcpPrincipal(f"{project.number}@cloudbuild.gserviceaccount.com", "service_account")
            if cloud_build
            else GcpPrincipal.service_account(f"gha-deployer-{i}", project.id)
        )
        world.gcp_ci_principals.append(who)
        secrets = rng.sample(world.gcp_secrets[project.id], rng.randint(3, 12))
        world.actors.append(GcpCi(f"gcp-ci:{who.email}:{i}", who, project, secrets, rng.uniform(0.2, 1.2), cloud_build))
    for i in range(_share(n, 0.01)):
        project = PROJECTS[i % len(PROJECTS)]
        who = GcpPrincipal.service_account(f"terraform-{i}", project.id)
        world.actors.append(
            GcpTerraform(
                f"gcp-iac:terraform-{i}",
                who,
                project,
                rng.sample(world.gcp_secrets[project.id], 6),
                rng.uniform(0.2, 0.6),
                c.private_ip(rng, 90),
            )
        )
    rot = GcpPrincipal.service_account("secret-rotator", PROJECTS[0].id)
    for i in range(max(1, n // 150)):
        project = PROJECTS[i % 2]
        caller = GcpPrincipal.user(f"platform-ops-{i}@example.com")
        world.actors.append(
            GcpImpersonatingDeployer(
                f"gcp-iac:impersonating-deployer-{i}",
                caller,
                GcpPrincipal.service_account(f"deployer-{i}", project.id),
                project,
                rng.sample(world.gcp_secrets[project.id], 8),
                TZS[i % len(TZS)],
                c.pick_ip(rng, c.OFFICE_NAT, 10, 19),
            )
        )
    world.actors.append(
        GcpRotator("gcp-rotation:secret-rotator", rot, PROJECTS[0], world.gcp_secrets[PROJECTS[0].id][:12], 3)
    )
    for i in range(_share(n, 0.10)):
        email = next(it)
        project = PROJECTS[i % len(PROJECTS)]
        home = c.home_ipv6(rng) if i % 5 == 0 else c.pick_ip(rng, c.HOME_V4, 1, 99)
        world.gcp_people.append(GcpPrincipal.user(email))
        world.actors.append(
            GcpPerson(
                f"person:{email}",
                GcpPrincipal.user(email),
                project,
                TZS[i % len(TZS)],
                c.pick_ip(rng, c.OFFICE_NAT, 10, 19),
                home,
                rng.sample(world.gcp_secrets[project.id], 3),
                rng.uniform(2, 8),
                rng.choice((0.02, 0.05, 0.1)),
            )
        )
