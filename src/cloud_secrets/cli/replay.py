"""`cloud-secrets replay`: index simulated documents through the tagging pipeline, to watch the rules fire."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..assets.package_assets import default_pipeline
from ..elastic import replay as rp
from ..elastic import wiring
from ..elastic.ingest import install_pipelines
from ..elastic.node import connect
from ..errors import UserError
from .options import es_options


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--namespace", default="default", show_default=True, help="Data stream namespace to write to.")
@click.option("--target", type=click.Choice(["package", "integrations"]), default="package", show_default=True,
              help="package: logs-cloud_secrets.secret_access-<ns>; integrations: logs-<event.dataset>-<ns>, "
                   "where the rule pack looks.")
@click.option("--shift-to-now", is_flag=True, help="Move every timestamp so that the latest document is now.")
@click.option("--version", "version", metavar="V", help="Package version whose pipeline to use (default: newest "
              "installed, else this checkout's, installed first).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
@click.option("--yes", is_flag=True, help="With --target integrations: write into the official data streams "
              "without asking (for scripts).")
@es_options
def replay(file: Path, namespace: str, target: str, shift_to_now: bool, version: str | None,
           progress: bool | None, yes: bool, **conn: str | None) -> None:
    """Index simulated documents (from `cloud-secrets simulate`) through the tagging pipeline, to watch rules fire.

    Every document is marked simulated (tag `cloud_secrets_simulated`, `labels.cloud_secrets_simulated`)."""
    err = Console(stderr=True)
    if target == "integrations" and not yes:
        question = (f"write simulated attacks into the official data streams (logs-<dataset>-{namespace}), "
                    "next to real logs?")
        if not sys.stdin.isatty():
            raise UserError(f"--target integrations would {question[:-1]}: confirm with --yes")
        click.confirm(question, abort=True, err=True)
    with connect(**conn) as es:
        if not wiring.installed_versions(es) and version is None:
            install_pipelines(es)
            err.print(f"installed this checkout's pipelines ({default_pipeline()})", highlight=False)
        pipeline = wiring.resolve_target(es, version)
        info = rp.scan(file, target)
        show = err.is_terminal if progress is None else progress
        bar = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=err, disable=not show)
        with bar:
            task = bar.add_task("replay", total=info.lines)
            counts = rp.replay(es, file, pipeline, namespace, target, shift_to_now,
                               progress=lambda n: bar.advance(task, n), info=info,
                               on_retry=lambda m: err.print(f"retrying: {m}", highlight=False))
        for index, count in sorted(counts.items()):
            click.echo(f"{index}: {count} documents indexed, {rp.count_tagged(es, index)} tagged secret_access "
                       f"(pipeline {pipeline})")
        click.echo(f"{sum(counts.values())} of {info.lines} documents written, each once, marked simulated "
                   f"(tag {rp.SIMULATED_TAG})")
