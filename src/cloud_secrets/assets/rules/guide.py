"""The investigation guide (`note`) and `setup` text of every rule, in the detection-rules layout."""

from __future__ import annotations

from ..catalog import Catalog
from .model import Rule

PLAYBOOK_LINK = "the response playbook in this package's documentation"


def _items(lines: tuple[str, ...] | list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def allowlist_text(rule: Rule) -> str:
    return (
        "Known automation is allowed only through exceptions you control: the rule never drops an event "
        "because of its user agent or of `cloud_secrets.automation`, which the caller can influence. To "
        "allowlist a tool's identities:\n\n"
        "1. Under **Security > Rules > Detection rules > Manage value lists**, upload a list of type "
        "`keyword` (for example `cloud-secrets-trusted-identities`) with one `cloud_secrets.identity` per line.\n"
        f"2. On the rule *{rule.name}*, **Add rule exception**: `cloud_secrets.identity` *is in list* "
        "`cloud-secrets-trusted-identities`, **and** `source.ip` *is one of* (or *is in list*) the tool's own "
        "addresses, so that the same credential used from anywhere else still alerts.\n"
        "3. Optionally add `cloud_secrets.automation` *is* `ci`, `iac` or `rotation` as a further condition. "
        "Never make it the only one.\n\n"
        "`cloud-secrets rules export --format ndjson --allowlist FILE` writes the same exception, attached to "
        "rules 2 to 5, for Kibana's rule import."
    )


def note(rule: Rule) -> str:
    g = rule.guide
    parts = [
        "## Triage and analysis",
        f"### Investigating {rule.name}",
        g.summary,
    ]
    if rule.why_this_type:
        parts.append(rule.why_this_type)
    parts += ["### Possible investigation steps", _items(g.investigation),
              "### False positive analysis", _items(g.false_positive_analysis + rule.false_positives)]
    if rule.allowlist:
        parts.append(allowlist_text(rule))
    parts += ["### Response and remediation", _items((
        *g.response,
        "Contain first, then rotate: revoke the identity's sessions and keys before rotating secrets, or the "
        "adversary reads the new values too.",
        f"Scope with the hunting queries and follow {PLAYBOOK_LINK}.",
    ))]
    if rule.deviations:
        parts += ["### Changes from the seed rule", _items(rule.deviations)]
    return "\n\n".join(parts) + "\n"


def setup(cat: Catalog) -> str:
    stores = ", ".join(p.title for p in cat.providers)
    return "\n\n".join([
        "## Setup",
        f"This rule reads secret-store activity ({stores}) collected by Elastic's AWS, Azure, Google Cloud "
        "and HashiCorp Vault integrations and tagged by the **Cloud Secrets Access Detection** package's ingest "
        "pipeline.",
        "### Logging to enable",
        _items([
            "AWS: CloudTrail management events in the `aws.cloudtrail` data stream (Secrets Manager and "
            "Parameter Store reads are management events; data events are not needed).",
            "Azure: a diagnostic setting on every Key Vault that sends the `AuditEvent` category to the Event "
            "Hub read by the Azure integration's platform logs (`azure.platformlogs`).",
            "Google Cloud: `DATA_READ` audit logs for `secretmanager.googleapis.com` (off by default), "
            "collected by the `gcp.audit` data stream.",
            "HashiCorp Vault: a file or socket audit device, collected by the HashiCorp Vault integration's "
            "`hashicorp_vault.audit` data stream.",
        ]),
        "### Wiring the tagging pipeline",
        "Add a `pipeline` processor calling `logs-cloud_secrets.secret_access-<version>` to the `@custom` "
        "pipeline of each data stream: `logs-aws.cloudtrail@custom`, `logs-azure.platformlogs@custom`, "
        "`logs-azure.activitylogs@custom`, `logs-gcp.audit@custom` and `logs-hashicorp_vault.audit@custom`. "
        "The pipeline adds the `cloud_secrets.*` "
        "fields and fills `user.name` from the caller's identity when the integration left it empty (Azure Key "
        "Vault and Google Cloud), which the rules need.",
    ]) + "\n"
