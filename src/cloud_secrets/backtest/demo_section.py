"""The end of `make demo`: a simulated week with every attack, tagged on the demo's node, backtested."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from ..paths import ROOT
from .plots import build_report
from .quality import Quality, assess, markdown, read_labels, with_pack_total
from .rulepack import package_rules, seed_as_written
from .run import run_file
from .sample import tagged_sample

DAYS = 7
IDENTITIES = 300
SEED = 0
BUILD = ROOT / "build" / "backtest"

def backtest_demo(es: Any, console: Console, directory: Path = BUILD) -> tuple[Quality, Path]:
    """Simulate, tag on `es`, backtest with labels, print the quality table, write the HTML report."""
    from ..backtest_cli import quality_table

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
