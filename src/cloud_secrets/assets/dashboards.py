"""Kibana dashboards (package/kibana/dashboard/, Lens panels by value) rendered from catalog/dashboards.yml.

The same definitions drive `dashboard_preview`, so the Kibana panels and the static previews show the same
fields, metrics, filters and breakdowns. Field names are checked at load time against what is mapped in the
index a dashboard reads (the package's field definitions, the summary transform's destination fields, Kibana's
alert field map in catalog/kibana_alert_fields.yml) and the runtime fields of its data view.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import UserError
from . import transform
from .alert_fields import ALERTS_INDEX, alert_field_map
from .catalog import OPERATION_CLASSES, Catalog, catalog
from .fields import load_fields
from .indices import datasets_of
from .package_assets import package_dataset
from .rules.loader import rules
from .yamlout import GENERATED, dump
from .yamlsrc import Source, load

DEFINITIONS = paths.CATALOG / "dashboards.yml"
DASHBOARD_DIR = "package/kibana/dashboard"
TAGS_FILE = "package/kibana/tags.yml"
CHARTS = ("bars", "line", "table", "donut", "band")
OPS = ("count", "unique_count", "sum", "max")
#: Runtime fields of the alerts dashboard's data view. The alerts index is `dynamic: false` and maps only ECS
#: and Kibana's alert fields, so the `cloud_secrets.identity` that an alert copies from its events (or that an
#: ES|QL rule keeps as a column) is in `_source` but not searchable. Read from `_source` at query time, it can
#: be displayed and aggregated on the dashboard's few hundred alerts; a rule over alerts cannot use it (it
#: needs a mapped carrier such as ECS `related.user`).
IDENTITY_FROM_SOURCE = """def v = params._source['cloud_secrets.identity'];
if (v == null && params._source['cloud_secrets'] instanceof Map) { v = params._source['cloud_secrets']['identity']; }
if (v instanceof List) { for (def x : v) { if (x != null) { emit(x.toString()); } } }
else if (v != null) { emit(v.toString()); }"""
ALERT_RUNTIME_FIELDS = {"cloud_secrets.identity": {"type": "keyword", "script": {"source": IDENTITY_FROM_SOURCE}}}
EVENTS_DATA_VIEW = "logs-*"  # the data view Fleet creates for logs data streams (id and title `logs-*`)
# Saved-object versions of the Kibana 8.x dashboards the package targets (manifest: ^8.18.0 || ^9.0.0).
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = "10.2.0"
NAMESPACE = uuid.UUID("6f1f6c52-3b2a-4d8e-9a51-2f3c4b5d6e7f")  # stable ids for panels, layers, columns


@dataclass(frozen=True)
class Metric:
    op: str
    field: str | None = None
    label: str | None = None

    @property
    def title(self) -> str:
        if self.label:
            return self.label
        return "Count" if self.op == "count" else f"{self.op.replace('_', ' ')} of {self.field}"


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    chart: str
    size: tuple[int, int]
    metric: Metric | None = None
    metrics: tuple[Metric, ...] = ()
    breakdown: str | None = None
    rows: str | None = None
    top: int = 10
    where: tuple[tuple[str, str], ...] = ()
    missing: str | None = None

    def all_metrics(self) -> tuple[Metric, ...]:
        return ((self.metric,) if self.metric else ()) + self.metrics

    def fields(self) -> list[str]:
        names = [m.field for m in self.all_metrics() if m.field]
        names += [f for f in (self.breakdown, self.rows) if f] + [k for k, _ in self.where]
        return names


@dataclass(frozen=True)
class Dashboard:
    id: str
    title: str
    description: str
    source: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def runtime_fields(source: str) -> dict[str, dict[str, Any]]:
    """Runtime fields the data view of `source` defines (Kibana `runtimeFieldMap`)."""
    return ALERT_RUNTIME_FIELDS if source == "alerts" else {}


def field_types(source: str) -> dict[str, str]:
    """The fields a panel of `source` may use, with their types: those mapped in the index it reads, and the
    runtime fields of its data view."""
    if source == "events":
        return load_fields().types
    if source == "summary":
        return transform.dest_field_types()
    return {**alert_field_map(), **{name: f["type"] for name, f in runtime_fields(source).items()}}


def _metric(src: Source, data: Any, where: str) -> Metric:
    if data == "count":
        return Metric("count")
    if not isinstance(data, dict) or data.get("op") not in OPS:
        raise src.fail(where, f"expected count or {{op: {'|'.join(OPS)}, field: ..., label: ...}}")
    if (data["op"] == "count") != (data.get("field") is None):
        raise src.fail(where, "count takes no field; every other op needs one")
    return Metric(data["op"], data.get("field"), data.get("label"))


def _panel(src: Source, data: Any, where: str, types: dict[str, str]) -> Panel:
    if not isinstance(data, dict):
        raise src.fail(where, "a panel is a mapping")
    if data.get("chart") not in CHARTS:
        raise src.fail(f"{where}.chart", f"expected one of {', '.join(CHARTS)}")
    metric = _metric(src, data["metric"], f"{where}.metric") if "metric" in data else None
    key = "metrics" if data["chart"] == "table" else "extra_metrics"
    metrics = tuple(_metric(src, m, f"{where}.{key}[{i}]") for i, m in enumerate(data.get(key, [])))
    size = data.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size) and size[0] <= 48):
        raise src.fail(f"{where}.size", "expected [width <= 48, height]")
    panel = Panel(id=str(data["id"]), title=str(data["title"]), chart=data["chart"], size=(size[0], size[1]),
                  metric=metric, metrics=metrics, breakdown=data.get("breakdown"), rows=data.get("rows"),
                  top=int(data.get("top", 10)), where=tuple((data.get("where") or {}).items()),
                  missing=data.get("missing"))
    if (panel.chart == "table") != bool(panel.rows and panel.metrics) or (panel.chart != "table" and not metric):
        raise src.fail(where, "a table needs rows and metrics; every other chart a metric")
    for name in panel.fields():
        if name not in types:
            raise src.fail(where, f"field {name} is not declared for this dashboard's source")
    return panel


def load_dashboards(path: Path = DEFINITIONS) -> tuple[Dashboard, ...]:
    src = load(path)
    out = []
    for i, data in enumerate(src.data.get("dashboards", [])):
        where = f"dashboards[{i}]"
        if data.get("source") not in ("events", "summary", "alerts"):
            raise src.fail(f"{where}.source", "expected events, summary or alerts")
        if not str(data.get("id", "")).startswith("cloud_secrets-"):
            raise src.fail(f"{where}.id", "dashboard ids start with the package name, cloud_secrets-")
        types = field_types(data["source"])
        panels = tuple(_panel(src, p, f"{where}.panels[{j}]", types) for j, p in enumerate(data["panels"]))
        if len({p.id for p in panels}) != len(panels):
            raise src.fail(f"{where}.panels", "panel ids must be unique")
        out.append(Dashboard(data["id"], data["title"], " ".join(data["description"].split()), data["source"],
                             panels))
    if not out:
        raise UserError(f"{path}: no dashboards")
    return tuple(out)


@cache
def dashboards() -> tuple[Dashboard, ...]:
    return load_dashboards()


# --- Kibana saved objects -----------------------------------------------------------------------------

def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def data_view(source: str) -> tuple[str, str, bool]:
    """(data view id, index pattern, ad hoc?) of a source. Only `logs-*` exists in every Fleet install; the
    summary and alerts indices get ad hoc data views inside each panel, so no data view is shipped."""
    if source == "events":
        return EVENTS_DATA_VIEW, EVENTS_DATA_VIEW, False
    pattern = transform.DEST_ALIAS if source == "summary" else ALERTS_INDEX
    return stable_id("data-view", source), pattern, True


def rule_ids() -> list[str]:
    return sorted(r.rule_id for r in rules())


def _filter(key: str, kind: str, value: Any = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"alias": None, "disabled": False, "negate": False, "key": key, "type": kind}
    if kind == "phrase":
        meta["params"] = {"query": value}
        query: dict[str, Any] = {"match_phrase": {key: value}}
    elif kind == "phrases":
        meta["params"] = value
        meta["value"] = value
        query = {"bool": {"minimum_should_match": 1, "should": [{"match_phrase": {key: v}} for v in value]}}
    else:
        meta["value"] = "exists"
        query = {"exists": {"field": key}}
    return {"$state": {"store": "appState"}, "meta": meta, "query": query}


def event_datasets() -> list[str]:
    """The data streams the events dashboard reads: those of the catalog's operations and the package's own."""
    return [*datasets_of(catalog(), OPERATION_CLASSES), package_dataset()]


def dashboard_filters(source: str) -> list[dict[str, Any]]:
    """What every panel of a dashboard is limited to (package-spec wants a filter on each dashboard). The events
    dashboard, on Fleet's `logs-*` data view, is limited to the catalog's data streams by `data_stream.dataset`
    (a constant_keyword: other data streams' shards are skipped, as Elastic's integration dashboards do), and
    to the events the pipelines tagged."""
    if source == "events":
        return [_filter("data_stream.dataset", "phrases", event_datasets()), _filter("tags", "phrase", "secret_access")]
    if source == "summary":
        return [_filter("cloud_secrets.identity", "exists")]
    return [_filter("kibana.alert.rule.rule_id", "phrases", rule_ids())]


def kql(where: tuple[tuple[str, str], ...]) -> str:
    return " and ".join(f'{k} : {json.dumps(v)}' for k, v in where)


def _metric_column(m: Metric, where: str) -> dict[str, Any]:
    col: dict[str, Any] = {
        "label": m.title, "customLabel": True, "dataType": "number", "isBucketed": False, "scale": "ratio",
        "operationType": m.op, "sourceField": m.field or "___records___", "params": {"emptyAsNull": True},
    }
    if where:
        col["filter"] = {"language": "kuery", "query": where}
    return col


def _terms_column(name: str, size: int, order_by: str, missing: str | None) -> dict[str, Any]:
    return {
        "label": f"Top {size} values of {name}", "dataType": "string", "isBucketed": True, "scale": "ordinal",
        "operationType": "terms", "sourceField": name,
        "params": {"size": size, "orderBy": {"type": "column", "columnId": order_by}, "orderDirection": "desc",
                   "otherBucket": True, "missingBucket": missing is not None, "parentFormat": {"id": "terms"}},
    }


def _date_column() -> dict[str, Any]:
    return {"label": "@timestamp", "dataType": "date", "isBucketed": True, "scale": "interval",
            "operationType": "date_histogram", "sourceField": "@timestamp",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}}


def _layer(columns: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"columnOrder": list(columns), "columns": columns, "incompleteColumns": {}, "sampling": 1}


def lens_state(dash: Dashboard, panel: Panel) -> tuple[str, dict[str, Any], list[str]]:
    """(visualization type, Lens state without data views, layer ids) of one panel."""
    cid = lambda name: stable_id(dash.id, panel.id, name)  # noqa: E731
    layer = cid("layer")
    where = kql(panel.where)
    metrics = {cid(f"metric{i}"): _metric_column(m, where) for i, m in enumerate(panel.all_metrics())}
    first = next(iter(metrics))
    layers = {}
    if panel.chart == "table":
        rows = {cid("rows"): _terms_column(panel.rows or "", panel.top, first, panel.missing)}
        layers[layer] = _layer(rows | metrics)
        vis = {"layerId": layer, "layerType": "data", "columns": [{"columnId": c} for c in rows | metrics]}
        return "lnsDatatable", {"visualization": vis, "layers": layers}, [layer]
    if panel.chart == "donut":
        group = {cid("group"): _terms_column(panel.breakdown or "", panel.top, first, panel.missing)}
        layers[layer] = _layer(group | metrics)
        vis = {"shape": "donut", "layers": [{
            "layerId": layer, "layerType": "data", "primaryGroups": list(group), "metrics": list(metrics),
            "numberDisplay": "percent", "categoryDisplay": "default", "legendDisplay": "default",
            "nestedLegend": False}]}
        return "lnsPie", {"visualization": vis, "layers": layers}, [layer]
    series = "line" if panel.chart in ("line", "band") else "bar_stacked"
    x = {cid("x"): _date_column()}
    split = {cid("split"): _terms_column(panel.breakdown, 5, first, panel.missing)} if panel.breakdown else {}
    layers[layer] = _layer(split | x | metrics)
    data_layer: dict[str, Any] = {"layerId": layer, "layerType": "data", "seriesType": series,
                                  "xAccessor": next(iter(x)), "accessors": list(metrics)}
    if split:
        data_layer["splitAccessor"] = next(iter(split))
    vis: dict[str, Any] = {"legend": {"isVisible": True, "position": "right"}, "valueLabels": "hide",
                           "preferredSeriesType": series, "layers": [data_layer]}
    ids = [layer]
    if panel.chart == "band":
        ref = cid("reference")
        m = panel.metric
        assert m is not None
        lines = {
            cid("median"): {**_metric_column(Metric("median", m.field, "Baseline median"), where)},
            cid("p95"): {**_metric_column(Metric("percentile", m.field, "Baseline 95th percentile"), where),
                         "params": {"percentile": 95}},
            cid("floor"): {"label": f"Rule floor ({transform.Margin().floor})", "customLabel": True,
                           "dataType": "number", "isBucketed": False, "isStaticValue": True, "scale": "ratio",
                           "operationType": "static_value", "references": [],
                           "params": {"value": str(transform.Margin().floor)}},
        }
        layers[ref] = _layer(lines)
        vis["layers"].append({"layerId": ref, "layerType": "referenceLine", "accessors": list(lines),
                              "yConfig": [{"forAccessor": c, "axisMode": "left", "lineStyle": "dashed",
                                           "fill": "none", "textVisibility": True}
                                          for c in lines]})
        ids.append(ref)
    return "lnsXY", {"visualization": vis, "layers": layers}, ids


def lens_panel(dash: Dashboard, panel: Panel, x: int, y: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A Lens panel by value, and the dashboard references it needs."""
    view_id, pattern, ad_hoc = data_view(dash.source)
    vis_type, parts, layer_ids = lens_state(dash, panel)
    refs = [{"id": view_id, "name": f"indexpattern-datasource-layer-{lid}", "type": "index-pattern"}
            for lid in layer_ids]
    state: dict[str, Any] = {
        "adHocDataViews": {view_id: {"id": view_id, "title": pattern, "name": pattern,
                                     "timeFieldName": "@timestamp", "sourceFilters": [], "fieldFormats": {},
                                     "runtimeFieldMap": runtime_fields(dash.source), "fieldAttrs": {},
                                     "allowNoIndex": True}}
        if ad_hoc else {},
        "datasourceStates": {"formBased": {"layers": parts["layers"]}},
        "filters": [],
        "internalReferences": refs if ad_hoc else [],
        "query": {"language": "kuery", "query": ""},
        "visualization": parts["visualization"],
    }
    pid = stable_id(dash.id, panel.id)
    attributes = {"title": panel.title, "description": "", "visualizationType": vis_type, "type": "lens",
                  "references": [] if ad_hoc else refs, "state": state}
    body = {"type": "lens", "panelIndex": pid, "title": panel.title,
            "gridData": {"x": x, "y": y, "w": panel.size[0], "h": panel.size[1], "i": pid},
            "embeddableConfig": {"attributes": attributes, "enhancements": {}}}
    outer = [] if ad_hoc else [{**r, "name": f"{pid}:{r['name']}"} for r in refs]
    return body, outer


def layout(panels: Iterable[Panel]) -> list[tuple[Panel, int, int]]:
    """Left to right, top to bottom on the 48-column grid."""
    out, x, y, row_h = [], 0, 0, 0
    for p in panels:
        if x + p.size[0] > 48:
            x, y, row_h = 0, y + row_h, 0
        out.append((p, x, y))
        x += p.size[0]
        row_h = max(row_h, p.size[1])
    return out


def saved_object(dash: Dashboard) -> dict[str, Any]:
    panels, refs = [], []
    for panel, x, y in layout(dash.panels):
        body, outer = lens_panel(dash, panel, x, y)
        panels.append(body)
        refs.extend(outer)
    filters = dashboard_filters(dash.source)
    if dash.source == "events":
        for i, flt in enumerate(filters):
            name = f"kibanaSavedObjectMeta.searchSourceJSON.filter[{i}].meta.index"
            flt["meta"]["indexRefName"] = name
            refs.append({"id": EVENTS_DATA_VIEW, "name": name, "type": "index-pattern"})
    return {
        "attributes": {
            "description": dash.description,
            "kibanaSavedObjectMeta": {"searchSourceJSON": {"filter": filters,
                                                           "query": {"language": "kuery", "query": ""}}},
            "optionsJSON": {"hidePanelTitles": False, "syncColors": False, "syncCursor": True,
                            "syncTooltips": False, "useMargins": True},
            "panelsJSON": panels,
            "refreshInterval": {"pause": True, "value": 0},
            "timeFrom": "now-14d",
            "timeRestore": True,
            "timeTo": "now",
            "title": dash.title,
        },
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "id": dash.id,
        "managed": False,
        "references": refs,
        "type": "dashboard",
        "typeMigrationVersion": TYPE_MIGRATION_VERSION,
    }


def dashboards_table() -> str:
    """The package README's list of dashboards."""
    rows = ["| dashboard | data | what it shows |", "|---|---|---|"]
    data = {"events": "tagged events (`logs-*`)", "summary": f"`{transform.DEST_ALIAS}`",
            "alerts": "the rule pack's alerts"}
    for d in dashboards():
        rows.append(f"| {d.title} | {data[d.source]} | {', '.join(p.title for p in d.panels)} |")
    return "\n".join(rows) + "\n"


#: Fleet tags only saved objects of Kibana's taggable types (dashboards, visualizations, ...); `security_rule`
#: is valid in package-spec's tags.yml but Kibana never tags security rules (Fleet `tag_assets.ts`,
#: saved_objects_tagging `taggableTypes`), so the rules carry their tags in their own `tags` field instead.
TAGS = [
    {"text": "Security Solution", "asset_types": ["dashboard"]},
    {"text": "Cloud Secrets", "asset_types": ["dashboard"]},
]


def generate(cat: Catalog) -> Iterable[tuple[str, str]]:
    """Generator for `cloud_secrets.generate`: one JSON file per dashboard, and the package's tags."""
    for dash in dashboards():
        yield f"{DASHBOARD_DIR}/{dash.id}.json", json.dumps(saved_object(dash), indent=4, ensure_ascii=False) + "\n"
    yield TAGS_FILE, dump(TAGS, GENERATED.format(source="src/cloud_secrets/assets/dashboards.py"))
