"""ML-free per-identity baselines: the hourly summary transform, its reference computation in Python, and the
statistics the `baseline_deviation` rule compares an identity's current hour with.

The transform (`package/elasticsearch/transform/identity_hourly/`, generated from `transform_body`) pivots the
tagged secret-store events into one document per identity and hour. `summary_rows` computes the same
documents from tagged events without Elasticsearch (same field names and nesting, `@timestamp` as the ISO
string a transform writes by default); `composite_request` / `composite_rows` run the transform's own
`pivot` as a composite aggregation on any Elasticsearch, which is how the tests check one against the other
on an engine without transforms. `deviations` is the rule's logic over summary rows, for tests and backtests.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .backtest.fieldpath import values_of as _values
from .catalog import Catalog
from .rules import templating

TRANSFORM = "identity_hourly"
DEST_INDEX = "logs-cloud_secrets.identity_hourly-1"
DEST_PATTERN = "logs-cloud_secrets.identity_hourly-*"
TRANSFORM_VERSION = "0.1.0"  # `_meta.fleet_transform_version`: bump to make Fleet reinstall the transform
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
                 "Secret values returned by successful reads: 1 per read plus cloud_secrets.secret.count per batch."),
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
    return templating.rule_indices(cat, ("read", "batch_read", "list", "describe"))


SOURCE_QUERY = {"bool": {"filter": [_term("tags", "secret_access"), {"exists": {"field": "cloud_secrets.operation"}}]}}


def transform_body(cat: Catalog) -> dict[str, Any]:
    """The transform as package-spec's `transform.yml` holds it."""
    group_by: dict[str, Any] = {f: {"terms": {"field": f}} for f in GROUP_BY}
    group_by["@timestamp"] = {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}}
    return {
        "description": "Cloud Secrets Access Detection: one document per identity and hour summarising its "
                       "secret-store reads, lists, describes and failures (the baselines of baseline_deviation).",
        "source": {"index": source_indices(cat), "query": SOURCE_QUERY},
        "dest": {"index": DEST_INDEX},
        "frequency": "5m",
        "sync": {"time": {"field": "@timestamp", "delay": "15m"}},
        "retention_policy": {"time": {"field": "@timestamp", "max_age": "30d"}},
        "pivot": {"group_by": group_by, "aggregations": _aggregations()},
        "settings": {"max_page_search_size": 1000},
        "_meta": {"fleet_transform_version": TRANSFORM_VERSION, "managed": True},
    }


# --- the pivot as a composite aggregation (what a transform runs per checkpoint) -------------------------

def _anchor_now(value: Any, now: str | None) -> Any:
    """Date math `now...` anchored at a fixed instant (`2026-03-16T00:00:00Z||...`), recursively."""
    if now is None:
        return value
    if isinstance(value, dict):
        return {k: _anchor_now(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_anchor_now(v, now) for v in value]
    if isinstance(value, str) and value.startswith("now"):
        return f"{now}||{value[3:]}"
    return value


def composite_request(body: Mapping[str, Any], size: int = 1000, after: dict[str, Any] | None = None,
                      now: str | None = None) -> dict[str, Any]:
    """A search body running `pivot` of a transform body as one composite aggregation page."""
    pivot = body["pivot"]
    sources = [{name: dict(spec)} for name, spec in pivot["group_by"].items()]
    composite: dict[str, Any] = {"size": size, "sources": sources}
    if after:
        composite["after"] = after
    aggs = pivot.get("aggregations") or pivot["aggs"]
    return {"size": 0, "query": _anchor_now(body["source"].get("query", {"match_all": {}}), now),
            "aggs": {"pivot": {"composite": composite, "aggs": aggs}}}


def _agg_value(spec: Mapping[str, Any], result: Mapping[str, Any]) -> Any:
    """What a transform writes for one aggregation result (single-bucket aggs: doc count, or their subs)."""
    subs = spec.get("aggs") or spec.get("aggregations")
    if "filter" in spec:
        if not subs:
            return result["doc_count"]
        return {name: _agg_value(sub, result[name]) for name, sub in subs.items()}
    value = result["value"]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def put_dotted(doc: dict[str, Any], name: str, value: Any) -> None:
    """Set `a.b.c` in nested dicts, as a transform turns dotted names into objects."""
    *parents, leaf = name.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    if isinstance(value, dict):
        target = doc.setdefault(leaf, {})
        for k, v in value.items():
            put_dotted(target, k, v)
    else:
        doc[leaf] = value


def iso_millis(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def bucket_document(body: Mapping[str, Any], bucket: Mapping[str, Any]) -> dict[str, Any]:
    """The destination document a transform writes for one composite bucket."""
    pivot = body["pivot"]
    doc: dict[str, Any] = {}
    for name, spec in pivot["group_by"].items():
        key = bucket["key"][name]
        put_dotted(doc, name, iso_millis(key) if "date_histogram" in spec else key)
    for name, spec in (pivot.get("aggregations") or pivot["aggs"]).items():
        put_dotted(doc, name, _agg_value(spec, bucket[name]))
    return doc


def composite_rows(es: Any, index: str, body: Mapping[str, Any], now: str | None = None,
                   size: int = 1000) -> list[dict[str, Any]]:
    """Every destination document of the transform's pivot over `index`, paging the composite aggregation."""
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        result = es.post(f"/{index}/_search", composite_request(body, size, after, now))
        agg = result["aggregations"]["pivot"]
        rows.extend(bucket_document(body, b) for b in agg["buckets"])
        after = agg.get("after_key")
        if not agg["buckets"] or after is None:
            return rows


# --- the reference computation ------------------------------------------------------------------------

def _get(doc: Mapping[str, Any], dotted: str) -> Any:
    """The field's one value (the first of several), None when missing; read as Elasticsearch does."""
    values = _values(doc, dotted)
    return values[0] if values else None


def parse_time(value: str | float | int | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def hour_of(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def is_secret_access(doc: Mapping[str, Any]) -> bool:
    """The transform's source query: tagged `secret_access` with a `cloud_secrets.operation`."""
    return "secret_access" in _values(doc, "tags") and bool(_values(doc, "cloud_secrets.operation"))


class _Acc:
    def __init__(self) -> None:
        self.n = {f.name: 0 for f in SUMMARY_FIELDS}
        self.ips: set[str] = set()
        self.secrets: set[str] = set()

    def add(self, doc: Mapping[str, Any]) -> None:
        op = _values(doc, "cloud_secrets.operation")[0]
        success = "success" in _values(doc, "cloud_secrets.outcome")
        ids = _values(doc, "cloud_secrets.secret.id")
        count = sum(_values(doc, "cloud_secrets.secret.count"))
        n = self.n
        n["events"] += 1
        n["reads"] += op in READS
        n["lists"] += op == "list"
        n["describes"] += op == "describe"
        n["failures"] += "failure" in _values(doc, "cloud_secrets.outcome")
        self.ips.update(_values(doc, "source.ip"))
        if op in READS and success:
            self.secrets.update(ids)
            n["read_success.values"] += count
            if op == "batch_read":
                n["batch.calls"] += 1
                n["batch.secrets"] += count
                if not ids:
                    n["batch_unnamed.calls"] += 1
                    n["batch_unnamed.secrets"] += count

    def numbers(self) -> dict[str, int]:
        return {**self.n, "source_ips": len(self.ips), "read_success.secrets": len(self.secrets)}


class SummaryBuilder:
    """The transform's destination documents, built incrementally: `add` each tagged document, then take the
    rows of the hours before a bound with `rows_before` (what a checkpoint writes once those hours are
    complete) or all of them with `rows`. Memory holds the open hours' groups only."""

    def __init__(self) -> None:
        self.groups: dict[tuple[Any, ...], _Acc] = {}

    def add(self, doc: Mapping[str, Any], hour: datetime | None = None) -> tuple[Any, ...] | None:
        """Count `doc` in its group; returns the group's key (hour, *GROUP_BY values), or None when the
        transform leaves the document out. `hour`: the start of the document's hour, if already known."""
        if not is_secret_access(doc):
            return None
        keys = [(_values(doc, f) or [None])[0] for f in GROUP_BY]
        if None in keys or _get(doc, "@timestamp") is None:
            return None
        key = (hour or hour_of(parse_time(_get(doc, "@timestamp"))), *keys)
        acc = self.groups.get(key)
        if acc is None:
            acc = self.groups[key] = _Acc()
        acc.add(doc)
        return key

    def rows_before(self, bound: datetime) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """(key, row) of the hours starting before `bound`, sorted by hour and group, and forgotten."""
        done = sorted(k for k in self.groups if k[0] < bound)
        return [(k, _row(k, self.groups.pop(k))) for k in done]

    def rows(self) -> list[dict[str, Any]]:
        return [row for _, row in self.rows_before(datetime.max.replace(tzinfo=UTC))]


def _row(key: tuple[Any, ...], acc: _Acc) -> dict[str, Any]:
    hour, *keys = key
    row: dict[str, Any] = {}
    for field, value in zip(GROUP_BY, keys, strict=True):
        put_dotted(row, field, value)
    put_dotted(row, "@timestamp", hour.strftime("%Y-%m-%dT%H:00:00.000Z"))
    for name, value in acc.numbers().items():
        put_dotted(row, f"{SUMMARY}.{name}", value)
    return row


def summary_rows(docs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The transform's destination documents computed in Python from tagged documents, sorted by hour and
    group. A document lacking a group-by value is left out, as the transform's terms groups leave it out."""
    builder = SummaryBuilder()
    for doc in docs:
        builder.add(doc)
    return builder.rows()


# --- the baseline_deviation rule's logic ----------------------------------------------------------------

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


@dataclass(frozen=True)
class Deviation:
    identity: str
    current_secrets: int
    current_hour: str
    baseline_median: float | None
    baseline_mad: float | None
    baseline_hours: int
    limit: float


def secrets_in_hour(row: Mapping[str, Any]) -> int:
    """Distinct secrets an identity read in one summary row: named ids plus filter-selected batch values."""
    return int(_get(row, f"{SUMMARY}.read_success.secrets") or 0) + int(
        _get(row, f"{SUMMARY}.batch_unnamed.secrets") or 0)


def mad(values: list[float]) -> float:
    """Median absolute deviation (unscaled), as Elasticsearch's MEDIAN_ABSOLUTE_DEVIATION."""
    centre = statistics.median(values)
    return statistics.median(abs(v - centre) for v in values)


def limit_for(history: list[float], margin: Margin) -> float:
    if not history:
        return margin.floor
    median = statistics.median(history)
    return max(margin.floor, median + max(margin.k * mad(history), median))


def deviations(rows: Iterable[Mapping[str, Any]], now: datetime, margin: Margin = Margin()) -> list[Deviation]:
    """What `baseline_deviation` returns when it runs at `now` over the summary rows."""
    start, recent_from, recent_to = now - margin.history, now - margin.recent_from, now - margin.recent_to
    history: dict[str, list[float]] = {}
    current: dict[str, tuple[int, str]] = {}
    for row in rows:
        ts = parse_time(_get(row, "@timestamp"))
        if ts < start or ts > recent_to:
            continue
        identity = _get(row, "cloud_secrets.identity")
        value = secrets_in_hour(row)
        if ts <= recent_from:
            history.setdefault(identity, []).append(value)
        else:
            best = current.get(identity)
            hour = _get(row, "@timestamp")
            current[identity] = (max(value, best[0]) if best else value, max(hour, best[1]) if best else hour)
    out = []
    for identity, (value, hour) in sorted(current.items()):
        past = history.get(identity, [])
        limit = limit_for(past, margin)
        if value > limit:
            out.append(Deviation(identity, value, hour, statistics.median(past) if past else None,
                                 mad(past) if past else None, len(past), limit))
    return out


def hourly_runs(rows: list[Mapping[str, Any]], margin: Margin = Margin()) -> Iterator[tuple[datetime, Deviation]]:
    """Run the rule every hour at hh:05 across the rows' time span (the hour starting at S is judged at S+2:05)."""
    hours = sorted({hour_of(parse_time(_get(r, "@timestamp"))) for r in rows})
    if not hours:
        return
    t = hours[0] + timedelta(minutes=5)
    while t <= hours[-1] + timedelta(hours=3, minutes=5):
        for dev in deviations(rows, t, margin):
            yield t, dev
        t += INTERVAL



def judged_hours(rows: Iterable[Mapping[str, Any]], margin: Margin = Margin(),
                 run_minute: int = 5) -> list[tuple[datetime, Deviation]]:
    """The same alerts as `hourly_runs` (rule run every hour at hh:`run_minute`), computed per identity in
    one pass: the hour starting at S is judged by the run at S + 2h + run_minute against the identity's
    hours in [run - history, run - recent_from]. For backtests over many identities and days."""
    per: dict[str, list[tuple[datetime, int, str]]] = {}
    for row in rows:
        stamp = _get(row, "@timestamp")
        per.setdefault(_get(row, "cloud_secrets.identity"), []).append(
            (parse_time(stamp), secrets_in_hour(row), stamp))
    out = []
    for identity, hours in sorted(per.items()):
        merged: dict[datetime, tuple[int, str]] = {}
        for ts, value, stamp in hours:  # several rows of one identity and hour (other provider or type)
            merged[ts] = (max(value, merged[ts][0]), stamp) if ts in merged else (value, stamp)
        ordered = sorted(merged.items())
        for i, (ts, (value, stamp)) in enumerate(ordered):
            run = ts + timedelta(hours=2, minutes=run_minute)
            if not run - margin.recent_from < ts <= run - margin.recent_to:
                continue
            past = [v for t, (v, _) in ordered[:i] if run - margin.history <= t <= run - margin.recent_from]
            limit = limit_for(past, margin)
            if value > limit:
                out.append((run, Deviation(identity, value, stamp, statistics.median(past) if past else None,
                                           mad(past) if past else None, len(past), limit)))
    return sorted(out, key=lambda item: (item[0], item[1].identity))


def backtest_alerts(rows: Iterable[Mapping[str, Any]], margin: Margin = Margin(),
                    run_minute: int = 5) -> list[dict[str, Any]]:
    """`judged_hours` as alert lines in the backtest's shape (`rule`, `identity`, `source_ip`, `start`,
    `end`, `event_count` = distinct secrets read in the hour) plus the rule's own columns. The backtest
    runs hourly rules on the hour (`run_minute=0`)."""
    out = []
    for run, dev in judged_hours(rows, margin, run_minute):
        start = parse_time(dev.current_hour)
        out.append({"rule": "baseline_deviation", "identity": dev.identity, "source_ip": None,
                    "start": dev.current_hour, "end": (start + INTERVAL).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "event_count": dev.current_secrets, "run": run.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "limit": dev.limit, "baseline_median": dev.baseline_median, "baseline_mad": dev.baseline_mad,
                    "baseline_hours": dev.baseline_hours})
    return out

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
    from .fields import field_types

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
