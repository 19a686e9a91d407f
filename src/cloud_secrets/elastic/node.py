"""Which Elasticsearch a command talks to: `--es`/CLOUD_SECRETS_ES, else the embedded node."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from . import engine
from .client import EsClient, resolve_es_url


@contextmanager
def connect(es_url: str | None = None, api_key: str | None = None, username: str | None = None,
            password: str | None = None, ca_cert: str | None = None,
            insecure: bool | None = None, timeout: float | None = None) -> Iterator[EsClient]:
    """A client for the given cluster, or for the embedded node (started if needed, stopped after if we started it)."""
    url = resolve_es_url(es_url)
    if url:
        if insecure:
            print("warning: --insecure: the server's TLS certificate is not verified", file=sys.stderr)
        yield EsClient(url, api_key=api_key, username=username, password=password, ca_cert=ca_cert,
                       insecure=bool(insecure), timeout=timeout or 60.0)
        return
    running = engine.url()
    url = running or engine.start()
    try:
        yield EsClient(url)
    finally:
        if not running and not os.environ.get("CLOUD_SECRETS_KEEP_ENGINE"):
            engine.stop()
