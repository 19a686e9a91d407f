"""Attack scenarios: each returns the documents of one run of the technique, starting at `t0`.

The shapes follow how the public tests of T1555.006 look in the logs (Atomic Red Team's MicroBurst
dump, Stratus Red Team's AWS and GCP techniques, the seed rule's own list-then-read tests).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from ..upstream._common import stable_uuid
from ..upstream.aws import (
    AwsIdentity,
    assume_role_event,
    batch_companion_events,
    console_login_event,
    secret_arn,
    secrets_manager_event,
)
from ..upstream.azure import AZURE_POWERSHELL_APP_ID, AzureIdentity, keyvault_event
from ..upstream.gcp import GcpPrincipal, secret_manager_event, token_event
from . import common as c
from .actors_aws import AwsCi, AwsIac, AwsLambdaApp, AwsPerson, AwsPoller
from .actors_azure import AzPoller
from .actors_gcp import GcpTerraform
from .attacks_stores import ssm_parameters_by_path_sweep, vault_token_harvest
from .common import HOUR, Item
from .world import KINDS, PROD, PROJECTS, REGIONS, SERVICES, SSO_PATH, SSO_ROLES, World


def _attacker_ip(rng: random.Random) -> str:
    return c.pick_ip(rng, c.ATTACKER_V4, 150, 250)


def _stratus_ua(rng: random.Random, tail: str) -> str:
    return f"stratus-red-team_{stable_uuid(rng.random())} {tail}"


def _aws(out: list[Item], actor: str, action: str, ident: AwsIdentity, ts: float, **kw: object) -> None:
    out.append(Item(ts, secrets_manager_event(action, ident, ts, **kw), ident.canonical, actor))  # type: ignore[arg-type]


def seed_aws_list_get(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A leaked IAM user key: ListSecrets, then one GetSecretValue."""
    ident = AwsIdentity.iam_user(PROD, "build-legacy")
    ip, ua = _attacker_ip(rng), c.aws_cli("secretsmanager.list-secrets", "os/linux#6.1.0 md/arch#x86_64")
    out: list[Item] = []
    _aws(out, "attacker:seed-aws", "ListSecrets", ident, t0, source_address=ip, user_agent=ua)
    _aws(
        out,
        "attacker:seed-aws",
        "GetSecretValue",
        ident,
        t0 + rng.uniform(4, 20),
        secret_id=rng.choice(world.aws_secrets[PROD]),
        source_address=ip,
        user_agent=ua.replace("list-secrets", "get-secret-value"),
    )
    return out


def seed_azure_list_get(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A phished user's token: SecretList on a vault, then one SecretGet."""
    ident = world.azure_people[0 % len(world.azure_people)]
    vault = world.vault("kv-shared-prod")
    ip = _attacker_ip(rng)
    name = rng.choice(world.vault_secrets[vault.name])
    t1 = t0 + rng.uniform(4, 20)
    docs = [
        keyvault_event("SecretList", ident, vault, t0, source_ip=ip, client_info=c.AZ_CLI),
        keyvault_event("SecretGet", ident, vault, t1, object_name=name, source_ip=ip, client_info=c.AZ_CLI),
    ]
    return [Item(t, d, ident.canonical, "attacker:seed-azure") for t, d in zip((t0, t1), docs, strict=True)]


def seed_gcp_list_access(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A leaked service-account key: ListSecrets, then one AccessSecretVersion."""
    who = world.gcp_ci_principals[-1]
    project = PROJECTS[0]
    ip = _attacker_ip(rng)
    name = rng.choice(world.gcp_secrets[project.id])
    t1 = t0 + rng.uniform(4, 20)
    docs = [
        secret_manager_event("ListSecrets", who, project, t0, caller_ip=ip, user_agent=c.gcloud("secrets.list")),
        secret_manager_event(
            "AccessSecretVersion",
            who,
            project,
            t1,
            secret=name,
            caller_ip=ip,
            user_agent=c.gcloud("secrets.versions.access"),
        ),
    ]
    return [Item(t, d, who.canonical, "attacker:seed-gcp") for t, d in zip((t0, t1), docs, strict=True)]


def microburst_keyvault_dump(world: World, rng: random.Random, t0: float) -> list[Item]:
    """MicroBurst `Get-AzPasswords`: every reachable vault, its secret list, then every secret."""
    user = world.azure_people[1 % len(world.azure_people)]
    ident = AzureIdentity.user(user.upn or "", app_id=AZURE_POWERSHELL_APP_ID)
    ip = _attacker_ip(rng)
    out: list[Item] = []
    t = t0
    for name in ("kv-shared-prod", "kv-payments-prod", "kv-identity-prod"):
        vault = world.vault(name)
        for op in ("VaultGet", "SecretList"):
            doc = keyvault_event(op, ident, vault, t, source_ip=ip, client_info=c.AZ_POWERSHELL)
            out.append(Item(t, doc, ident.canonical, "attacker:microburst"))
            t += rng.uniform(0.3, 1.5)
        for secret in world.vault_secrets[name]:
            t += rng.uniform(0.08, 0.5)
            doc = keyvault_event(
                "SecretGet", ident, vault, t, object_name=secret, source_ip=ip, client_info=c.AZ_POWERSHELL
            )
            out.append(Item(t, doc, ident.canonical, "attacker:microburst"))
    return out


def _stratus_aws_identity(world: World) -> AwsIdentity:
    """An administrator's SSO session (the shared AdministratorAccess role, the person's e-mail)."""
    person = world.aws_people[0]
    return AwsIdentity.assumed_role(
        PROD, SSO_ROLES[2], person.session_name or person.name, role_path=SSO_PATH, mfa=True
    )


def stratus_aws_retrieve(world: World, rng: random.Random, t0: float) -> list[Item]:
    """Stratus `aws.credential-access.secretsmanager-retrieve-secrets`: ListSecrets, 20 GetSecretValue."""
    ident = _stratus_aws_identity(world)
    ip = c.pick_ip(rng, c.CI_RUNNERS, 200, 250)
    ua = _stratus_ua(rng, "aws-sdk-go-v2/1.26.0 os/macos lang/go#1.22.1 md/GOOS#darwin md/GOARCH#arm64")
    out: list[Item] = []
    _aws(out, "attacker:stratus-aws", "ListSecrets", ident, t0, source_address=ip, user_agent=ua)
    t = t0
    for i in range(20):
        t += rng.uniform(0.1, 0.6)
        arn = secret_arn(PROD, REGIONS[PROD], f"stratus-red-team-retrieve-secret-{i}")
        _aws(out, "attacker:stratus-aws", "GetSecretValue", ident, t, secret_id=arn, source_address=ip, user_agent=ua)
    return out


BATCH_SECRETS = 42
BATCH_PAGE = 10
BATCH_FILTER = ({"key": "tag-key", "values": ["StratusRedTeam"]},)


def stratus_aws_batch_retrieve(world: World, rng: random.Random, t0: float, *, companions: bool = True) -> list[Item]:
    """Stratus batch technique: 42 tagged secrets through BatchGetSecretValue with a tag filter and
    MaxResults=10: 5 calls (10, 10, 10, 10, 2), filters only, no secretIdList. Secrets Manager also logs
    one GetSecretValue per secret returned (see `batch_companion_events`) unless `companions` is off."""
    ident = _stratus_aws_identity(world)
    ip = c.pick_ip(rng, c.CI_RUNNERS, 200, 250)
    ua = _stratus_ua(rng, "aws-sdk-go-v2/1.26.0 os/macos lang/go#1.22.1 md/GOOS#darwin md/GOARCH#arm64")
    arns = [
        secret_arn(PROD, REGIONS[PROD], f"stratus-red-team-batch-retrieve-secret-{i}") for i in range(BATCH_SECRETS)
    ]
    out: list[Item] = []
    t = t0
    for page, first in enumerate(range(0, BATCH_SECRETS, BATCH_PAGE)):
        token = stable_uuid("next-token", t0, page).replace("-", "") if page else None
        _aws(
            out,
            "attacker:stratus-aws-batch",
            "BatchGetSecretValue",
            ident,
            t,
            filters=BATCH_FILTER,
            max_results=BATCH_PAGE,
            next_token=token,
            source_address=ip,
            user_agent=ua,
        )
        if companions:
            for k, doc in enumerate(batch_companion_events(ident, t, arns[first : first + BATCH_PAGE])):
                out.append(Item(t + 0.005 * (k + 1), doc, ident.canonical, "attacker:stratus-aws-batch"))
        t += rng.uniform(0.3, 1.2)
    return out


def stratus_gcp_retrieve(world: World, rng: random.Random, t0: float) -> list[Item]:
    """Stratus `gcp.credential-access.secretmanager-retrieve-secrets`: ListSecrets with a label filter,
    then AccessSecretVersion on each of 20 secrets."""
    who = world.gcp_people[0]
    project = PROJECTS[0]
    ip = c.pick_ip(rng, c.CI_RUNNERS, 200, 250)
    ua = _stratus_ua(rng, "grpc-go/1.62.1,gzip(gfe)")
    out = [
        Item(
            t0,
            secret_manager_event(
                "ListSecrets", who, project, t0, filter="labels.stratus-red-team=true", caller_ip=ip, user_agent=ua
            ),
            who.canonical,
            "attacker:stratus-gcp",
        )
    ]
    t = t0
    for i in range(20):
        t += rng.uniform(0.1, 0.6)
        doc = secret_manager_event(
            "AccessSecretVersion",
            who,
            project,
            t,
            secret=f"stratus-red-team-retrieve-secret-{i}",
            caller_ip=ip,
            user_agent=ua,
        )
        out.append(Item(t, doc, who.canonical, "attacker:stratus-gcp"))
    return out


LOW_AND_SLOW_SECRETS = 30


def low_and_slow(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A stolen key reading 30 different secrets, one every ~12 minutes, over about 6 hours."""
    ident = AwsIdentity.iam_user(PROD, "svc-reporting")
    ip = _attacker_ip(rng)
    ua = c.AWS_SDKS[1]
    out: list[Item] = []
    _aws(out, "attacker:low-and-slow", "ListSecrets", ident, t0, max_results=100, source_address=ip, user_agent=ua)
    t = t0
    gap = 6 * HOUR / LOW_AND_SLOW_SECRETS
    for arn in rng.sample(world.aws_secrets[PROD], LOW_AND_SLOW_SECRETS):
        t += rng.uniform(0.6 * gap, 1.4 * gap)
        _aws(
            out,
            "attacker:low-and-slow",
            "GetSecretValue",
            ident,
            min(t, t0 + 6 * HOUR),
            secret_id=arn,
            source_address=ip,
            user_agent=ua,
        )
    return out


def compromised_ci_identity(world: World, rng: random.Random, t0: float) -> list[Item]:
    """The CI role that reads the same 3 secrets on every run, used from a new address to read 25
    secrets it never touched."""
    victim = world.ci_victim
    assert victim is not None
    ident = victim.ident
    ip = _attacker_ip(rng)
    ua = c.aws_cli("secretsmanager.get-secret-value", "os/linux#6.8.0 md/arch#x86_64")
    out: list[Item] = []
    _aws(out, "attacker:compromised-ci", "ListSecrets", ident, t0, source_address=ip, user_agent=ua)
    never_used = [s for s in world.aws_secrets[PROD] if s not in victim.secrets and "rds!" not in s]
    t = t0
    for arn in rng.sample(never_used, 25):
        t += rng.uniform(1, 12)
        _aws(
            out, "attacker:compromised-ci", "GetSecretValue", ident, t, secret_id=arn, source_address=ip, user_agent=ua
        )
    return out


def denied_probing(world: World, rng: random.Random, t0: float) -> list[Item]:
    """Guessing secret names without rights: AWS AccessDenied, Key Vault 403, GCP PERMISSION_DENIED."""
    out: list[Item] = []
    guesses = [f"{s}/{k}" for s in rng.sample(SERVICES, 6) for k in rng.sample(KINDS, 4)]
    ident = AwsIdentity.assumed_role(PROD, "web-frontend-instance-role", "i-0a1b2c3d4e5f60718")
    ip = _attacker_ip(rng)
    ua = c.AWS_SDKS[1]
    _aws(out, "attacker:probe-aws", "ListSecrets", ident, t0, source_address=ip, user_agent=ua, denied=True)
    t = t0
    for guess in guesses:
        t += rng.uniform(0.5, 4)
        _aws(
            out,
            "attacker:probe-aws",
            "GetSecretValue",
            ident,
            t,
            secret_id=f"prod/{guess}",
            source_address=ip,
            user_agent=ua,
            denied=True,
        )
    user = world.azure_people[2 % len(world.azure_people)]
    vault = world.vault("kv-ledger-prod")
    t = t0 + 20 * 60
    for guess in guesses[:20]:
        t += rng.uniform(0.5, 4)
        doc = keyvault_event(
            "SecretGet",
            user,
            vault,
            t,
            object_name=guess.replace("/", "-"),
            source_ip=ip,
            client_info=c.AZ_CLI,
            status=403,
        )
        out.append(Item(t, doc, user.canonical, "attacker:probe-azure"))
    who = GcpPrincipal.service_account("payments-app-0", PROJECTS[0].id)
    t = t0 + 40 * 60
    for guess in guesses[:20]:
        t += rng.uniform(0.5, 4)
        doc = secret_manager_event(
            "AccessSecretVersion",
            who,
            PROJECTS[1],
            t,
            secret=guess.replace("/", "-"),
            caller_ip=ip,
            user_agent=c.GCP_LIBS[1],
            denied=True,
        )
        out.append(Item(t, doc, who.canonical, "attacker:probe-gcp"))
    return out


# Attacks by identities with a benign history ------------------------------------------------------------
# Each takes over an identity the benign world already uses (an application, a CI role, a person), so the
# rules cannot tell the attack from a brand-new principal.


def _first(world: World, kind: type, pick: Callable[[object], bool] = lambda a: True) -> object:
    """The middle one of the world's actors of `kind` that `pick` accepts (any of `kind` if none does)."""
    found = [a for a in world.actors if isinstance(a, kind) and pick(a)] or [
        a for a in world.actors if isinstance(a, kind)
    ]
    if not found:
        raise ValueError(f"the world has no {kind.__name__} to take over")
    return found[len(found) // 2]


def _unread(world: World, account: str, own: list[str]) -> list[str]:
    mine = {s.split(":secret:")[-1][:-7] if s.startswith("arn:") else s for s in own}
    return [s for s in world.aws_secrets[account] if "rds!" not in s and s.split(":secret:")[-1][:-7] not in mine]


def _app_harvest(size: int) -> Callable[[World, random.Random, float], list[Item]]:
    def run(world: World, rng: random.Random, t0: float) -> list[Item]:
        app = _first(world, AwsPoller, lambda a: a.ident.account_id == PROD)
        assert isinstance(app, AwsPoller)
        ip, actor = _attacker_ip(rng), f"attacker:app-harvest-{size}"
        ua = c.aws_cli("secretsmanager.get-secret-value", "os/linux#6.8.0 md/arch#x86_64")
        out: list[Item] = []
        t = t0
        for arn in rng.sample(_unread(world, PROD, app.secrets), size):
            _aws(out, actor, "GetSecretValue", app.ident, t, secret_id=arn, source_address=ip, user_agent=ua)
            t += rng.uniform(2, 20)
        return out

    run.__doc__ = f"An application's stolen credential reading {size} secrets it never read, from a new address."
    return run


HARVEST_SIZES = (5, 10, 15, 25, 40)


def rotating_address_harvest(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A CI role's stolen credential reading 15 secrets through a proxy pool: a new address per call."""
    ci = _first(world, AwsCi, lambda a: a is not world.ci_victim and a.ident.type == "AssumedRole")
    assert isinstance(ci, AwsCi)
    out: list[Item] = []
    t = t0
    for arn in rng.sample(_unread(world, PROD, ci.secrets), 15):
        ip = c.pick_ip(rng, c.CI_RUNNERS, 200, 250) if rng.random() < 0.5 else _attacker_ip(rng)
        _aws(out, "attacker:rotating-address", "GetSecretValue", ci.ident, t, secret_id=arn, source_address=ip,
             user_agent=c.AWS_SDKS[2])
        t += rng.uniform(3, 40)
    return out


def slow_harvest_hourly(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A function's stolen role credential reading 4 new secrets an hour for 6 hours (24), one address."""
    fn = _first(world, AwsLambdaApp)
    assert isinstance(fn, AwsLambdaApp)
    ip = _attacker_ip(rng)
    out: list[Item] = []
    pool = rng.sample(_unread(world, PROD, fn.secrets), 24)
    for h in range(6):
        for k in range(4):
            t = t0 + h * HOUR + k * 900 + (rng.uniform(0, 600) if h or k else 0.0)
            _aws(out, "attacker:slow-hourly", "GetSecretValue", fn.ident, t, secret_id=pool[h * 4 + k],
                 source_address=ip, user_agent=c.LAMBDA_PY)
    return out


def list_then_read_small(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A managed identity's token used to list its vault, then read 4 secrets: under every count threshold."""
    app = _first(world, AzPoller)
    assert isinstance(app, AzPoller)
    ip = _attacker_ip(rng)
    names = [n for n in world.vault_secrets[app.vault.name] if n not in app.secrets]
    out = [Item(t0, keyvault_event("SecretList", app.ident, app.vault, t0, source_ip=ip, client_info=c.AZ_CLI),
                app.ident.canonical, "attacker:list-then-read-small")]
    t = t0
    for name in rng.sample(names, min(4, len(names))):
        t += rng.uniform(5, 40)
        doc = keyvault_event("SecretGet", app.ident, app.vault, t, object_name=name, source_ip=ip, client_info=c.AZ_CLI)
        out.append(Item(t, doc, app.ident.canonical, "attacker:list-then-read-small"))
    return out


def seed_aws_list_get_known(world: World, rng: random.Random, t0: float) -> list[Item]:
    """The seed's AWS test by a person's leaked IAM user key (a user with history): ListSecrets, one read."""
    person = _first(world, AwsPerson, lambda a: a.ident.type == "IAMUser")
    assert isinstance(person, AwsPerson)
    ip, ua = _attacker_ip(rng), c.aws_cli("secretsmanager.list-secrets", "os/linux#6.1.0 md/arch#x86_64")
    out: list[Item] = []
    _aws(out, "attacker:seed-aws-known", "ListSecrets", person.ident, t0, source_address=ip, user_agent=ua)
    _aws(out, "attacker:seed-aws-known", "GetSecretValue", person.ident, t0 + rng.uniform(4, 20),
         secret_id=rng.choice(world.aws_secrets[person.ident.account_id]), source_address=ip, user_agent=ua)
    return out


def low_and_slow_known(world: World, rng: random.Random, t0: float) -> list[Item]:
    """`low_and_slow` by an existing application's role: 30 secrets, one every ~12 minutes, over 6 hours."""
    app = _first(world, AwsPoller, lambda a: a.ident.account_id == PROD)
    assert isinstance(app, AwsPoller)
    ip = _attacker_ip(rng)
    out: list[Item] = []
    gap = 6 * HOUR / LOW_AND_SLOW_SECRETS
    t = t0
    for arn in rng.sample(_unread(world, PROD, app.secrets), LOW_AND_SLOW_SECRETS):
        _aws(out, "attacker:low-and-slow-known", "GetSecretValue", app.ident, min(t, t0 + 6 * HOUR), secret_id=arn,
             source_address=ip, user_agent=app.ua)
        t += rng.uniform(0.6 * gap, 1.4 * gap)
    return out


def console_login_then_harvest(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A phished person's SSO session: a console sign-in from the attacker's address, then the console's
    ListSecrets and 8 secrets opened."""
    person = _first(world, AwsPerson, lambda a: a.ident.type == "AssumedRole" and a.console)
    assert isinstance(person, AwsPerson)
    ident, ip, actor = person.ident, _attacker_ip(rng), "attacker:console-login"
    out = [Item(t0, console_login_event(ident, t0, source_address=ip, user_agent=c.FIREFOX), ident.canonical, actor)]
    t = t0 + rng.uniform(30, 300)
    _aws(out, actor, "ListSecrets", ident, t, max_results=100, source_address=ip, user_agent=c.FIREFOX)
    for arn in rng.sample(_unread(world, ident.account_id, person.team_secrets), 8):
        t += rng.uniform(10, 60)
        _aws(out, actor, "GetSecretValue", ident, t, secret_id=arn, source_address=ip, user_agent=c.FIREFOX)
    return out


def assume_role_then_harvest(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A Jenkins IAM user's leaked key assumes an IaC deployer role from a VPS, then reads 12 secrets as it."""
    jenkins = _first(world, AwsCi, lambda a: a.ident.type == "IAMUser")
    iac = _first(world, AwsIac, lambda a: a.ident.account_id == PROD)
    assert isinstance(jenkins, AwsCi) and isinstance(iac, AwsIac)
    role = AwsIdentity.assumed_role(PROD, iac.ident.name, "jenkins-maint")
    ip, ua, actor = c.pick_ip(rng, c.CI_RUNNERS, 200, 250), c.AWS_SDKS[1], "attacker:assume-role"
    doc = assume_role_event(jenkins.ident, t0, role=role, source_address=ip, user_agent=ua)
    out = [Item(t0, doc, jenkins.ident.canonical, actor)]
    t = t0 + rng.uniform(5, 60)
    for arn in rng.sample(_unread(world, PROD, iac.secrets), 12):
        t += rng.uniform(1, 15)
        _aws(out, actor, "GetSecretValue", role, t, secret_id=arn, source_address=ip, user_agent=ua)
    return out


def gcp_impersonation_then_harvest(world: World, rng: random.Random, t0: float) -> list[Item]:
    """A person's stolen Google session mints a token for the Terraform service account
    (GenerateAccessToken) and reads 10 secrets as it, from the attacker's address."""
    tf = _first(world, GcpTerraform)
    assert isinstance(tf, GcpTerraform)
    caller = world.gcp_people[len(world.gcp_people) // 2]
    ip, actor = _attacker_ip(rng), "attacker:gcp-impersonation"
    doc = token_event("GenerateAccessToken", caller, tf.project, t0, target=tf.who, caller_ip=ip,
                      user_agent=c.gcloud("auth.print-access-token"))
    out = [Item(t0, doc, caller.canonical, actor)]
    names = [n for n in world.gcp_secrets[tf.project.id] if n not in tf.secrets] or world.gcp_secrets[tf.project.id]
    t = t0 + rng.uniform(5, 60)
    for name in rng.sample(names, min(10, len(names))):
        t += rng.uniform(1, 10)
        doc = secret_manager_event("AccessSecretVersion", tf.who, tf.project, t, secret=name, caller_ip=ip,
                                   user_agent=c.GCP_LIBS[1])
        out.append(Item(t, doc, tf.who.canonical, actor))
    return out


AttackFn = Callable[[World, random.Random, float], list[Item]]


@dataclass(frozen=True)
class Attack:
    name: str
    summary: str
    run: AttackFn
    duration: float  # seconds the attack spans (for placing it inside a benign period)


ATTACKS: tuple[Attack, ...] = (
    Attack(
        "seed_aws_list_get", "AWS ListSecrets then GetSecretValue (the seed rule's AWS test)", seed_aws_list_get, 60
    ),
    Attack(
        "seed_azure_list_get",
        "Key Vault SecretList then SecretGet (the seed rule's Azure test)",
        seed_azure_list_get,
        60,
    ),
    Attack(
        "seed_gcp_list_access",
        "GCP ListSecrets then AccessSecretVersion (the seed rule's GCP test)",
        seed_gcp_list_access,
        60,
    ),
    Attack(
        "microburst_keyvault_dump",
        "MicroBurst Get-AzPasswords: VaultGet, SecretList, SecretGet of every secret in three vaults",
        microburst_keyvault_dump,
        600,
    ),
    Attack("stratus_aws_retrieve", "Stratus: ListSecrets then 20 GetSecretValue", stratus_aws_retrieve, 60),
    Attack(
        "stratus_aws_batch_retrieve",
        "Stratus: 42 secrets in 5 BatchGetSecretValue calls (tag filter, MaxResults=10)",
        stratus_aws_batch_retrieve,
        60,
    ),
    Attack(
        "stratus_gcp_retrieve",
        "Stratus: ListSecrets with a label filter, then 20 AccessSecretVersion",
        stratus_gcp_retrieve,
        60,
    ),
    Attack("low_and_slow", "30 secrets read one at a time over 6 hours with a stolen key", low_and_slow, 6 * HOUR + 60),
    Attack(
        "compromised_ci_identity",
        "a CI role that reads 3 secrets reads 25 new ones from a new address",
        compromised_ci_identity,
        600,
    ),
    Attack(
        "denied_probing",
        "guessed secret names refused on all three clouds (AccessDenied, 403, PERMISSION_DENIED)",
        denied_probing,
        3600,
    ),
    *(
        Attack(
            f"existing_app_harvest_{n:02d}",
            f"an existing application's credential reads {n} secrets it never read, by name, from a new address",
            _app_harvest(n),
            60 + 20 * n,
        )
        for n in HARVEST_SIZES
    ),
    Attack(
        "rotating_address_harvest",
        "an existing CI role reads 15 new secrets, a new address on every call",
        rotating_address_harvest,
        900,
    ),
    Attack(
        "slow_harvest_hourly",
        "an existing function's role reads 4 new secrets an hour for 6 hours (24)",
        slow_harvest_hourly,
        6 * HOUR + 60,
    ),
    Attack(
        "list_then_read_small",
        "an existing managed identity lists its vault, then reads 4 secrets (below every count threshold)",
        list_then_read_small,
        300,
    ),
    Attack(
        "seed_aws_list_get_known",
        "the seed's AWS test by an existing person's IAM user key: ListSecrets, one GetSecretValue",
        seed_aws_list_get_known,
        60,
    ),
    Attack(
        "low_and_slow_known",
        "an existing application's role reads 30 new secrets one at a time over 6 hours",
        low_and_slow_known,
        6 * HOUR + 60,
    ),
    Attack(
        "console_login_then_harvest",
        "a phished SSO session signs in to the AWS console from a new address and opens 8 secrets",
        console_login_then_harvest,
        900,
    ),
    Attack(
        "assume_role_then_harvest",
        "a leaked IAM user key assumes a deployer role from a VPS and reads 12 secrets as it",
        assume_role_then_harvest,
        300,
    ),
    Attack(
        "gcp_impersonation_then_harvest",
        "a stolen Google session mints a service account token (GenerateAccessToken) and reads 10 secrets",
        gcp_impersonation_then_harvest,
        300,
    ),
    Attack("vault_token_harvest", "a stolen Vault token lists KV folders, reads 36 secrets and leases database and "
           "AWS credentials", vault_token_harvest, 300),
    Attack("ssm_parameters_by_path_sweep", "GetParametersByPath --path / --recursive --with-decryption with a "
           "leaked key, 10 parameters a page", ssm_parameters_by_path_sweep, 60),
)
