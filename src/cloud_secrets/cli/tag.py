"""Commands that run the package's pipelines on a node: `tag` and `pipelines install|test`."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console

from ..elastic import pipeline_tests
from ..elastic.ingest import install_pipelines
from ..elastic.node import connect
from ..elastic.tag import read_documents, tag_documents
from ..errors import UserError
from .options import es_options


@click.command()
@click.argument("file", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@es_options
def tag(file: str, **conn: str | None) -> None:
    """Run ECS documents (one JSON object a line) through the tagging pipeline; print them tagged, in order."""
    name = "<stdin>" if file == "-" else file
    try:
        stream = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115
    except OSError as err:
        raise UserError(f"{file}: cannot read: {err.strerror}") from None
    with stream, connect(**conn) as es:
        out = sys.stdout
        for doc in tag_documents(es, read_documents(stream, name)):
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")


@click.group()
def pipelines() -> None:
    """Install the package's ingest pipelines, or run their elastic-package tests on a node."""


@pipelines.command("install")
@es_options
def install(**conn: str | None) -> None:
    """Install the pipelines under the names Fleet gives them (for clusters managed without Fleet)."""
    with connect(**conn) as es:
        for name in install_pipelines(es):
            click.echo(name)


@pipelines.command("test")
@click.option("--generate", is_flag=True, help="Rewrite the -expected.json files from the node's output.")
@es_options
def test(generate: bool, **conn: str | None) -> None:
    """Run every fixture of package/data_stream/*/_dev/test/pipeline with elastic-package's rules."""
    console = Console()
    with connect(**conn) as es:
        install_pipelines(es)
        results = pipeline_tests.run_all(es, generate=generate)
    failed = 0
    for result in results:
        if result.problems:
            failed += 1
            console.print(f"[red]FAIL[/red] {result.case.path.name}")
            for problem in result.problems:
                console.print(f"  {problem}", markup=False)
        else:
            console.print(f"[green]PASS[/green] {result.case.path.name} ({len(result.outputs)} events)")
    if failed:
        raise UserError(f"{failed} of {len(results)} pipeline test files failed")
