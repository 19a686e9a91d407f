"""The summary transform's pivot run on a node as a composite aggregation: what a transform writes per
checkpoint, on any Elasticsearch (the embedded node has no transforms). The tests compare it with the
reference computation in `evaluation.baselines`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..fieldpath import put_dotted
from ..timestamps import iso_ms


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


def bucket_document(body: Mapping[str, Any], bucket: Mapping[str, Any]) -> dict[str, Any]:
    """The destination document a transform writes for one composite bucket."""
    pivot = body["pivot"]
    doc: dict[str, Any] = {}
    for name, spec in pivot["group_by"].items():
        key = bucket["key"][name]
        put_dotted(doc, name, iso_ms(key) if "date_histogram" in spec else key)
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


