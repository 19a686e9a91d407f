"""`cloud-secrets demo`: the package's pipelines on a real node over one simulated document of each action, then
a simulated week with every attack, tagged on the same node and backtested."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..assets.catalog import catalog
from ..assets.package_assets import default_pipeline
from ..elastic.ingest import install_pipelines, simulate
from ..elastic.node import connect
from ..evaluation.backtest.plots import build_report
from ..evaluation.backtest.quality import Quality, assess, markdown, read_labels, with_pack_total
from ..evaluation.backtest.rulepack import package_rules, seed_as_written
from ..evaluation.backtest.run import run_file
from ..evaluation.backtest.sample import tagged_sample
from ..evaluation.simulate.examples import examples
from ..paths import ROOT
from .backtest import quality_table
from .options import es_options

DAYS = 7
OTHER_EXAMPLES = 4  # documents of other services shown passing through untouched
IDENTITIES = 300
SEED = 0
BUILD = ROOT / "build" / "backtest"

def backtest_demo(es: Any, console: Console, directory: Path = BUILD) -> tuple[Quality, Path]:
    """Simulate, tag on `es`, backtest with labels, print the quality table, write the HTML report."""
    began = time.perf_counter()
    console.print(f"simulating {DAYS} days of {IDENTITIES} benign identities with every attack scenario injected, "
                  "and tagging them on the node ...")
    sample = tagged_sample(es, directory, "all", days=DAYS, identities=IDENTITIES, seed=SEED)
    rules = [*package_rules(), seed_as_written()]
    result = run_file(str(sample.tagged), rules)
    labels = read_labels(sample.labels, {i for a in result.alerts for i in a.events})
    quality = with_pack_total(assess(result.alerts, labels, result.judged_rules()))
    console.print(f"{result.documents:,} tagged documents, {len(result.alerts):,} alerts "
                  f"({time.perf_counter() - began:.0f} s)")
    console.print(quality_table(quality))
    for slug, why in result.skipped_rules.items():
        console.print(f"[dim]{slug}: {why}[/dim]")
    report = build_report(result, quality, labels, sample.tagged.name, sample.tagged).write(directory / "report.html")
    (directory / "quality.md").write_text(markdown(quality), encoding="utf-8")
    console.print(f"HTML report: {report.relative_to(ROOT) if report.is_relative_to(ROOT) else report}")
    return quality, report


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
    """Start the embedded node, tag one simulated document of each secret-store action (and a few of other services),
    print what was tagged, then backtest the rule pack on a simulated week with every attack (which rule caught
    which, false alerts a day), stop the node."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    with connect(**conn) as es:
        console.print(f"Elasticsearch {es.version()} at {es.url}")
        names = install_pipelines(es)
        console.print(f"installed {len(names)} pipelines under their Fleet names: {', '.join(names)}")
        cat = catalog()
        store = set(cat.actions()) | {w for prov in cat.providers for w in prov.write_actions()}
        every = examples()
        docs = [d for d in every if d["event"]["action"] in store]
        docs += [d for d in every if d["event"]["action"] not in store][:OTHER_EXAMPLES]
        outputs = simulate(es, default_pipeline(), docs)
        console.print(tagged_table(outputs))
        tagged = sum(1 for o in outputs if "cloud_secrets" in o)
        console.print(f"{len(outputs)} documents in, {len(outputs)} out; {tagged} tagged as secret access, "
                      f"{len(outputs) - tagged} passed through untouched.")
        backtest_demo(es, console)
