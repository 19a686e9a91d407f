"""`cloud-secrets tag`: ECS documents through the package's tagging pipeline on a real node."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from ..assets.package_assets import default_pipeline
from ..errors import UserError
from .ingest import Client, install_pipelines, simulate_stream


def read_documents(stream: IO[str], name: str) -> Iterator[dict[str, Any]]:
    """JSON objects, one a line; a bad line is a UserError naming the file and line."""
    for _, doc in numbered_documents(stream, name):
        yield doc


def numbered_documents(stream: IO[str], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for every non-blank line; a bad line is a UserError naming file and line."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"{name}:{number}: not valid JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(doc, dict):
            raise UserError(f"{name}:{number}: expected a JSON object, got {type(doc).__name__}")
        yield number, doc


def tag_documents(es: Client, docs: Iterable[dict[str, Any]], install: bool = True) -> Iterator[dict[str, Any]]:
    """Tagged documents, in input order. A document the node rejects would be reported, never skipped."""
    if install:
        install_pipelines(es)
    for out in simulate_stream(es, default_pipeline(), docs):
        if "__error__" in out or "__dropped__" in out:
            raise UserError(f"the node did not return a document: {out}")
        yield out
