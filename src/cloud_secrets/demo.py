"""`cloud-secrets demo`: the package's pipelines on a real node, over the pipeline fixtures."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from .backtest.demo_section import backtest_demo
from .ingest import install_pipelines, simulate
from .node import connect, es_options
from .package_assets import default_pipeline
from .pipeline_tests import load_cases


def tagged_table(outputs: list[dict]) -> Table:
    table = Table(title="What the tagging pipeline added (cloud_secrets.*)", show_lines=False)
    for column in ("dataset", "event.action", "operation", "identity", "type", "secrets", "automation"):
        table.add_column(column, overflow="fold")
    for doc in outputs:
        cs = doc.get("cloud_secrets")
        event = doc.get("event", {})
        action = str(event.get("action", "")).removeprefix("google.cloud.secretmanager.v1.SecretManagerService.")
        if not cs:
            table.add_row(event.get("dataset", ""), action, "[dim]not access: untouched[/dim]", "", "", "", "")
            continue
        secret = cs.get("secret", {})
        ids = secret.get("id", [])
        shown = f"{secret['count']}× " if "count" in secret else ""
        if ids:
            short_name = ids[0].rsplit("/", 1)[-1].rsplit(":", 1)[-1]  # last part of a URL, path or ARN
            shown += short_name + (f" +{len(ids) - 1}" if len(ids) > 1 else "")
        auto = f"{cs['automation']} ({cs['automation_reason']})" if "automation" in cs else ""
        table.add_row(event.get("dataset", ""), action, cs["operation"], cs.get("identity", ""),
                      cs["identity_type"], shown, auto)
    return table


@click.command()
@es_options
def demo(**conn: str | None) -> None:
    """Start the embedded node, tag the package's fixture documents, print what was tagged, then backtest the
    rule pack on a simulated week with every attack (which rule caught which, false alerts a day), stop the node."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    with connect(**conn) as es:
        console.print(f"Elasticsearch {es.version()} at {es.url}")
        names = install_pipelines(es)
        console.print(f"installed {len(names)} pipelines under their Fleet names: {', '.join(names)}")
        docs = [e for case in load_cases() for e in case.events]
        outputs = simulate(es, default_pipeline(), docs)
        console.print(tagged_table(outputs))
        tagged = sum(1 for o in outputs if "cloud_secrets" in o)
        console.print(f"{len(outputs)} documents in, {len(outputs)} out; {tagged} tagged as secret access, "
                      f"{len(outputs) - tagged} passed through untouched.")
        backtest_demo(es, console)
