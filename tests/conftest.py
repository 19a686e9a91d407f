"""Shared fixtures. `es`: the embedded Elasticsearch node, started once per session and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloud_secrets.elastic import engine
from cloud_secrets.elastic.client import EsClient, resolve_es_url


@pytest.fixture(scope="session")
def es(request: pytest.FixtureRequest) -> Iterator[EsClient]:
    """An `EsClient` for `$CLOUD_SECRETS_ES` if set (left running), else for the embedded node.

    The embedded node is stopped at the end of the session, whatever failed, unless it was already
    running before the session started (then it is someone's node and stays up).
    """
    external = resolve_es_url()
    if external:
        yield EsClient(external)
        return
    if engine.url() is None:
        request.addfinalizer(engine.stop)
    yield EsClient(engine.start(timeout=180))
