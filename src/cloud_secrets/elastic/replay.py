"""Index simulated documents into a cluster through the package's tagging pipeline.

Target `package` (the default): the package's own data stream `logs-cloud_secrets.secret_access-<namespace>`,
which every rule of the pack also searches, so simulated attacks fire there without mixing with real logs.
Target `integrations`: each document into the official data stream of its dataset,
`logs-<event.dataset>-<namespace>` (`logs-aws.cloudtrail-*`, ...).
In both cases the request names our default pipeline, so the integration's own pipeline (meant for raw
provider JSON) does not run on documents that are already ECS.

Every action is `create`: a data stream accepts nothing else, and on a cluster without data streams
(Elasticsearch without x-pack, such as the embedded 7.10 node) it creates a plain index of that name.
Every document gets its own stable `_id` (its file line and content), so a batch sent again after a 429, a
reset connection or a timeout never indexes a document twice (see `ingest.bulk_index`).

Every replayed document is marked as simulated: the tag `cloud_secrets_simulated` and the label
`labels.cloud_secrets_simulated: "true"`, so an alert built on it says so and the baselines leave it out.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from ..assets.package_assets import SIMULATED_TAG, package_dataset
from ..errors import UserError, located
from ..fieldpath import first_value
from ..timestamps import iso, to_datetime
from .client import EsClient
from .ingest import bulk_index, document_id
from .tag import numbered_documents
from .wiring import check_namespaces

SHIFTED_EVENT = ("created", "ingested", "start", "end")  # event.*, shifted with @timestamp


@dataclass
class Scan:
    lines: int
    latest: datetime | None


def scan(path: Path, target: str = "package") -> Scan:
    """First pass, before anything is indexed: every line is a JSON object with a valid @timestamp (and a
    dataset for `--target integrations`); count them, find the latest."""
    count, latest = 0, None
    with _open(path) as stream:
        for number, doc in numbered_documents(stream, str(path)):
            count += 1
            target_index(doc, target, "default", f"{path}:{number}")
            try:
                when = to_datetime(doc.get("@timestamp"))
            except ValueError as err:
                raise UserError(f"{located(str(path), number, '@timestamp')}: {err}") from None
            latest = when if latest is None or when > latest else latest
    return Scan(count, latest)


def _open(path: Path) -> IO[str]:
    try:
        return open(path, encoding="utf-8")
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror}") from None


def target_index(doc: dict[str, Any], target: str, namespace: str, where: str) -> str:
    if target == "package":
        dataset = package_dataset()
    else:
        dataset = first_value(doc, "event.dataset") or first_value(doc, "data_stream.dataset")
        if not isinstance(dataset, str) or not dataset:
            raise UserError(f"{where}: event.dataset: missing, needed for --target integrations")
    return f"logs-{dataset}-{namespace}"


def prepare(doc: dict[str, Any], index: str, namespace: str, shift: timedelta | None) -> dict[str, Any]:
    """Shift the timestamps and make `data_stream.*` match the target (they are constant_keyword in Fleet)."""
    if shift:
        event = doc.get("event")
        places = [(doc, "@timestamp")] + [(event, key) for key in SHIFTED_EVENT if isinstance(event, dict)]
        for holder, key in places:
            if isinstance(holder.get(key), str):
                with suppress(ValueError):
                    holder[key] = iso(to_datetime(holder[key]) + shift)
    dataset = index.removeprefix("logs-").removesuffix(f"-{namespace}")
    doc["data_stream"] = {"type": "logs", "dataset": dataset, "namespace": namespace}
    mark_simulated(doc)
    return doc


def mark_simulated(doc: dict[str, Any]) -> None:
    """The tag and the label that say a document is simulated, whatever shape `tags`/`labels` had."""
    tags = doc.get("tags")
    tags = [] if tags is None else list(tags) if isinstance(tags, list) else [tags]
    if SIMULATED_TAG not in tags:
        tags.append(SIMULATED_TAG)
    doc["tags"] = tags
    labels = doc.get("labels")
    if not isinstance(labels, dict):
        labels = doc["labels"] = {}
    labels[SIMULATED_TAG] = "true"  # labels are keywords


def replay(es: EsClient, path: Path, pipeline: str, namespace: str = "default", target: str = "package",
           shift_to_now: bool = False, batch: int = 1000,
           progress: Callable[[int], None] | None = None, info: Scan | None = None,
           on_retry: Callable[[str], None] | None = None) -> dict[str, int]:
    """Index every document of `path`; returns documents written per index (each exactly once)."""
    (namespace,) = check_namespaces([namespace])
    info = info or scan(path, target)
    shift = datetime.now(UTC) - info.latest if shift_to_now and info.latest else None
    counts: dict[str, int] = {}
    chunks: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def flush(index: str) -> None:
        batch_docs = chunks.pop(index, [])
        if batch_docs:
            ids, docs = [i for i, _ in batch_docs], [d for _, d in batch_docs]
            counts[index] = counts.get(index, 0) + bulk_index(es, index, docs, pipeline, op_type="create",
                                                              ids=ids, on_retry=on_retry)
            if progress:
                progress(len(docs))

    with _open(path) as stream:
        for number, doc in numbered_documents(stream, str(path)):
            index = target_index(doc, target, namespace, f"{path}:{number}")
            prepared = prepare(doc, index, namespace, shift)
            chunks.setdefault(index, []).append((document_id(prepared, f"{path.name}:{number}"), prepared))
            if len(chunks[index]) >= batch:
                flush(index)
    for index in list(chunks):
        flush(index)
    for index in counts:
        es.post(f"/{index}/_refresh")
    return counts


def count_tagged(es: EsClient, index: str) -> int:
    query = {"query": {"term": {"tags": "secret_access"}}}
    return int(es.post(f"/{index}/_count", query, params={"ignore_unavailable": "true"})["count"])
