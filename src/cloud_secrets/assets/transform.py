"""The hourly per-identity summary transform, as the package ships it (`identity_hourly`).

The transform (`package/elasticsearch/transform/identity_hourly/`, generated from `transform_body`) pivots the
tagged secret-store events into one document per identity and hour; `dest_fields` are its destination
fields. `Margin` holds the numbers of the `baseline_deviation` rule that reads those documents. The same
pivot runs on a node as a composite aggregation in `elastic.pivot`, and is computed without Elasticsearch in
`evaluation.baselines` (the reference the tests and the backtest use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .catalog import Catalog
from .fields import field_types
from .indices import rule_indices
from .package_assets import SIMULATED_TAG

TRANSFORM = "identity_hourly"
#: `_meta.fleet_transform_version`. Fleet reinstalls the transform on a package upgrade only when it changes
#: (the transform id ends with it), so bump it with every change of the transform or its fields.
TRANSFORM_VERSION = "0.3.0"
#: One destination index per transform version (Fleet's destination index template matches this exact name).
DEST_INDEX = f"logs-cloud_secrets.identity_hourly-{TRANSFORM_VERSION}"
#: What every reader uses (the rule's FROM, the dashboards' data view). Elasticsearch adds the destination
#: index to it when the transform creates that index, and `move_on_creation` takes the previous version's
#: index out of it, so readers never count an hour twice after an upgrade (Fleet keeps the old index).
DEST_ALIAS = "logs-cloud_secrets.identity_hourly.latest"
#: Every destination index of every version (for clean-up; readers use DEST_ALIAS).
DEST_PATTERN = "logs-cloud_secrets.identity_hourly-*"
#: The time field of the transform's checkpoints: when Elasticsearch stored the event, which Fleet's final
#: pipeline sets on every Fleet-managed data stream (`.fleet_final_pipeline-1`). Events that arrive late are
#: still summarised into the hour of their @timestamp; syncing on @timestamp would skip them.
SYNC_FIELD = "event.ingested"
INTERVAL = timedelta(hours=1)
SUMMARY = "cloud_secrets.summary"
GROUP_BY = ("cloud_secrets.identity", "cloud_secrets.identity_type", "cloud_secrets.provider")
READS = ("read", "batch_read")
#: Every field the transform reads of a tagged document: its source query, its groups and its aggregations
#: (`is_secret_access`, `SummaryBuilder.add`, `_Acc.add`).
SOURCE_FIELDS = ("@timestamp", "tags", *GROUP_BY, "cloud_secrets.operation", "cloud_secrets.outcome",
                 "cloud_secrets.secret.id", "cloud_secrets.secret.count", "source.ip")


@dataclass(frozen=True)
class SummaryField:
    name: str  # relative to SUMMARY
    type: str
    description: str


#: Every number the transform writes, in the order of its aggregations.
SUMMARY_FIELDS = (
    SummaryField("events", "long", "Secret-store access events of the identity in the hour (reads, lists, describes)."),
    SummaryField("reads", "long", "Read and batch-read calls, successful or not."),
    SummaryField("lists", "long", "List calls (enumeration of secrets or versions)."),
    SummaryField("describes", "long", "Describe calls (metadata only, vault reads included)."),
    SummaryField("failures", "long", "Calls the store refused (cloud_secrets.outcome: failure)."),
    SummaryField("source_ips", "long", "Distinct source.ip addresses the identity called from."),
    SummaryField("read_success.secrets", "long",
                 "Distinct named secrets (cloud_secrets.secret.id) whose values were read successfully."),
    SummaryField("read_success.values", "long",
                 "Secret values returned by successful reads: cloud_secrets.secret.count of each (1 for a read "
                 "that names its secret; none for one whose id was not logged)."),
    SummaryField("batch.calls", "long", "Successful batch-read calls."),
    SummaryField("batch.secrets", "long", "Secret values successful batch reads can return (sum of secret.count)."),
    SummaryField("batch_unnamed.calls", "long",
                 "Successful batch reads that selected secrets by filter (no id logged)."),
    SummaryField("batch_unnamed.secrets", "long",
                 "Secret values those filter-selected batch reads can return (sum of their page sizes)."),
)


def _term(field: str, value: str) -> dict[str, Any]:
    return {"term": {field: value}}


def _success_reads(*extra: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"filter": [{"terms": {"cloud_secrets.operation": list(READS)}},
                                _term("cloud_secrets.outcome", "success"), *extra]}}


def _count() -> dict[str, Any]:
    return {"value_count": {"field": "@timestamp"}}


def _aggregations() -> dict[str, Any]:
    def batch() -> dict[str, Any]:
        return _term("cloud_secrets.operation", "batch_read")

    return {
        f"{SUMMARY}.events": _count(),
        f"{SUMMARY}.reads": {"filter": {"terms": {"cloud_secrets.operation": list(READS)}}},
        f"{SUMMARY}.lists": {"filter": _term("cloud_secrets.operation", "list")},
        f"{SUMMARY}.describes": {"filter": _term("cloud_secrets.operation", "describe")},
        f"{SUMMARY}.failures": {"filter": _term("cloud_secrets.outcome", "failure")},
        f"{SUMMARY}.source_ips": {"cardinality": {"field": "source.ip"}},
        f"{SUMMARY}.read_success": {"filter": _success_reads(), "aggs": {
            "secrets": {"cardinality": {"field": "cloud_secrets.secret.id"}},
            "values": {"sum": {"field": "cloud_secrets.secret.count"}},
        }},
        f"{SUMMARY}.batch": {"filter": _success_reads(batch()), "aggs": {
            "calls": _count(), "secrets": {"sum": {"field": "cloud_secrets.secret.count"}}}},
        f"{SUMMARY}.batch_unnamed": {
            "filter": {"bool": {**_success_reads(batch())["bool"],
                                "must_not": [{"exists": {"field": "cloud_secrets.secret.id"}}]}},
            "aggs": {"calls": _count(), "secrets": {"sum": {"field": "cloud_secrets.secret.count"}}}},
    }


def source_indices(cat: Catalog) -> list[str]:
    """Where the rules look: the official data streams holding any secret-store operation of the catalog,
    and the package's own data stream (where `cloud-secrets replay` writes)."""
    return rule_indices(cat, ("read", "batch_read", "list", "describe"))


#: Tagged secret-store access, except what `cloud-secrets replay` wrote (simulated documents never enter a baseline).
SOURCE_QUERY = {"bool": {"filter": [_term("tags", "secret_access"), {"exists": {"field": "cloud_secrets.operation"}}],
                         "must_not": [_term("tags", SIMULATED_TAG)]}}


def transform_body(cat: Catalog) -> dict[str, Any]:
    """The transform as package-spec's `transform.yml` holds it."""
    group_by: dict[str, Any] = {f: {"terms": {"field": f}} for f in GROUP_BY}
    group_by["@timestamp"] = {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}}
    return {
        "description": "Cloud Secrets Access Detection: one document per identity and hour summarising its "
                       "secret-store reads, lists, describes and failures (the baselines of baseline_deviation).",
        "source": {"index": source_indices(cat), "query": SOURCE_QUERY},
        "dest": {"index": DEST_INDEX, "aliases": [{"alias": DEST_ALIAS, "move_on_creation": True}]},
        "frequency": "5m",
        "sync": {"time": {"field": SYNC_FIELD, "delay": "15m"}},
        "retention_policy": {"time": {"field": "@timestamp", "max_age": "30d"}},
        "pivot": {"group_by": group_by, "aggregations": _aggregations()},
        # unattended: retried for ever instead of failing after a transient error (a missing source index,
        # a node restart). deduce_mappings off: the destination's mappings are those of fields/ (the index
        # template Fleet installs), not types guessed from the aggregations (a sum would become a double).
        "settings": {"max_page_search_size": 1000, "unattended": True, "deduce_mappings": False},
        # run_as_kibana_system false: Fleet creates the transform with an API key of the user who installs
        # the package, so it reads the official data streams with that user's privileges (kibana_system has
        # none on them) and can be reauthorized from the integration's Assets tab.
        "_meta": {"fleet_transform_version": TRANSFORM_VERSION, "managed": True, "run_as_kibana_system": False},
    }


# --- the baseline_deviation rule's numbers ------------------------------------------------------------

@dataclass(frozen=True)
class Margin:
    """How far above its own history an identity's hour must go: more than
    max(floor, median + max(k * MAD, median)) distinct secrets. The values are those of the rule's query."""

    floor: int = 10
    k: float = 4.0
    history: timedelta = timedelta(days=14)
    # the hour judged starts in (now - recent_from, now - recent_to]: one complete hour per hourly run
    recent_from: timedelta = timedelta(minutes=140)
    recent_to: timedelta = timedelta(minutes=80)


# --- destination fields ------------------------------------------------------------------------------------

def dest_fields() -> list[dict[str, Any]]:
    """The destination index's field definitions (package-spec `fields/` format), group-by fields first."""
    return [
        {"name": "@timestamp", "type": "date", "description": "Start of the hour summarised (UTC)."},
        {"name": "cloud_secrets", "type": "group", "description": "Cloud secret-store access per identity and hour.",
         "fields": [
             {"name": "identity", "type": "keyword", "description": "The caller (cloud_secrets.identity)."},
             {"name": "identity_type", "type": "keyword", "description": "The caller's cloud_secrets.identity_type."},
             {"name": "provider", "type": "keyword", "description": "Cloud of the secret store."},
             {"name": "summary", "type": "group", "description": "Counts over the hour.",
              "fields": [{"name": f.name, "type": f.type, "description": f.description} for f in SUMMARY_FIELDS]},
         ]},
    ]


def dest_field_types() -> dict[str, str]:
    """Dotted destination field name -> type."""
    return field_types(dest_fields())


def fields_used(body: Mapping[str, Any]) -> list[str]:
    """Source fields a transform body reads: aggregation and group-by `field`s and query term fields."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "field" and isinstance(value, str):
                    found.add(value)
                elif key in ("term", "terms") and isinstance(value, dict) and "field" not in value:
                    found.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(body["source"].get("query", {}))
    walk(body["pivot"])
    return sorted(found)
