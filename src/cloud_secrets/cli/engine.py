"""`cloud-secrets engine start|stop|status`: the embedded Elasticsearch node."""

from __future__ import annotations

import click
from rich.console import Console

from ..elastic import engine as eng


@click.group()
def engine() -> None:
    """Run a local Elasticsearch 7.10.2 node (loopback only, data in .work/engine)."""


@engine.command()
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for health yellow/green.")
@click.option("--clean", is_flag=True, help="Delete the node's data before starting.")
def start(timeout: float, clean: bool) -> None:
    """Start the node (if not running) and print its URL."""
    err = Console(stderr=True)
    if (url := eng.url()) is None:
        with err.status("starting Elasticsearch..."):
            url = eng.start(timeout=timeout, clean=clean)
    elif clean:
        err.print("engine already running: --clean ignored")
    click.echo(url)


@engine.command()
def stop() -> None:
    """Stop the node: SIGTERM its process group, wait, then SIGKILL."""
    pid = eng.stop()
    click.echo("not running" if pid is None else f"stopped (pid {pid})")


@engine.command()
def status() -> None:
    """Print URL, pid, health and memory, or "not running"."""
    st = eng.status()
    if not st.running:
        click.echo("not running")
        return
    click.echo(f"url:     {st.url}")
    click.echo(f"pid:     {st.pid}")
    click.echo(f"health:  {st.health or 'not answering'}")
    click.echo(f"version: {st.version or '?'}")
    if st.rss_mib is not None:
        click.echo(f"rss:     {st.rss_mib} MiB")
