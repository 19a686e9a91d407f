"""Attacks on the two further stores: a stolen Vault token harvesting KV and dynamic credentials, and a
Parameter Store sweep with `GetParametersByPath --with-decryption --recursive`.

- `vault_token_harvest`: a Vault token stolen from a workload (its Vault Agent sink file, or an environment
  variable in a CI log) used from an attacker's host: `auth/token/lookup-self` to learn its policies, LIST of
  the KV v2 metadata folders it may see, then a read of every secret in them and a lease of database and AWS
  credentials, within minutes (the shape of tools such as vault-secrets-dump / `vault kv get -recursive`).
- `ssm_parameters_by_path_sweep`: a leaked IAM access key used with
  `aws ssm get-parameters-by-path --path / --recursive --with-decryption`, which the CLI pages through 10
  parameters at a time: one GetParametersByPath call per page, all on the same path (the Stratus Red Team
  technique `ssm-retrieve-securestring-parameters` does the same with DescribeParameters + GetParameters).
"""

from __future__ import annotations

import random

from ...timestamps import to_ms
from ..upstream.aws import AwsIdentity
from ..upstream.ssm import parameter_event
from ..upstream.vault import VaultPrincipal, audit_events, kv_path
from . import common as c
from .actors_ssm import parameter_names
from .actors_vault import KV_MOUNT, secret_names, vault_identity
from .common import Item
from .world import PROD, REGIONS, SERVICES, World


def vault_token_harvest(world: World, rng: random.Random, t0: float) -> list[Item]:
    who = VaultPrincipal.approle("ci-deploy", policies=("ci-deploy", "apps-read"))
    identity, actor = vault_identity(who), "attacker:vault-token"
    ip = c.pick_ip(rng, c.ATTACKER_V4, 150, 250)
    out: list[Item] = []

    def call(op: str, path: str, ts: float, **kw: object) -> None:
        for doc in audit_events(op, path, who, ts, remote_address=ip, **kw):  # type: ignore[arg-type]
            out.append(Item(to_ms(doc["@timestamp"]) / 1000, doc, identity, actor))

    t = t0
    call("read", "auth/token/lookup-self", t, mount_type="token")
    targets = list(SERVICES[:6])
    call("list", f"{KV_MOUNT}/metadata/apps/", t + 2, response_data={"keys": [f"{s}/" for s in targets]})
    for svc in targets:
        t += rng.uniform(1, 4)
        call("list", f"{KV_MOUNT}/metadata/apps/{svc}/", t, response_data={"keys": secret_names(svc)})
        for name in secret_names(svc):
            t += rng.uniform(0.2, 1.5)
            call("read", kv_path(KV_MOUNT, name), t,
                 response_data={"data": {"value": name}, "metadata": {"version": 1}})
    for svc in targets[:3]:
        t += rng.uniform(1, 3)
        call("read", f"database/creds/{svc}-rw", t, mount_type="database", response_data={"password": "x"})
    t += rng.uniform(1, 3)
    call("read", "aws/creds/deploy", t, mount_type="aws", response_data={"secret_key": "x"})
    return out


def ssm_parameters_by_path_sweep(world: World, rng: random.Random, t0: float) -> list[Item]:
    ident = AwsIdentity.iam_user(PROD, "svc-reporting-legacy")
    ip = c.pick_ip(rng, c.ATTACKER_V4, 150, 250)
    ua = c.aws_cli("ssm.get-parameters-by-path", "os/linux#6.1.0 md/arch#x86_64")
    total = sum(len(parameter_names(s)) for s in SERVICES[:8])
    out: list[Item] = []
    t = t0
    for _ in range((total + 9) // 10):
        doc = parameter_event("GetParametersByPath", ident, t, path="/", recursive=True, with_decryption=True,
                              max_results=10, region=REGIONS[PROD], source_address=ip, user_agent=ua)
        out.append(Item(t, doc, ident.canonical, "attacker:ssm-sweep"))
        t += rng.uniform(0.3, 1.2)
    return out
