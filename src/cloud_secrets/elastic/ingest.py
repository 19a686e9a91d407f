"""Install the package's pipelines on a node and run documents through them with `_simulate`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from ..assets.package_assets import data_stream_pipelines
from ..errors import UserError


class Client(Protocol):
    def put(self, path: str, body: Any = None) -> Any: ...
    def post(self, path: str, body: Any = None) -> Any: ...


def install_pipelines(es: Client) -> list[str]:
    """PUT every data stream pipeline under its Fleet name; returns the names installed."""
    pipelines = data_stream_pipelines()
    # Nested pipelines first, so the default pipeline never points at a missing one.
    for name in sorted(pipelines, key=lambda n: (n.count("-") == 2, n)):
        es.put(f"/_ingest/pipeline/{name}", pipelines[name])
    return list(pipelines)


def simulate(es: Client, pipeline: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run documents through a pipeline; each result is the output `_source`, or an `error` mapping."""
    if not docs:
        return []
    body = {"docs": [{"_index": "simulate", "_id": str(i), "_source": d} for i, d in enumerate(docs)]}
    result = es.post(f"/_ingest/pipeline/{pipeline}/_simulate", body)
    out = []
    for item in result["docs"]:
        if item is None:
            out.append({"__dropped__": True})
        elif "error" in item:
            out.append({"__error__": item["error"]})
        else:
            out.append(item["doc"]["_source"])
    return out


def simulate_stream(es: Client, pipeline: str, docs: Iterable[dict[str, Any]],
                    batch: int = 500) -> Iterator[dict[str, Any]]:
    """`simulate` over an iterable, in batches, preserving order."""
    chunk: list[dict[str, Any]] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= batch:
            yield from simulate(es, pipeline, chunk)
            chunk = []
    yield from simulate(es, pipeline, chunk)


def bulk_index(es: Any, index: str, docs: list[dict[str, Any]], pipeline: str | None = None,
               op_type: str = "index") -> int:
    """Index documents with one `_bulk` request; returns how many were accepted (errors raise)."""
    action = json.dumps({op_type: {"_index": index}})
    body = "".join(f"{action}\n{json.dumps(d)}\n" for d in docs)
    result = es.post_ndjson("/_bulk", body, params={"pipeline": pipeline} if pipeline else None)
    errors = [e for item in result["items"] if (e := next(iter(item.values())).get("error"))]
    if errors:
        raise UserError(f"bulk indexing into {index} failed for {len(errors)} documents: {errors[0]}")
    return len(result["items"])
