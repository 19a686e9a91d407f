"""Options shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def es_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The connection options every command that talks to Elasticsearch takes."""
    options = [
        click.option("--es", "es_url", metavar="URL", help="Elasticsearch URL (default: $CLOUD_SECRETS_ES, "
                     "else the embedded node, started and stopped around the command)."),
        click.option("--api-key", envvar="CLOUD_SECRETS_API_KEY", help="Encoded API key ($CLOUD_SECRETS_API_KEY)."),
        click.option("--username", envvar="CLOUD_SECRETS_USERNAME", help="Basic auth user ($CLOUD_SECRETS_USERNAME)."),
        click.option("--password", envvar="CLOUD_SECRETS_PASSWORD", help="Basic auth password."),
        # checked by the client, whose error does not print the path
        click.option("--ca-cert", envvar="CLOUD_SECRETS_CA_CERT", metavar="FILE",
                     help="CA certificate file for TLS ($CLOUD_SECRETS_CA_CERT)."),
        click.option("--timeout", type=click.FloatRange(min=0.1), metavar="SECONDS",
                     help="How long to wait for each answer of Elasticsearch (default: 60)."),
        click.option("--insecure", is_flag=True, default=None,
                     help="Do not verify the server's TLS certificate (certificates are verified by default)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
