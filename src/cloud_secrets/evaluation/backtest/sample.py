"""A labelled, tagged sample: the simulator's documents through the package's pipeline on a real node.

Used by the demo, the benchmark and the tests, so that tagged documents only ever come from the real
ingest pipeline, never from a Python imitation of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from ...elastic.ingest import Client
from ...elastic.tag import read_documents, tag_documents
from ..simulate import Options, stream, write_stream


@dataclass
class Sample:
    tagged: Path  # tagged documents, one JSON a line, in time order
    labels: Path  # the simulator's labels, same order
    documents: int


def tagged_sample(es: Client, directory: Path, scenario: str = "all", *, days: float = 7.0, identities: int = 300,
                  seed: int = 0, start: float | None = None) -> Sample:
    directory.mkdir(parents=True, exist_ok=True)
    raw, labels, tagged = (directory / f"{scenario}.{k}.jsonl" for k in ("raw", "labels", "tagged"))
    opts = Options(seed=seed, days=days, identities=identities) if start is None else \
        Options(seed=seed, days=days, identities=identities, start=start)
    with raw.open("w", encoding="utf-8") as out, labels.open("w", encoding="utf-8") as lab:
        stats = write_stream(stream(scenario, opts), out, lab)
    with raw.open(encoding="utf-8") as src, tagged.open("wb") as out:
        for doc in tag_documents(es, read_documents(src, raw.name)):
            out.write(orjson.dumps(doc) + b"\n")
    raw.unlink()
    return Sample(tagged, labels, stats.documents)
