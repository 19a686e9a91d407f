"""Writing the stream: documents one JSON object a line; labels, if asked, to a separate file.

Documents stay pure: nothing in them says which scenario or kind they belong to, so no rule can read
the answer. The label file has one JSON object per document, in the same order:
`{"index": 0, "line": 1, "scenario": ..., "kind": "attack"|"benign", "identity": ..., "actor": ...,
"dataset": ..., "timestamp": ...}`. `identity` is what the field contract's `cloud_secrets.identity`
will be for the document; `actor` is the simulated actor (finer: people share SSO roles).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from .common import Label
from .fast import Encoded, encode


@dataclass
class Stats:
    documents: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_dataset: Counter[str] = field(default_factory=Counter)


def write_stream(
    stream: Iterable[tuple[dict[str, Any] | Encoded, Label]],
    out: TextIO,
    labels: TextIO | None = None,
    *,
    flush_every: int = 4096,
) -> Stats:
    """Write every document (and its label when `labels` is given); return counts."""
    stats = Stats()
    kinds: dict[str, int] = {}
    datasets: dict[str, int] = {}
    fragments: dict[int, tuple[Label, str]] = {}
    docs: list[str] = []
    rows: list[str] = []
    n = 0
    for doc, label in stream:
        if type(doc) is Encoded:
            docs.append(doc.json)
            dataset, timestamp = doc.dataset, doc.timestamp
        else:
            docs.append(encode(doc))
            dataset, timestamp = doc["data_stream"]["dataset"], doc["@timestamp"]  # type: ignore[index]
        kinds[label.kind] = kinds.get(label.kind, 0) + 1
        datasets[dataset] = datasets.get(dataset, 0) + 1
        if labels is not None:
            cached = fragments.get(id(label))
            if cached is None:
                body = encode(
                    {"scenario": label.scenario, "kind": label.kind, "identity": label.identity, "actor": label.actor}
                )[1:-1]
                cached = fragments[id(label)] = (label, body)
            rows.append(f'{{"index":{n},"line":{n + 1},{cached[1]},"dataset":"{dataset}","timestamp":"{timestamp}"}}')
        n += 1
        if len(docs) >= flush_every:
            out.write("\n".join(docs) + "\n")
            docs.clear()
            if labels is not None:
                labels.write("\n".join(rows) + "\n")
                rows.clear()
    if docs:
        out.write("\n".join(docs) + "\n")
        if labels is not None:
            labels.write("\n".join(rows) + "\n")
    stats.documents = n
    stats.by_kind.update(kinds)
    stats.by_dataset.update(datasets)
    return stats
