"""pySigma processing pipelines of ours: Sigma's cloud log field names to ECS (Elastic targets) and to
Microsoft Sentinel's tables (kusto target)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import SigmaCorrelationFieldAliases, SigmaCorrelationRule
from sigma.processing.conditions import IncludeFieldCondition, LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline, QueryPostprocessingItem
from sigma.processing.postprocessing import QueryPostprocessingTransformation
from sigma.processing.transformations import (
    AddConditionTransformation,
    DetectionItemFailureTransformation,
    FieldMappingTransformation,
    PreprocessingTransformation,
    RuleFailureTransformation,
)
from sigma.rule import SigmaRule

from ..catalog import Catalog

LOGSOURCES = {
    "aws": {"product": "aws", "service": "cloudtrail"},
    "azure": {"product": "azure", "service": "keyvault"},
    "gcp": {"product": "gcp", "service": "gcp.audit"},
    "hashicorp_vault": {"product": "hashicorp", "service": "vault"},
}

# Sigma (each cloud's own log field names) -> ECS as the official Elastic integrations and the package's
# tagging pipeline write it.
ECS_FIELDS = {
    "aws": {
        "eventSource": "event.provider",
        "eventName": "event.action",
        "errorCode": "aws.cloudtrail.error_code",
        "sourceIPAddress": "source.ip",
        "userIdentity.arn": "aws.cloudtrail.user_identity.arn",
        "requestParameters.secretId": "cloud_secrets.secret.id",
        "requestParameters.name": "cloud_secrets.secret.id",
        "requestParameters.withDecryption": "aws.cloudtrail.flattened.request_parameters.withDecryption",
    },
    "azure": {
        "category": "azure.platformlogs.category",
        "operationName": "event.action",
        "callerIpAddress": "source.ip",
        "identity.claim.oid": "azure.platformlogs.identity.claim.oid",
        "properties.httpStatusCode": "azure.platformlogs.properties.httpStatusCode",
        "properties.id": "cloud_secrets.secret.id",
    },
    "gcp": {
        "protoPayload.serviceName": "service.name",
        "protoPayload.methodName": "event.action",
        "protoPayload.status.code": "gcp.audit.status.code",
        "protoPayload.authenticationInfo.principalEmail": "client.user.email",
        "protoPayload.requestMetadata.callerIp": "source.ip",
        "protoPayload.resourceName": "cloud_secrets.secret.id",
    },
    # The Vault audit entry as the audit device writes it; the integration keeps it under hashicorp_vault.audit.
    "hashicorp_vault": {
        "type": "hashicorp_vault.audit.type",
        "request.operation": "event.action",
        "request.mount_type": "hashicorp_vault.audit.request.mount_type",
        "request.path": "hashicorp_vault.audit.request.path",
        "request.remote_address": "source.ip",
        "error": "hashicorp_vault.audit.error",
        "auth.display_name": "hashicorp_vault.audit.auth.display_name",
    },
}

# Correlation aliases -> the one field that holds the same thing on every cloud once the tagging pipeline ran:
# `cloud_secrets.identity` is the caller (one principal: not the role name AWS integrations put in user.name for
# every IAM Identity Center person, nor the client app of an Azure portal user), as the shipped rules join;
# `cloud_secrets.secret.id` the normalised secret id.
ECS_ALIASES = {"identity": "cloud_secrets.identity", "source_ip": "source.ip", "secret": "cloud_secrets.secret.id"}

# Microsoft Sentinel tables (Azure Monitor reference: AWSCloudTrail, AzureDiagnostics, GCPAuditLogs).
SENTINEL_TABLES = {"aws": "AWSCloudTrail", "azure": "AzureDiagnostics", "gcp": "GCPAuditLogs"}
SENTINEL_FIELDS = {
    "aws": {"eventSource": "EventSource", "eventName": "EventName", "errorCode": "ErrorCode",
            "sourceIPAddress": "SourceIpAddress", "userIdentity.arn": "UserIdentityArn"},
    "azure": {"category": "Category", "operationName": "OperationName", "callerIpAddress": "CallerIPAddress",
              "identity.claim.oid": "identity_claim_oid_g", "properties.httpStatusCode": "httpStatusCode_d",
              "properties.id": "id_s"},
    "gcp": {"protoPayload.serviceName": "ServiceName", "protoPayload.methodName": "MethodName",
            "protoPayload.authenticationInfo.principalEmail": "PrincipalEmail",
            "protoPayload.resourceName": "GCPResourceName"},
}


@dataclass
class ResolveCorrelationAliases(PreprocessingTransformation):
    """Replace correlation aliases by one concrete field.

    The Elastic backends cannot rename fields per referenced rule; on documents tagged by the package the
    aliased fields have one common ECS name, so the alias is resolved to it before conversion."""

    fields: dict[str, str] = field(default_factory=dict)

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        super().apply(rule)
        if not isinstance(rule, SigmaCorrelationRule):
            return
        names = set(rule.aliases.aliases)
        missing = names - set(self.fields)
        if missing:
            raise ValueError(f"no ECS field for correlation alias(es) {sorted(missing)}")
        if rule.group_by:
            rule.group_by = [self.fields[f] if f in names else f for f in rule.group_by]
        cond = rule.condition
        if cond is not None and isinstance(cond.fieldref, str) and cond.fieldref in names:
            cond.fieldref = self.fields[cond.fieldref]
        rule.aliases = SigmaCorrelationFieldAliases()


def _logsource(provider: str) -> LogsourceCondition:
    return LogsourceCondition(**LOGSOURCES[provider])


def ecs_pipeline(cat: Catalog) -> ProcessingPipeline:
    """Sigma -> ECS for the eql, esql and lucene targets, on documents tagged by the package."""
    items: list[ProcessingItem] = []
    for provider in LOGSOURCES:
        datasets = [op.dataset for op in cat.provider(provider).operations if op.op_class != "describe"]
        items.append(ProcessingItem(
            identifier=f"cloud_secrets_{provider}_dataset",
            transformation=AddConditionTransformation({"event.dataset": sorted(set(datasets))}),
            rule_conditions=[_logsource(provider)],
        ))
        items.append(ProcessingItem(
            identifier=f"cloud_secrets_{provider}_fields",
            transformation=FieldMappingTransformation(ECS_FIELDS[provider]),
            rule_conditions=[_logsource(provider)],
        ))
    items.append(ProcessingItem(identifier="cloud_secrets_aliases",
                                transformation=ResolveCorrelationAliases(ECS_ALIASES)))
    return ProcessingPipeline(name="cloud-secrets Sigma to ECS", priority=20, items=items)


@dataclass
class PrependTable(QueryPostprocessingTransformation):
    table: str = ""

    def apply(self, rule: SigmaRule | SigmaCorrelationRule, query: Any) -> Any:
        super().apply(rule, query)
        return f"{self.table}\n| where {query}"


def sentinel_pipeline() -> ProcessingPipeline:
    """Sigma -> Microsoft Sentinel tables and columns for the kusto target (base rules only)."""
    items: list[ProcessingItem] = []
    post: list[QueryPostprocessingItem] = []
    for provider, table in SENTINEL_TABLES.items():
        items.append(ProcessingItem(identifier=f"sentinel_{provider}_fields",
                                    transformation=FieldMappingTransformation(SENTINEL_FIELDS[provider]),
                                    rule_conditions=[_logsource(provider)]))
        post.append(QueryPostprocessingItem(identifier=f"sentinel_{provider}_table",
                                            transformation=PrependTable(table),
                                            rule_conditions=[_logsource(provider)]))
    unmapped = [f for p in SENTINEL_TABLES for f in ECS_FIELDS[p] if f not in SENTINEL_FIELDS[p]]
    items.append(ProcessingItem(
        identifier="sentinel_unmapped_fields",
        transformation=DetectionItemFailureTransformation(
            "Sentinel keeps this field only inside a dynamic column (such as GCPAuditLogs.Status); "
            "convert the rule by hand"),
        field_name_conditions=[IncludeFieldCondition(fields=unmapped)],
    ))
    items.append(ProcessingItem(
        identifier="sentinel_unsupported_logsource",
        transformation=RuleFailureTransformation("no Sentinel table for this log source"),
        rule_conditions=[_logsource(p) for p in SENTINEL_TABLES],
        rule_condition_negation=True, rule_condition_linking=any,
    ))
    return ProcessingPipeline(name="cloud-secrets Sigma to Microsoft Sentinel", priority=20, items=items,
                              postprocessing_items=post)
