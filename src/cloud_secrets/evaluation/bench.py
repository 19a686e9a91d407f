"""`make bench`: the benchmark ratios, each measured in one run against a reference in the same run."""

from __future__ import annotations

import copy
import json
import random
import statistics
import time
from typing import Any

from rich.console import Console

from ..assets.catalog import catalog
from ..assets.package_assets import default_pipeline
from ..elastic.ingest import bulk_index, install_pipelines
from ..elastic.node import connect
from .backtest.benchmark import bench_backtest
from .simulate.examples import examples, other_service_events


def pipeline_mix(n: int, secret_share: float = 0.03, seed: int = 7) -> list[dict[str, Any]]:
    """A realistic ingest mix: mostly other services' CloudTrail events, a few secret-store accesses (one
    simulated document of each secret-store action, drawn at random)."""
    rng = random.Random(seed)
    accesses = set(catalog().actions())
    secret = [d for d in examples() if d["event"].get("action") in accesses]
    others = other_service_events(n, seed)
    docs = []
    for i in range(n):
        doc = copy.deepcopy(rng.choice(secret)) if rng.random() < secret_share else others[i]
        doc["event"]["id"] = f"bench-{i}"
        docs.append(doc)
    return docs


def _index_rate(es: Any, index: str, docs: list[dict[str, Any]], pipeline: str | None, batch: int) -> float:
    es.delete(f"/{index}", params={"ignore_unavailable": "true"})
    es.put(f"/{index}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"}})
    start = time.perf_counter()
    for i in range(0, len(docs), batch):
        bulk_index(es, index, docs[i:i + batch], pipeline=pipeline)
    elapsed = time.perf_counter() - start
    es.delete(f"/{index}")
    return len(docs) / elapsed


def _rotated_medians(es: Any, docs: list[dict[str, Any]], sides: dict[str, str | None], warm: str,
                     rounds: int, batch: int) -> dict[str, float]:
    """Median docs/s of each side (pipeline or None), after a warm-up through `sides[warm]`."""
    _index_rate(es, "bench-warmup", docs[: len(docs) // 4], sides[warm], batch)  # JIT and script compilation
    rates: dict[str, list[float]] = {k: [] for k in sides}
    for r in range(rounds):
        # Rotate the order so drift on a busy machine does not favour one side.
        names = list(sides)[r % len(sides):] + list(sides)[: r % len(sides)]
        for name in names:
            rates[name].append(_index_rate(es, "bench-mix", docs, sides[name], batch))
    return {k: statistics.median(v) for k, v in rates.items()}


EMPTY_PIPELINE = "bench-empty"
INTEGRATION_LIKE = "bench-integration-like"


def integration_like_pipeline(then: str | None = None) -> dict[str, Any]:
    """A reference pipeline of ours with the kind of work an integration pipeline does per event.

    Not an official pipeline: JSON decoding of the original event, a date, renames, ECS version, user agent
    parsing, a Painless script and an append, as integration pipelines typically run. With `then`, it ends
    by calling another pipeline, as an integration's `@custom` hook does.
    """
    processors: list[dict[str, Any]] = [
        {"json": {"field": "event.original", "target_field": "_raw"}},
        {"date": {"field": "_raw.eventTime", "formats": ["ISO8601"], "target_field": "@timestamp"}},
        {"rename": {"field": "_raw.eventName", "target_field": "raw_action", "ignore_missing": True}},
        {"rename": {"field": "_raw.eventSource", "target_field": "raw_provider", "ignore_missing": True}},
        {"rename": {"field": "_raw.awsRegion", "target_field": "raw_region", "ignore_missing": True}},
        {"set": {"field": "ecs.version", "value": "8.11.0"}},
        {"user_agent": {"field": "user_agent.original", "target_field": "_ua", "ignore_missing": True}},
        {"script": {"lang": "painless", "source":
                    "if (ctx._raw?.userIdentity?.type == 'AssumedRole') { ctx.raw_role = true; }"}},
        {"append": {"field": "related.user", "value": "{{{user.name}}}", "allow_duplicates": False}},
        {"remove": {"field": ["_raw", "_ua", "raw_action", "raw_provider", "raw_region", "raw_role"],
                    "ignore_missing": True}},
    ]
    if then:
        processors.append({"pipeline": {"name": then}})
    return {"description": "benchmark reference: integration-like work", "processors": processors}


def with_original(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The mix with an `event.original` CloudTrail-like record, for the integration-like reference."""
    out = []
    for doc in docs:
        doc = copy.deepcopy(doc)
        raw = {"eventTime": doc["@timestamp"], "eventName": doc["event"]["action"],
               "eventSource": doc["event"].get("provider"), "awsRegion": "us-east-1",
               "userIdentity": doc.get("aws", {}).get("cloudtrail", {}).get("user_identity", {}),
               "requestParameters": doc.get("aws", {}).get("cloudtrail", {}).get("flattened", {})}
        doc["event"]["original"] = json.dumps(raw)
        out.append(doc)
    return out


def bench_pipeline_overhead(es: Any, console: Console, n: int = 40000, rounds: int = 5,
                            batch: int = 2000) -> dict[str, float]:
    """Throughput lost to the tagging pipeline on the mix, in percent (median over interleaved rounds).

    Two references in the same run: no pipeline at all (the issue's measure, which includes the fixed cost
    of turning every document into an ingest document), and an empty pipeline (what our processors add
    on top of that, which is what they add when called from an integration's @custom pipeline).
    """
    install_pipelines(es)
    es.put(f"/_ingest/pipeline/{EMPTY_PIPELINE}", {"description": "benchmark reference", "processors": []})
    docs = pipeline_mix(n)
    sides = {"none": None, "empty": EMPTY_PIPELINE, "tagging": default_pipeline()}
    med = _rotated_medians(es, docs, sides, "tagging", rounds, batch)
    console.print(f"bulk index {n} docs (3% secret-store access), {rounds} rotated rounds, median docs/s:")
    for name, label in (("none", "no pipeline"), ("empty", "empty pipeline"), ("tagging", "tagging pipeline")):
        console.print(f"  {label:>17}: {med[name]:,.0f}")
    es.delete(f"/_ingest/pipeline/{EMPTY_PIPELINE}")
    return {
        "pipeline_overhead_pct": (1 - med["tagging"] / med["none"]) * 100,
        "pipeline_marginal_overhead_pct": (1 - med["tagging"] / med["empty"]) * 100,
    }


def bench_share_of_integration(es: Any, console: Console, n: int = 40000, rounds: int = 5,
                               batch: int = 2000) -> dict[str, float]:
    """Our pipeline's cost as a percentage of an integration-like pipeline's cost, both measured per document
    as (1/rate - 1/rate_without_pipeline) in the same run."""
    install_pipelines(es)
    es.put(f"/_ingest/pipeline/{INTEGRATION_LIKE}", integration_like_pipeline())
    es.put(f"/_ingest/pipeline/{INTEGRATION_LIKE}-tagged", integration_like_pipeline(then=default_pipeline()))
    docs = with_original(pipeline_mix(n))
    sides = {"none": None, "integration": INTEGRATION_LIKE, "integration+tagging": f"{INTEGRATION_LIKE}-tagged"}
    med = _rotated_medians(es, docs, sides, "integration+tagging", rounds, batch)
    console.print("same mix with event.original, median docs/s:")
    for name, rate in med.items():
        console.print(f"  {name:>19}: {rate:,.0f}")
    for name in (INTEGRATION_LIKE, f"{INTEGRATION_LIKE}-tagged"):
        es.delete(f"/_ingest/pipeline/{name}")
    integration_cost = 1 / med["integration"] - 1 / med["none"]
    ours = 1 / med["integration+tagging"] - 1 / med["integration"]
    return {
        "pipeline_overhead_behind_integration_pct": (1 - med["integration+tagging"] / med["integration"]) * 100,
        "tagging_cost_pct_of_integration_like_pipeline": ours / integration_cost * 100,
    }


def main() -> None:
    console = Console()
    with connect() as es:
        figures = bench_pipeline_overhead(es, console)
        figures.update(bench_share_of_integration(es, console))
        figures.update(bench_backtest(es, console))
    for name, value in figures.items():
        print(f"{name}: {value:.1f}", flush=True)


if __name__ == "__main__":
    main()
