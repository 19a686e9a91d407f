"""Which Elasticsearch a command talks to: `--es`/CLOUD_SECRETS_ES, else the embedded node."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from . import engine
from .es import EsClient, resolve_es_url


def es_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The connection options every command that talks to Elasticsearch takes."""
    options = [
        click.option("--es", "es_url", metavar="URL", help="Elasticsearch URL (default: $CLOUD_SECRETS_ES, "
                     "else the embedded node, started and stopped around the command)."),
        click.option("--api-key", envvar="CLOUD_SECRETS_API_KEY", help="Encoded API key ($CLOUD_SECRETS_API_KEY)."),
        click.option("--username", envvar="CLOUD_SECRETS_USERNAME", help="Basic auth user ($CLOUD_SECRETS_USERNAME)."),
        click.option("--password", envvar="CLOUD_SECRETS_PASSWORD", help="Basic auth password."),
        click.option("--ca-cert", envvar="CLOUD_SECRETS_CA_CERT", type=click.Path(exists=True, dir_okay=False),
                     help="CA certificate file for TLS ($CLOUD_SECRETS_CA_CERT)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextmanager
def connect(es_url: str | None = None, api_key: str | None = None, username: str | None = None,
            password: str | None = None, ca_cert: str | None = None) -> Iterator[EsClient]:
    """A client for the given cluster, or for the embedded node (started if needed, stopped after if we started it)."""
    url = resolve_es_url(es_url)
    if url:
        yield EsClient(url, api_key=api_key, username=username, password=password, ca_cert=ca_cert)
        return
    running = engine.url()
    url = running or engine.start()
    try:
        yield EsClient(url)
    finally:
        if not running and not os.environ.get("CLOUD_SECRETS_KEEP_ENGINE"):
            engine.stop()
