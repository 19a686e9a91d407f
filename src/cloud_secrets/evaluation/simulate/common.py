"""Small shared pieces of the simulator: emitted items, rhythm, random helpers, addresses, user agents."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..upstream._common import stable_hex

HOUR = 3600.0
DAY = 86400.0


class Item(NamedTuple):
    """One simulated document with its ground truth (kept outside the document)."""

    ts: float
    doc: dict[str, Any] | Any  # a document, or a `fast.Encoded` line of one
    identity: str  # what the field contract's `cloud_secrets.identity` will be for this document
    actor: str  # the simulated actor that caused it (finer than identity: SSO roles are shared)


@dataclass(frozen=True, slots=True)
class Label:
    """The ground truth of one document, written to the side file, never into the document."""

    scenario: str
    kind: str  # "attack" | "benign"
    identity: str
    actor: str


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def weekday(ts: float, tz_hours: float = 0.0) -> int:
    """0 = Monday ... 6 = Sunday, in the given UTC offset (1970-01-01 was a Thursday)."""
    return (int((ts + tz_hours * HOUR) // DAY) + 3) % 7


def local_hour(ts: float, tz_hours: float = 0.0) -> int:
    return int(((ts + tz_hours * HOUR) % DAY) // HOUR)


_OFFICE = [
    0.01,
    0.01,
    0.01,
    0.01,
    0.01,
    0.02,
    0.04,
    0.15,
    0.5,
    0.95,
    1.0,
    1.0,
    0.6,
    0.9,
    1.0,
    1.0,
    0.85,
    0.5,
    0.25,
    0.12,
    0.08,
    0.05,
    0.03,
    0.02,
]


def office_weight(ts: float, tz_hours: float = 0.0) -> float:
    """How busy people are in this hour: office hours on weekdays, almost nothing at weekends."""
    w = _OFFICE[local_hour(ts, tz_hours)]
    return w * 0.06 if weekday(ts, tz_hours) >= 5 else w


def pick_ip(rng: random.Random, network: str, lo: int = 1, hi: int = 254) -> str:
    """An address in a /24 given as `a.b.c` (documentation or private ranges only)."""
    return f"{network}.{rng.randint(lo, hi)}"


# Address plan (documentation ranges for public addresses, RFC 1918 for internal callers):
OFFICE_NAT = "192.0.2"  # corporate egress, shared by many people (.10-.19)
VPN_POOL = "192.0.2"  # VPN exit addresses (.100-.140)
HOME_V4 = "203.0.113"  # people at home (.1-.99); attackers use .150-.250
CI_RUNNERS = "198.51.100"  # hosted CI runners (.1-.120); attackers' cloud hosts use .200-.250
ATTACKER_V4 = "203.0.113"


def home_ipv6(rng: random.Random) -> str:
    return f"2001:db8:{rng.randint(1, 0xFFFF):x}:{rng.randint(1, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}"


def private_ip(rng: random.Random, second: int) -> str:
    return f"10.{second}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"


# User agents (upstream keeps them verbatim in user_agent.original) --------------------------------

CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36"
)
EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80"
)
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0"
BROWSERS = (CHROME, EDGE, FIREFOX)


def aws_cli(command: str, os_part: str = "os/macos#23.4.0 md/arch#arm64") -> str:
    return (
        f"aws-cli/2.15.38 md/awscrt#0.19.19 ua/2.0 {os_part} lang/python#3.11.8 md/pyimpl#CPython "
        f"cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{command}"
    )


AWS_SDKS = (
    "aws-sdk-java/2.25.13 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS "
    "Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/secretsmanager#1.28.4",
    "aws-sdk-nodejs/3.540.0 linux/v20.12.0 lang/js md/nodejs#20.12.0 api/secrets-manager#3.540.0",
)
LAMBDA_PY = (
    "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209-226.858.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 "
    "cfg/retry-mode#legacy Botocore/1.34.42"
)
TERRAFORM_AWS = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) "
    "terraform-provider-aws/5.43.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
    "aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 "
    "api/secretsmanager#1.28.4"
)
PULUMI_AWS = (
    "aws-sdk-go/1.50.36 (go1.21.8; linux; amd64) APN/1.0 HashiCorp/1.0 Terraform/1.5.7 "
    "(+https://www.terraform.io) pulumi-aws/v6.28.1"
)

AZ_SDKS = (
    "azsdk-net-Security.KeyVault.Secrets/4.6.0 (.NET 8.0.3; Ubuntu 22.04.4 LTS)",
    "azsdk-python-keyvault-secrets/4.8.0 Python/3.11.8 (Linux-5.15.0-1057-azure-x86_64-with-glibc2.35)",
    "azsdk-java-azure-security-keyvault-secrets/4.8.1 (17.0.10; Linux; 5.15.0-1057-azure)",
    "azsdk-js-keyvault-secrets/4.8.0 core-rest-pipeline/1.15.1 Node/v20.12.0 OS/(x64-Linux-5.15.0)",
)
AZ_CLI = (
    "python/3.11.8 (Linux-5.15.0-1057-azure-x86_64-with-glibc2.35) AZURECLI/2.59.0 (DEB) "
    "azsdk-python-keyvault-secrets/4.7.0"
)
AZ_PIPELINES = "AzurePipelines-Agent/3.236.1 (Linux) AzureKeyVault/2.236.0"
TERRAFORM_AZ = (
    "Go/go1.22.1 (amd64-linux) go-autorest/v14.2.1 hashicorp/go-azure-sdk/keyvault/2023-07-01 "
    "HashiCorp Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-azurerm/v3.97.1"
)
AZ_POWERSHELL = "azsdk-net-Security.KeyVault.Secrets/4.2.0 (.NET Framework 4.8.9181.0; Microsoft Windows 10.0.19045 )"

GCP_LIBS = (
    "grpc-go/1.62.1,gzip(gfe)",
    "gl-python/3.11.8 grpc/1.62.1 gax/2.17.2 gapic/2.18.2 gccl/2.18.2,gzip(gfe)",
    "grpc-java-netty/1.62.2 gl-java/17.0.10 gax/2.45.0 gapic/2.38.0 gccl/2.38.0,gzip(gfe)",
    "gl-node/20.12.0 gax/4.3.2 gapic/5.2.0 gccl/5.2.0,gzip(gfe)",
)
TERRAFORM_GCP = (
    "Terraform/1.7.5 (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 terraform-provider-google/5.23.0,gzip(gfe)"
)


def gcloud(command: str) -> str:
    return (
        f"google-cloud-sdk gcloud/470.0.0 command/gcloud.{command} invocation-id/"
        f"{stable_hex(8, command)} environment/None environment-version/None client-os/MACOSX "
        "client-os-ver/23.4.0 client-pltf-arch/arm interactive/True from-script/False python/3.11.8 "
        "term/xterm-256color (Macintosh; Intel Mac OS X 23.4.0),gzip(gfe)"
    )
