"""Static previews of the package's dashboards, rendered with matplotlib from tagged documents.

Every panel comes from the same definitions as the Kibana dashboards (`dashboards.dashboards()`, from
catalog/dashboards.yml): same source, filters, metrics, breakdowns and layout on the 48-column grid. The
identity dashboard is computed from `baselines.summary_rows`, the reference of the transform's documents;
the alerts dashboard from alert documents (`alerts_from_backtest` turns the backtest's alert lines into
them). `render_previews` returns one (title, self-contained HTML fragment) per dashboard.

The documents are not kept: a `Digest` takes them one at a time and keeps what the panels draw, the
secret-store documents reduced to the fields the events dashboards read with `@timestamp` floored to the
hour, each distinct combination once with the number of documents it stands for (`WEIGHT`), and the
transform's summary rows. Counts and sums weigh records by it; distinct counts and maxima need no weight;
time buckets are whole hours or more, so flooring to the hour changes no bucket. Memory grows with the
distinct values per hour (identities, secrets, addresses), not with the number of calls.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..assets import transform
from ..assets.dashboards import Dashboard, Metric, Panel, dashboards, layout
from ..assets.rules.loader import rules
from ..fieldpath import leaves
from ..timestamps import hour_of, to_datetime
from . import baselines

Record = dict[str, Any]
OTHER = "Other"
COLORS = ["#54B399", "#6092C0", "#D36086", "#9170B8", "#CA8EAE", "#D6BF57", "#B9A888", "#DA8B45"]
BUCKETS = [timedelta(hours=h) for h in (1, 3, 6, 12, 24, 48)]


def flat(doc: Mapping[str, Any]) -> Record:
    return dict(leaves(doc))


def _vals(rec: Record, name: str) -> list[Any]:
    v = rec.get(name)
    if v is None:
        return []
    return [x for x in (v if isinstance(v, list) else [v]) if x is not None]


_SOURCE_NAMES = {"events": "tagged events", "summary": "hourly summaries", "alerts": "alerts"}
WEIGHT = "_documents"  # how many documents a record of a Digest stands for


def weight(rec: Record) -> int:
    return rec.get(WEIGHT, 1)


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class Digest:
    """What the previews draw, from tagged documents added one at a time (see the module's docstring)."""

    def __init__(self) -> None:
        self.fields = sorted({f for d in dashboards() if d.source == "events" for p in d.panels for f in p.fields()})
        self.events: Counter[tuple[Any, ...]] = Counter()
        self.summary = baselines.SummaryBuilder()
        self.rows: list[Record] = []

    @classmethod
    def of(cls, docs: Iterable[Mapping[str, Any]]) -> Digest:
        digest = cls()
        for doc in docs:
            digest.add(doc)
        return digest

    def add(self, doc: Mapping[str, Any]) -> None:
        if not baselines.is_secret_access(doc):
            return
        rec = flat(doc)
        hour = hour_of(to_datetime(rec["@timestamp"]))
        self.events[(hour, *(_frozen(rec.get(f)) for f in self.fields))] += 1
        self.summary.add(doc, hour)

    def event_records(self) -> list[Record]:
        out = []
        for (hour, *values), n in self.events.items():
            rec: Record = {"@timestamp": hour, WEIGHT: n}
            rec.update((f, list(v) if isinstance(v, tuple) else v) for f, v in zip(self.fields, values, strict=True)
                       if v is not None)
            out.append(rec)
        return out

    def summary_records(self) -> list[Record]:
        """The summary rows so far (the builder hands each row over once; they are kept here)."""
        self.rows.extend(flat(r) for r in self.summary.rows())
        return self.rows


def source_records(dash: Dashboard, docs: list[Mapping[str, Any]] | Digest,
                   alerts: list[Record] | None) -> list[Record]:
    """The records a dashboard's panels see, after its dashboard-level filter (weighted: see `Digest`)."""
    digest = docs if isinstance(docs, Digest) else Digest.of(docs)
    if dash.source == "events":
        return digest.event_records()
    if dash.source == "summary":
        return digest.summary_records()
    return [a for a in alerts or [] if a.get("kibana.alert.rule.rule_id")]


def alerts_from_backtest(lines: Iterable[Mapping[str, Any]]) -> list[Record]:
    """Alert documents as Elastic Security writes them, from backtest alert lines (`rule` slug,
    `identity`, `start`): rule name, rule id and severity from the rule pack."""
    by_slug = {r.slug: r for r in rules()}
    out = []
    for line in lines:
        rule = by_slug.get(str(line.get("rule")))
        if rule is None:
            continue
        out.append({"@timestamp": line.get("start") or line.get("@timestamp"),
                    "kibana.alert.rule.name": rule.name, "kibana.alert.rule.rule_id": rule.rule_id,
                    "kibana.alert.severity": rule.severity, "cloud_secrets.identity": line.get("identity")})
    return out


def metric_value(m: Metric, recs: list[Record]) -> float:
    if m.op == "count":
        return sum(map(weight, recs))
    if m.op == "sum":
        return sum(v * weight(r) for r in recs for v in _vals(r, m.field or ""))
    values = [v for r in recs for v in _vals(r, m.field or "")]
    if m.op == "unique_count":
        return len(set(values))
    return max(values) if values else 0


def matches(panel: Panel, rec: Record) -> bool:
    return all(value in _vals(rec, key) for key, value in panel.where)


def group(recs: list[Record], name: str, missing: str | None) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        values = _vals(r, name)
        if not values and missing is not None:
            values = [missing]
        for v in values:
            out[str(v)].append(r)
    return out


def top_groups(panel: Panel, recs: list[Record], name: str, size: int) -> list[tuple[str, list[Record]]]:
    groups = group(recs, name, panel.missing)
    first = panel.all_metrics()[0]
    return sorted(groups.items(), key=lambda kv: (-metric_value(first, kv[1]), kv[0]))[:size]


def _time(rec: Record) -> datetime:
    return to_datetime(rec["@timestamp"])


def bucket_size(recs: list[Record], hourly: bool) -> timedelta:
    if hourly or not recs:
        return BUCKETS[0]
    times = [_time(r) for r in recs]
    span = max(times) - min(times)
    return next((b for b in BUCKETS if span / b <= 120), BUCKETS[-1])


def _floor(ts: datetime, size: timedelta) -> datetime:
    epoch = int(ts.timestamp())
    step = int(size.total_seconds())
    return datetime.fromtimestamp(epoch - epoch % step, ts.tzinfo)


def series(panel: Panel, recs: list[Record], m: Metric, hourly: bool) -> tuple[list[datetime], dict[str, list[float]]]:
    """Time buckets and, per breakdown value (top 5 plus Other), the metric in each bucket."""
    size = bucket_size(recs, hourly)
    if not recs:
        return [], {}
    start, end = _floor(min(map(_time, recs)), size), _floor(max(map(_time, recs)), size)
    xs = [start + i * size for i in range(int((end - start) / size) + 1)]
    labelled: list[tuple[str, Record]]
    if panel.breakdown:
        keep = {k for k, _ in top_groups(panel, recs, panel.breakdown, 5)}
        labelled = [(k if k in keep else OTHER, r) for k, rs in group(recs, panel.breakdown, panel.missing).items()
                    for r in rs]
    else:
        labelled = [(m.title, r) for r in recs]
    cells: dict[str, dict[datetime, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for label, r in labelled:
        cells[label][_floor(_time(r), size)].append(r)
    return xs, {label: [metric_value(m, by_x.get(x, [])) for x in xs] for label, by_x in sorted(cells.items())}


def _bars(ax: Any, panel: Panel, recs: list[Record], hourly: bool) -> None:
    m = panel.all_metrics()[0]
    xs, ys = series(panel, recs, m, hourly)
    if not xs:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        return
    width = (xs[1] - xs[0]) * 0.9 if len(xs) > 1 else timedelta(hours=0.9)
    bottom = [0.0] * len(xs)
    for i, (label, values) in enumerate(ys.items()):
        ax.bar(xs, values, width=width, bottom=bottom, label=label, color=COLORS[i % len(COLORS)], align="edge")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel(m.title, fontsize=7)
    ax.legend(fontsize=6, loc="upper left", frameon=False)


def _lines(ax: Any, panel: Panel, recs: list[Record], hourly: bool) -> list[float]:
    plotted: list[float] = []
    for i, m in enumerate(panel.all_metrics()):
        xs, ys = series(panel, recs, m, hourly)
        for label, values in ys.items():
            ax.plot(xs, values, label=label if panel.breakdown else m.title, color=COLORS[i % len(COLORS)],
                    linewidth=1.2, drawstyle="steps-post")
            plotted.extend(values)
    if plotted:
        ax.legend(fontsize=6, loc="upper left", frameon=False)
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    return plotted


def _band(ax: Any, panel: Panel, recs: list[Record]) -> None:
    """The metric per hour, with the same reference lines as the Lens panel: median and 95th percentile of
    the identity's active hours, and the rule's floor."""
    _lines(ax, panel, recs, hourly=True)
    m = panel.all_metrics()[0]
    hours = [metric_value(m, rs) for rs in group(recs, "@timestamp", None).values()]
    if hours:
        median = statistics.median(hours)
        p95 = statistics.quantiles(hours, n=20, method="inclusive")[-1] if len(hours) > 1 else hours[0]
        for value, label, style in ((median, "Baseline median", "--"), (p95, "Baseline 95th percentile", ":"),
                                    (transform.Margin().floor, f"Rule floor ({transform.Margin().floor})", "-.")):
            ax.axhline(value, linestyle=style, color="#343741", linewidth=0.9)
            ax.annotate(f"{label}: {value:g}", (0.995, value), xycoords=("axes fraction", "data"), ha="right",
                        va="bottom", fontsize=6)


def _table(ax: Any, panel: Panel, recs: list[Record]) -> None:
    ax.axis("off")
    rows = [[_short(k)] + [f"{metric_value(m, rs):g}" for m in panel.metrics]
            for k, rs in top_groups(panel, [r for r in recs], panel.rows or "", panel.top)]
    if not rows:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        return
    rest = 0.55 / len(panel.metrics)
    table = ax.table(cellText=rows, colLabels=[panel.rows] + [m.title for m in panel.metrics], loc="upper center",
                     cellLoc="left", colLoc="left", colWidths=[0.45] + [rest] * len(panel.metrics))
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    table.scale(1, 1.15)
    for (row, _), cell in table.get_celld().items():
        cell.set_edgecolor("#D3DAE6")
        if row == 0:
            cell.set_facecolor("#F5F7FA")


def _short(value: str, limit: int = 70) -> str:
    return value if len(value) <= limit else value[:30] + "..." + value[-(limit - 33):]


def _donut(ax: Any, panel: Panel, recs: list[Record]) -> None:
    groups = top_groups(panel, recs, panel.breakdown or "", panel.top)
    values = [metric_value(panel.all_metrics()[0], rs) for _, rs in groups]
    if not values:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return
    total = sum(values)
    ax.pie(values, colors=COLORS[: len(values)], wedgeprops={"width": 0.38}, startangle=90, counterclock=False)
    ax.legend([f"{k} ({v / total:.0%})" for (k, _), v in zip(groups, values, strict=True)], fontsize=6,
              loc="center left", bbox_to_anchor=(0.95, 0.5), frameon=False)
    ax.set_aspect("equal")


def render_dashboard(dash: Dashboard, recs: list[Record], subtitle: str = "") -> Figure:
    placed = layout(dash.panels)
    rows = max(y + p.size[1] for p, _, y in placed)
    fig = plt.figure(figsize=(16, rows * 0.21 + 0.8), dpi=100)
    grid = fig.add_gridspec(rows, 48, hspace=0.0, wspace=0.6, left=0.04, right=0.98, top=1 - 0.6 / (rows * 0.21 + 0.8),
                            bottom=0.03)
    fig.suptitle(dash.title + (f"  ·  {subtitle}" if subtitle else ""), x=0.04, ha="left", fontsize=12,
                 fontweight="bold")
    for panel, x, y in placed:
        # two grid rows for the title, one under the axes for tick labels (Kibana's panel chrome)
        ax = fig.add_subplot(grid[y + 2:y + panel.size[1] - 1, x:x + panel.size[0]])
        ax.set_title(panel.title, fontsize=8.5, loc="left")
        ax.tick_params(labelsize=6)
        mine = [r for r in recs if matches(panel, r)]
        if panel.chart == "table":
            _table(ax, panel, mine)
        elif panel.chart == "donut":
            _donut(ax, panel, mine)
        elif panel.chart == "band":
            _band(ax, panel, mine)
        elif panel.chart == "line":
            _lines(ax, panel, mine, hourly=dash.source == "summary")
        else:
            _bars(ax, panel, mine, hourly=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return fig


def pick_identity(rows: list[Record]) -> str | None:
    """The identity whose peak hour stands out most from its median hour (the drill-down's default)."""
    per: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        per[r["cloud_secrets.identity"]].append(int(r.get(f"{transform.SUMMARY}.read_success.secrets", 0)))
    if not per:
        return None
    return max(sorted(per), key=lambda k: (max(per[k]) - statistics.median(per[k]), max(per[k])))


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def figures(docs: list[Mapping[str, Any]] | Digest, alerts: list[Record] | None = None,
            identity: str | None = None) -> list[tuple[Dashboard, Figure]]:
    digest = docs if isinstance(docs, Digest) else Digest.of(docs)
    out = []
    for dash in dashboards():
        recs = source_records(dash, digest, alerts)
        subtitle = f"{sum(map(weight, recs)):,} documents ({_SOURCE_NAMES.get(dash.source, dash.source)})"
        if dash.source == "summary":
            identity = identity or pick_identity(recs)
            recs = [r for r in recs if r.get("cloud_secrets.identity") == identity]
            subtitle = f"cloud_secrets.identity: {identity}"
        out.append((dash, render_dashboard(dash, recs, subtitle)))
    return out


def attacked_identity(docs: list[Mapping[str, Any]] | Digest, labels: list[Mapping[str, Any]]) -> str | None:
    """Among the identities the simulator's labels mark as attacked, the one that stands out most."""
    attacked = {str(lab.get("identity")) for lab in labels if lab.get("kind") == "attack"}
    digest = docs if isinstance(docs, Digest) else Digest.of(docs)
    return pick_identity([r for r in digest.summary_records() if r["cloud_secrets.identity"] in attacked])


def previews(docs: list[Mapping[str, Any]] | Digest, labels: list[Mapping[str, Any]] | None = None,
             alerts: list[Record] | None = None, identity: str | None = None) -> list[tuple[Dashboard, bytes]]:
    """Each dashboard as a PNG, from tagged documents or their `Digest`."""
    digest = docs if isinstance(docs, Digest) else Digest.of(docs)
    if identity is None and labels:
        identity = attacked_identity(digest, labels)
    return [(dash, png(fig)) for dash, fig in figures(digest, alerts, identity)]


def fragment(dash: Dashboard, image: bytes) -> str:
    data = base64.b64encode(image).decode()
    return (f'<section class="dashboard-preview" id="{html.escape(dash.id)}">'
            f"<h3>{html.escape(dash.title)}</h3><p>{html.escape(dash.description)}</p>"
            f'<img alt="{html.escape(dash.title)}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}"></section>')


def render_previews(docs: list[Mapping[str, Any]] | Digest, labels: list[Mapping[str, Any]] | None = None,
                    alerts: list[Record] | None = None, identity: str | None = None) -> list[tuple[str, str]]:
    """(title, self-contained HTML fragment with the dashboard as an inline PNG) per dashboard.

    `docs`: tagged documents, or a `Digest` of them (memory bounded by what the panels draw, not by the
    number of documents). `labels` (the simulator's, one per document; only attack labels are read): when
    given and no `identity` is, the drill-down shows the attacked identity that stands out most.
    `alerts`: alert documents (see `alerts_from_backtest`); without them the alerts dashboard is empty.
    """
    return [(dash.title, fragment(dash, image)) for dash, image in previews(docs, labels, alerts, identity)]


def counts(docs: list[Mapping[str, Any]]) -> Counter[str]:
    """How many documents each dashboard source holds (for the command's summary line)."""
    return Counter({"events": sum(baselines.is_secret_access(d) for d in docs),
                    "summary rows": len(baselines.summary_rows(docs))})
