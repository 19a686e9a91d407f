"""`cloud-secrets backtest`: run the rule pack over tagged documents, offline."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from ..assets.rules.exceptions import load_allowlist, require_file
from ..evaluation.backtest import (
    Alert,
    Rule,
    assess,
    markdown,
    package_rules,
    read_labels,
    run_file,
    seed_as_written,
    select,
)
from ..evaluation.backtest.durations import duration_ms
from ..evaluation.backtest.parallel import usable_cpus
from ..evaluation.backtest.quality import Quality, summary, tier_of, with_pack_total
from ..evaluation.backtest.rulepack import with_allowlist
from ..evaluation.backtest.run import Result
from ..timestamps import iso_ms


def _progress_run(path: str, rules: list[Rule], show: bool, on_alert: Callable[[Alert], None] | None,
                  jobs: int = 1) -> Result:
    if not show:
        return run_file(path, rules, on_alert=on_alert, jobs=jobs)
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    total = os.path.getsize(path) if os.path.isfile(path) else None
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("backtest", total=total)
        return run_file(path, rules, lambda done: bar.update(task, completed=done), on_alert, jobs=jobs)


def quality_table(q: Quality) -> Table:
    table = Table(title="Which rule caught which attack scenario (✓/✗), and false alerts per benign day")
    table.add_column("scenario")
    for r in q.rules:
        table.add_column(r.rule, justify="center", overflow="fold")
    if any(r.building_block for r in q.rules):
        table.add_row("[i]tier[/i]", *(tier_of(r).replace("**", "") for r in q.rules))
        table.add_section()
    for s in q.scenarios:
        table.add_row(s, *("[green]✓[/green]" if s in r.detected else "[red]✗[/red]" for r in q.rules))
    table.add_section()
    table.add_row("recall", *(f"{len(r.detected)}/{len(q.scenarios)}" for r in q.rules))
    table.add_row("false alerts / day", *(f"{r.false_per_day:.1f}" for r in q.rules))
    table.add_row("benign identities alerted", *(f"{len(r.benign_identities_alerted)}/{q.benign_identities}"
                                                 for r in q.rules))
    return table


def alerts_table(result: Result, limit: int = 40) -> Table:
    table = Table(title=f"{len(result.alerts)} alerts (first {min(limit, len(result.alerts))})")
    for col in ("rule", "identity", "source_ip", "start", "end", "events"):
        table.add_column(col, overflow="fold")
    for a in result.alerts[:limit]:
        table.add_row(a.rule, a.identity or "", a.source_ip or "", iso_ms(a.start), iso_ms(a.end), str(a.event_count))
    return table


def backtest_quality(result: Result, labels: Path, warmup: str) -> tuple[Quality, object]:
    wanted = {i for a in result.alerts for i in a.events}
    lab = read_labels(labels, wanted)
    blocks = frozenset(r.slug for r in result.rules if r.building_block)
    quality = assess(result.alerts, lab, result.judged_rules(), duration_ms(warmup, "--warmup"), blocks)
    return with_pack_total(quality), lab


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True,
              help="One alert a line as JSON (rule, identity, source_ip, start, end, event_count, lines, ...).")
@click.option("--labels", type=click.Path(dir_okay=False, path_type=Path),
              help="The simulator's label file for FILE (same order): adds recall and false alerts per day.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="Write a self-contained HTML report.")
@click.option("--markdown", "as_markdown", is_flag=True, help="With --labels: print the quality table as Markdown.")
@click.option("--summary-json", "as_summary", is_flag=True,
              help="With --labels: print one JSON object, recall [caught, total], false alerts per day and tier "
                   "per rule, and the same for the visible rules together.")
@click.option("--rule", "rule_slugs", multiple=True, metavar="SLUG", help="Only these rules (repeatable).")
@click.option("--seed-as-written/--no-seed-as-written", "with_seed", default=None,
              help="Also run the seed rule as originally written (default: with --labels or --report).")
@click.option("--warmup", default="1d", show_default=True,
              help="Start of the file whose false alerts are not counted (history for new_terms).")
@click.option("--allowlist", "allowlist_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The allowlist YAML of `rules export --allowlist`: applied as the rule exception it becomes "
                   "in Kibana, on the rules that accept it.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes for the rules over events, each reading FILE [default: the CPUs this process "
                   "may use, at most one per group of rules; 1 for standard input]. Same results as 1; with --json "
                   "alone, alerts then come once the workers are done, sorted by start.")
def backtest(file: str, as_json: bool, labels: Path | None, report: Path | None, as_markdown: bool,
             as_summary: bool, rule_slugs: tuple[str, ...], with_seed: bool | None, warmup: str,
             allowlist_file: Path | None, quiet: bool, jobs: int | None) -> None:
    """Run the rule pack over tagged documents (`cloud-secrets tag` output), with Elasticsearch semantics.

    Rules come from the package's Kibana security rule assets. Documents must be in time order. Prints
    one alert a line (--json) or a table, and with --labels which rule caught which simulated attack and
    how many false alerts a day each raises. See docs/backtest.md.
    """
    if as_summary and labels is None:
        raise click.UsageError("--summary-json needs --labels")
    if as_summary and (as_json or as_markdown):
        raise click.UsageError("--summary-json prints one JSON object: leave out --json and --markdown")
    seed = with_seed
    path = "/dev/stdin" if file == "-" else file
    allow = load_allowlist(require_file(allowlist_file)) if allowlist_file is not None else None
    rules = with_allowlist(select(package_rules(), list(rule_slugs) or None), allow)
    if seed is None:
        seed = (labels is not None or report is not None) and not as_summary
    if seed:
        rules.append(seed_as_written())
    duration_ms(warmup, "--warmup")
    show = not quiet and sys.stderr.isatty()
    out = sys.stdout.buffer
    # JSON alone streams alerts as they are raised (bounded memory on any input); anything that needs all
    # alerts (labels, report, the table) collects them and sorts them by start.
    streaming = as_json and labels is None and report is None

    def emit(alert: Alert) -> None:
        out.write(orjson.dumps(alert.to_json()) + b"\n")

    result = _progress_run(path, rules, show, emit if streaming else None, usable_cpus() if jobs is None else jobs)
    quality = lab = None
    if labels is not None:
        quality, lab = backtest_quality(result, labels, warmup)
    if as_summary and quality is not None:
        out.write(orjson.dumps(summary(quality)) + b"\n")
        out.flush()
    elif as_json:
        if not streaming:
            for a in result.alerts:
                emit(a)
        out.flush()
    elif as_markdown:
        if quality is None:
            raise click.UsageError("--markdown needs --labels")
        click.echo(markdown(quality), nl=False)
    else:
        console = Console()
        console.print(alerts_table(result))
        per_rule = Counter(a.rule for a in result.alerts)
        for r in result.rules:
            note = result.skipped_rules.get(r.slug, "")
            console.print(f"  {r.slug:32} {per_rule.get(r.slug, 0):>7} alerts  {note}")
        console.print(f"{result.documents:,} documents, {result.parsed:,} parsed (the rest cannot match any rule)")
        if quality is not None:
            console.print(quality_table(quality))
    if report is not None:
        from ..evaluation.backtest.plots import build_report

        tagged = Path(path) if os.path.isfile(path) else None  # stdin cannot be read twice: no previews
        build_report(result, quality, lab, os.path.basename(file), tagged).write(report)  # type: ignore[arg-type]
        click.echo(f"report: {report}", err=True)
