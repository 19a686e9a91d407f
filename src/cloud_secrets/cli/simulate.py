"""`cloud-secrets simulate`: labelled documents as the official integrations would index them."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

import click

from ..errors import UserError
from ..evaluation.simulate import Options, scenarios, stream, write_stream
from ..evaluation.simulate.allowlist import write_allowlist
from ..timestamps import to_ms


def _parse_start(value: str) -> float:
    try:
        return to_ms(value) / 1000
    except ValueError as err:
        raise UserError(f"--start {value!r} is not an ISO 8601 time such as 2026-03-02T00:00:00Z") from err


def _open(stack: ExitStack, path: Path | None, what: str) -> TextIO | None:
    if path is None:
        return None
    try:
        return stack.enter_context(path.open("w", encoding="utf-8"))
    except OSError as err:
        raise UserError(f"cannot write {what} {path}: {err.strerror}") from err


@click.command()
@click.option("--scenario", "name", metavar="NAME", help="Scenario to generate (see --list-scenarios).")
@click.option("--list-scenarios", is_flag=True, help="List the scenarios and exit.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same documents.")
@click.option(
    "--start",
    default="2026-03-02T00:00:00Z",
    show_default=True,
    help="When the attack (or the benign period) begins, ISO 8601.",
)
@click.option("--days", type=float, default=7.0, show_default=True, help="Length of benign_week / all.")
@click.option("--identities", type=int, default=300, show_default=True, help="Benign actors to simulate.")
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write documents here instead of stdout."
)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one label per document (JSON lines, same order) here. Documents never carry labels.",
)
@click.option(
    "--no-batch-companions",
    is_flag=True,
    help="Leave out the per-secret GetSecretValue entries AWS logs for each BatchGetSecretValue.",
)
@click.option(
    "--allowlist-out",
    "allowlist_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --labels: also write the allowlist of the simulated CI/CD, IaC and rotation identities here.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
def simulate(
    name: str | None,
    list_scenarios: bool,
    seed: int,
    start: str,
    days: float,
    identities: int,
    out_path: Path | None,
    labels_path: Path | None,
    no_batch_companions: bool,
    allowlist_path: Path | None,
    progress: bool | None,
) -> None:
    """Simulated attack and benign documents, as Elastic's AWS, Azure and GCP integrations index them.

    Documents go to stdout (or --out), one JSON object a line, in time order; they are what the
    official integrations produce, before the tagging pipeline. The same --seed gives the same bytes.

    Ground truth never enters a document (a rule could read it there). With --labels FILE each
    document gets one line in FILE, in the same order: index, line, scenario, kind (attack or
    benign), identity (what cloud_secrets.identity will be), actor, dataset, timestamp.
    """
    if list_scenarios:
        for s in scenarios():
            click.echo(f"{s.name:28} {s.kind:7} {s.summary}")
        return
    if not name:
        raise UserError("give --scenario NAME (or --list-scenarios to see the names)")
    if allowlist_path is not None and labels_path is None:
        raise UserError("--allowlist-out needs --labels (the actors' kinds are in the labels)")
    opts = Options(
        seed=seed, start=_parse_start(start), days=days, identities=identities, batch_companions=not no_batch_companions
    )
    show = sys.stderr.isatty() if progress is None else progress
    began = time.perf_counter()
    with ExitStack() as stack:
        out = _open(stack, out_path, "documents") or sys.stdout
        labels = _open(stack, labels_path, "labels")
        if show:
            from rich.console import Console
            from rich.progress import Progress

            bar = stack.enter_context(Progress(console=Console(stderr=True), transient=True))
            task = bar.add_task(f"simulating {name}", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            stats = write_stream(stream(name, opts, tick), out, labels)
        else:
            stats = write_stream(stream(name, opts), out, labels)
    if allowlist_path is not None and labels_path is not None:
        count = write_allowlist(labels_path, allowlist_path)
        click.echo(f"{count} automation identities allowlisted in {allowlist_path}", err=True)
    elapsed = time.perf_counter() - began
    if out_path is not None or show:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_kind.items()))
        click.echo(f"{stats.documents} documents ({kinds}) in {elapsed:.1f} s", err=True)
