"""Builders of documents shaped exactly as Elastic's official integrations index them.

One place knows each integration's output (before our `@custom` tagging pipeline runs):

- `aws`: `aws.cloudtrail` (`cloudtrail_event`, `secrets_manager_event`, `batch_companion_events`).
- `azure`: `azure.platformlogs` Key Vault AuditEvents (`keyvault_event`) and `azure.activitylogs` ARM
  events (`activity_event`).
- `gcp`: `gcp.audit` (`audit_event`, `secret_manager_event`).

Every builder is pure: the same arguments give the same document (ids are derived from the arguments,
the clock is never read), and every call returns fresh objects that the caller may mutate.
"""

from ...timestamps import Timestamp, iso
from ._common import java_to_string
from .aws import AwsIdentity, batch_companion_events, cloudtrail_event, secret_arn, secrets_manager_event
from .azure import AzureIdentity, KeyVault, activity_event, keyvault_event
from .gcp import GcpPrincipal, GcpProject, audit_event, secret_manager_event

__all__ = [
    "AwsIdentity",
    "AzureIdentity",
    "GcpPrincipal",
    "GcpProject",
    "KeyVault",
    "Timestamp",
    "activity_event",
    "audit_event",
    "batch_companion_events",
    "cloudtrail_event",
    "iso",
    "java_to_string",
    "keyvault_event",
    "secret_arn",
    "secret_manager_event",
    "secrets_manager_event",
]
