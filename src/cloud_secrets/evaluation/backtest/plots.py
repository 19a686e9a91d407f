"""The backtest report's figures and sections (matplotlib, Agg backend)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import orjson

from ...timestamps import iso_ms, to_datetime
from ..previews import Digest, alerts_from_backtest, render_previews
from .alerts import Alert
from .quality import VISIBLE, WHOLE_PACK, Labels, Quality, RuleQuality
from .report import Report, table
from .run import Result

MAX_IDENTITIES = 35


def _dt(ms: int) -> datetime:
    return to_datetime(ms)


def timeline(alerts: list[Alert], labels: Labels | None, rules: list[str]):  # type: ignore[no-untyped-def]
    """Alerts on a time axis, one row per identity (the most alerted, attack identities first)."""
    counts = Counter(a.identity or "(none)" for a in alerts)
    attackers: set[str] = set()
    if labels is not None:
        for ids in labels.attack_identities.values():
            attackers |= ids
    names = sorted(counts, key=lambda n: (n not in attackers, -counts[n], n))[:MAX_IDENTITIES]
    row = {n: i for i, n in enumerate(reversed(names))}
    fig, ax = plt.subplots(figsize=(12, max(3.0, 0.28 * len(names) + 1.5)))
    colours = plt.get_cmap("tab10")
    for k, rule in enumerate(rules):
        mine = [a for a in alerts if a.rule == rule and (a.identity or "(none)") in row]
        if not mine:
            continue
        ys = [row[a.identity or "(none)"] + (k - len(rules) / 2) * 0.08 for a in mine]
        ax.hlines(ys, [_dt(a.start) for a in mine], [_dt(max(a.end, a.start + 60_000)) for a in mine],
                  colors=colours(k % 10), linewidth=4)
        ax.plot([_dt(a.start) for a in mine], ys, "|", color=colours(k % 10), label=f"{rule} ({len(mine)})",
                markersize=9)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([("⚠ " if n in attackers else "") + (n if len(n) <= 42 else n[:39] + "...")
                        for n in reversed(names)], fontsize=7)
    ax.set_xlabel("time (UTC)")
    ax.grid(axis="x", alpha=0.3)
    if alerts:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8)
    fig.autofmt_xdate()
    return fig


def false_alert_bars(q: Quality):  # type: ignore[no-untyped-def]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    names = [r.rule for r in q.rules]
    ax.barh(names, [r.false_per_day for r in q.rules], color="#d9534f")
    ax.set_xlabel("false alerts per day (benign identities, after warm-up)")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return fig


def dashboard_previews(report: Report, tagged: Path, result: Result, labels: Labels | None) -> None:
    """The package's dashboards as static images (dashboard_preview), from a second pass over the tagged file:
    its secret-store documents go into a `Digest` (what the panels draw, counted per hour), not a list."""
    digest = Digest()
    with tagged.open("rb") as handle:
        for line in handle:
            if b"secret_access" in line:  # the documents the dashboards read are tagged so
                digest.add(orjson.loads(line))
    attacked = [{"identity": i, "kind": "attack"} for ids in (labels.attack_identities.values() if labels else ())
                for i in sorted(ids)]
    alerts = alerts_from_backtest({"rule": a.rule, "identity": a.identity, "start": iso_ms(a.start)}
                                  for a in result.alerts)
    for title, fragment in render_previews(digest, attacked or None, alerts):
        report.add_section(f"Dashboard preview: {title}", fragment)


def _caught_table(quality: Quality, rules: list[RuleQuality]) -> str:
    rows, classes = [], []
    for s in quality.scenarios:
        rows.append([s] + ["✓" if s in r.detected else "✗" for r in rules])
        classes.append([""] + ["ok" if s in r.detected else "miss" for r in rules])
    rows.append(["recall"] + [f"{len(r.detected)}/{len(quality.scenarios)}" for r in rules])
    rows.append(["false alerts / day"] + [f"{r.false_per_day:.1f}" for r in rules])
    classes += [[""] + ["num"] * len(rules)] * 2
    return table(["scenario"] + [r.rule for r in rules], rows, classes)


def build_report(result: Result, quality: Quality | None, labels: Labels | None, source: str,
                 tagged: Path | None = None) -> Report:
    """The report; with `tagged` (the input file, readable twice) also the dashboards' previews."""
    rules = [r.slug for r in result.rules]
    report = Report(f"Backtest of the cloud_secrets rule pack: {source}")
    span = ""
    if result.first_ts is not None and result.last_ts is not None:
        span = f", {_dt(result.first_ts):%Y-%m-%d %H:%M} to {_dt(result.last_ts):%Y-%m-%d %H:%M} UTC"
    report.intro = (f"<p>{result.documents:,} documents{span}; {len(result.alerts):,} alerts from "
                    f"{len(rules)} rules.</p>")
    per_rule = Counter(a.rule for a in result.alerts)
    report.add_section("Alerts per rule", table(
        ["rule", "tier", "alerts", "note"],
        [[r.slug, "building block" if r.building_block else "visible", per_rule.get(r.slug, 0),
          result.skipped_rules.get(r.slug, "")] for r in result.rules]))
    if quality is not None:
        visible = [r for r in quality.rules if not r.building_block and r.rule != WHOLE_PACK]
        blocks = [r for r in quality.rules if r.building_block]
        if blocks:
            report.add_section("What an analyst sees: visible rules", _caught_table(quality, visible)
                               + "<p class=meta>The alerts of these rules are in Kibana's Alerts table; "
                                 f"<b>{VISIBLE}</b> judges them together.</p>")
            report.add_section("Building blocks (hidden from the Alerts table, read by the higher-order rule)",
                               _caught_table(quality, [*blocks, *(r for r in quality.rules if r.rule == WHOLE_PACK)])
                               + "<p class=meta>Kibana writes their alerts with <code>building_block_type: default"
                                 "</code>; they show only with <i>Include building block alerts</i>.</p>")
        else:
            report.add_section("Which rule caught which attack scenario", _caught_table(quality, quality.rules))
        confusion = []
        for r in quality.rules:
            n_att = len(quality.scenarios)
            n_ben = quality.benign_identities
            b_hit = len(r.benign_identities_alerted)
            confusion.append([r.rule, len(r.detected), n_att - len(r.detected), b_hit, n_ben - b_hit])
        report.add_section("Confusion table per rule", table(
            ["rule", "attack scenarios alerted", "attack scenarios not alerted", "benign identities alerted",
             "benign identities not alerted"], confusion)
            + f"<p class=meta>{quality.days:.1f} days of data; false alerts per day are counted after a "
              f"{quality.warmup_days:g}-day warm-up.</p>")
        report.add_figure("False alerts per day", false_alert_bars(quality))
    shown = [a for a in result.alerts if not a.building_block]
    hidden = [a for a in result.alerts if a.building_block]
    caption = f"The {MAX_IDENTITIES} identities with the most alerts; ⚠ marks attack identities."
    report.add_figure("Alerts an analyst sees, on a timeline per identity",
                      timeline(shown, labels, [r.slug for r in result.rules if not r.building_block]), caption=caption)
    if hidden:
        report.add_figure("Building-block alerts, on a timeline per identity",
                          timeline(hidden, labels, [r.slug for r in result.rules if r.building_block]), caption=caption)
    if tagged is not None:
        dashboard_previews(report, tagged, result, labels)
    return report
