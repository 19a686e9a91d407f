"""`cloud-secrets attach|detach|status`: wire a live cluster's @custom pipelines to the tagging pipeline."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from ..elastic import wiring
from ..elastic.client import EsClient
from ..elastic.node import connect
from .options import es_options

dataset_option = click.option(
    "--dataset", "datasets", multiple=True, type=click.Choice(wiring.DATASETS),
    help="Data stream to act on (repeatable; default: every one the catalog names).")


def _show(plan: wiring.Plan, dry_run: bool) -> None:
    for note in plan.notes:
        click.echo(note)
    for change in plan.changes:
        if not change.changed:
            click.echo(f"{change.kind} {change.name}: no change")
        elif dry_run:
            click.echo(change.diff(), nl=False)


def _run(es: EsClient, plan: wiring.Plan, dry_run: bool, done: str) -> str | None:
    _show(plan, dry_run)
    if not plan.pending:
        click.echo(f"nothing to do: {done} already")
        return None
    if dry_run:
        click.echo(f"dry run: {len(plan.pending)} change(s) shown above, nothing written")
        return None
    backup_id = wiring.apply(es, plan)
    for change in plan.pending:
        verb = "deleted" if change.after is None else "created" if change.before is None else "updated"
        click.echo(f"{change.kind} {change.name}: {verb}")
    click.echo(f"previous bodies saved in {wiring.backup_index()} as backup {backup_id}")
    return backup_id


@click.command()
@dataset_option
@click.option("--namespace", "namespaces", multiple=True, metavar="NS",
              help="Tag only these namespaces (repeatable; default: every namespace of the data stream).")
@click.option("--version", "version", metavar="V", help="Package version to call (default: newest installed).")
@click.option("--mappings", is_flag=True, help="Also add our field mappings to the @custom component templates.")
@click.option("--dry-run", is_flag=True, help="Print the exact diff, change nothing.")
@es_options
def attach(datasets: tuple[str, ...], namespaces: tuple[str, ...], version: str | None, mappings: bool,
           dry_run: bool, **conn: str | None) -> None:
    """Call the tagging pipeline from the official data streams' @custom pipelines, keeping your processors."""
    with connect(**conn) as es:
        plan = wiring.plan_attach(es, datasets or wiring.DATASETS, namespaces, version, mappings)
        _run(es, plan, dry_run, "every data stream is attached")


@click.command()
@dataset_option
@click.option("--restore", is_flag=True, help="Put back the bodies the last attach replaced, from its backup.")
@click.option("--backup", "backup_id", metavar="ID", help="With --restore: this backup instead of the newest.")
@click.option("--force", is_flag=True, help="With --restore: overwrite resources changed since the attach.")
@click.option("--dry-run", is_flag=True, help="Print the exact diff, change nothing.")
@es_options
def detach(datasets: tuple[str, ...], restore: bool, backup_id: str | None, force: bool, dry_run: bool,
           **conn: str | None) -> None:
    """Remove our processor (and mappings) again, keeping yours; or --restore the backup of the last attach."""
    with connect(**conn) as es:
        if restore:
            plan, restored = wiring.plan_restore(es, backup_id, force)
            _run(es, plan, dry_run, "the backup is in place")
            if not dry_run:
                wiring.mark_restored(es, restored)
        else:
            _run(es, wiring.plan_detach(es, datasets or wiring.DATASETS), dry_run, "nothing is attached")


@click.command()
@dataset_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object a data stream.")
@es_options
def status(datasets: tuple[str, ...], as_json: bool, **conn: str | None) -> None:
    """Per data stream: wired or not, which package version it calls, tagged documents in the last hour."""
    with connect(**conn) as es:
        rows = wiring.status(es, datasets or wiring.DATASETS)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        _fail_on_broken(rows)
        return
    table = Table("dataset", "@custom pipeline", "wired", "calls version", "namespaces", "mappings",
                  "tagged, last hour")
    for row in rows:
        wired = "yes" if row["wired"] else "no"
        if row["wired"] and not row["target_installed"]:
            wired = "yes, but its pipeline is missing"
        namespaces = row["namespaces"] if isinstance(row["namespaces"], str) else ", ".join(row["namespaces"])
        table.add_row(row["dataset"], "exists" if row["pipeline_exists"] else "absent", wired,
                      row["version"] or "-", namespaces if row["wired"] else "-",
                      "yes" if row["mappings"] else "no", str(row["tagged_last_hour"]))
    console = Console()
    (console if console.is_terminal else Console(width=120)).print(table)
    _fail_on_broken(rows)


def _fail_on_broken(rows: list[dict]) -> None:
    """Exit 1 naming every wired data stream whose call of the tagging pipeline would fail."""
    broken = [r for r in rows if r["wired"] and not r["target_installed"]]
    if broken:
        for row in broken:
            click.echo(f"error: {row['pipeline']} calls {row['calls']}, which is not installed: its secret-store "
                       f"events are not tagged (they carry {wiring.TAGGING_ERROR}); run `cloud-secrets attach` "
                       "again", err=True)
        sys.exit(1)
