"""Install the package's pipelines on a node and run documents through them with `_simulate`."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from ..assets.package_assets import data_stream_pipelines
from ..errors import UserError
from .client import with_retries


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
    result = with_retries(lambda: es.post(f"/_ingest/pipeline/{pipeline}/_simulate", body))  # writes nothing
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


def document_id(doc: dict[str, Any], salt: str = "") -> str:
    """A stable `_id` for a document: the same document (and salt) always gets the same id, so a retried
    `create` can never index it twice."""
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{salt}\n{canonical}".encode()).hexdigest()[:40]


def bulk_index(es: Any, index: str, docs: list[dict[str, Any]], pipeline: str | None = None,
               op_type: str = "index", ids: list[str] | None = None,
               on_retry: Callable[[str], None] | None = None) -> int:
    """Index documents with `_bulk`; returns how many are now in the index (errors raise).

    With `ids` and `op_type="create"`, it is safe under faults: a request answered 429 or lost (connection
    reset, timeout) is sent again, items refused with 429 are sent again alone, and an item answered 409
    (that id exists: a lost answer's document already written) counts as written. Nothing is indexed twice,
    nothing is dropped without an error."""
    params = {"pipeline": pipeline} if pipeline else None
    pending = list(range(len(docs)))
    written = 0
    for _round in range(8):
        def actions(which: list[int]) -> str:
            lines = []
            for i in which:
                meta: dict[str, Any] = {"_index": index}
                if ids is not None:
                    meta["_id"] = ids[i]
                lines.append(f"{json.dumps({op_type: meta})}\n{json.dumps(docs[i])}\n")
            return "".join(lines)

        body = actions(pending)
        if ids is not None and op_type == "create":
            result = with_retries(lambda body=body: es.post_ndjson("/_bulk", body, params=params), on_retry=on_retry)
        else:
            result = es.post_ndjson("/_bulk", body, params=params)
        again, errors = [], []
        for i, item in zip(pending, result["items"], strict=True):
            outcome = next(iter(item.values()))
            error, status = outcome.get("error"), outcome.get("status")
            if error is None:
                written += 1
            elif status == 409 and ids is not None and op_type == "create":
                written += 1  # written by an earlier attempt whose answer was lost
            elif status == 429 and ids is not None:
                again.append(i)
            else:
                errors.append(error)
        if errors:
            raise UserError(f"bulk indexing into {index} failed for {len(errors)} documents "
                            f"({written} written): {errors[0]}")
        if not again:
            return written
        if on_retry is not None:
            on_retry(f"{len(again)} documents refused with 429; sending them again")
        time.sleep(0.5 * (_round + 1))
        pending = again
    raise UserError(f"bulk indexing into {index}: {len(pending)} documents still refused (429) after 8 rounds "
                    f"({written} written); the cluster is overloaded, run the same command again later")
