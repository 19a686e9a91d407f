"""The Kibana dashboards: generated from catalog/dashboards.yml, every data view and field they use exists,
references resolve, ids are stable; the static previews render the same panels (no Elasticsearch)."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cloud_secrets import paths
from cloud_secrets.assets import alert_fields, dashboards, generate, transform
from cloud_secrets.assets.catalog import catalog
from cloud_secrets.assets.fields import field_types, load_fields
from cloud_secrets.assets.rules import syntax
from cloud_secrets.assets.rules.loader import rules
from cloud_secrets.cli.dashboards import dashboards as dashboards_cmd
from cloud_secrets.errors import UserError
from cloud_secrets.evaluation import baselines
from cloud_secrets.evaluation import previews as dashboard_preview

DASHBOARD_DIR = paths.ROOT / dashboards.DASHBOARD_DIR
IDS = {"cloud_secrets-overview", "cloud_secrets-identity", "cloud_secrets-alerts"}
PNG = b"\x89PNG\r\n\x1a\n"


def shipped() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def source_of(dashboard_id: str) -> str:
    return next(d.source for d in dashboards.dashboards() if d.id == dashboard_id)


def tagged_fixture_docs() -> list[dict[str, Any]]:
    """Documents tagged by the real pipeline: the expected outputs of its fixtures."""
    docs = []
    for path in sorted(paths.PIPELINE_TESTS.glob("*-expected.json")):
        docs.extend(json.loads(path.read_text(encoding="utf-8"))["expected"])
    return docs


def test_the_three_dashboards_ship_under_stable_ids_and_match_the_generator() -> None:
    assert set(shipped()) == IDS
    rendered = generate.render()
    for name, obj in shipped().items():
        assert obj["id"] == name and obj["type"] == "dashboard"
        assert (DASHBOARD_DIR / f"{name}.json").read_text() == rendered[f"{dashboards.DASHBOARD_DIR}/{name}.json"]
        assert obj["attributes"]["title"].startswith("[Cloud Secrets] ")
        assert obj["attributes"]["description"]
        assert obj["coreMigrationVersion"] and obj["typeMigrationVersion"]
    # ids of panels, layers and columns are derived from names, never random: rendering twice is identical
    assert generate.render() == rendered


def panels(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["attributes"]["panelsJSON"]


def lens_fields(state: dict[str, Any]) -> set[str]:
    names = set()
    for layer in state["datasourceStates"]["formBased"]["layers"].values():
        for col in layer["columns"].values():
            if col.get("sourceField") and col["sourceField"] != "___records___":
                names.add(col["sourceField"])
            query = (col.get("filter") or {}).get("query", "")
            names.update(re.findall(r"([\w.@]+) : ", query))
    return names


@pytest.mark.parametrize("name", sorted(IDS))
def test_every_panel_reads_an_existing_data_view_and_declared_fields(name: str) -> None:
    obj = shipped()[name]
    source = source_of(name)
    allowed = dashboards.field_types(source)
    outer = {r["name"]: r for r in obj["references"]}
    for panel in panels(obj):
        assert panel["type"] == "lens" and panel["panelIndex"] == panel["gridData"]["i"]
        attrs = panel["embeddableConfig"]["attributes"]
        state = attrs["state"]
        missing = sorted(f for f in lens_fields(state) if f not in allowed)
        assert not missing, f"{panel['title']}: fields not declared for {source}: {missing}"
        ad_hoc = state["adHocDataViews"]
        for layer_id in state["datasourceStates"]["formBased"]["layers"]:
            ref_name = f"indexpattern-datasource-layer-{layer_id}"
            internal = [r for r in state["internalReferences"] if r["name"] == ref_name]
            if internal:  # an ad hoc data view defined in the panel itself
                assert internal[0]["id"] in ad_hoc
                assert ad_hoc[internal[0]["id"]]["title"] in (transform.DEST_ALIAS, dashboards.ALERTS_INDEX)
                assert ad_hoc[internal[0]["id"]]["timeFieldName"] == "@timestamp"
            else:  # Fleet's logs-* data view, referenced by the dashboard under the panel's prefix
                ref = outer[f"{panel['panelIndex']}:{ref_name}"]
                assert ref == {"id": dashboards.EVENTS_DATA_VIEW, "name": ref["name"], "type": "index-pattern"}
                assert {**ref, "name": ref_name} in attrs["references"]


# --- every field read is mapped where it is read ---------------------------------------------------------

def mapped_in(index: str) -> dict[str, str]:
    """What is mapped in an index a panel or a rule reads, from the files that define it: the package's data
    stream fields for the tagged events (`logs-*` and the official data streams), the transform's shipped
    destination fields for its alias, and Kibana's alert field map for the alerts index."""
    if index == dashboards.ALERTS_INDEX or index.startswith(".alerts-security"):
        data = yaml.safe_load((paths.CATALOG / "kibana_alert_fields.yml").read_text(encoding="utf-8"))
        return {**data["ecs"], **data["kibana"]}
    if index == transform.DEST_ALIAS:
        out: dict[str, str] = {}
        fields_dir = paths.PACKAGE / "elasticsearch" / "transform" / transform.TRANSFORM / "fields"
        for path in sorted(fields_dir.glob("*.yml")):
            out |= field_types(yaml.safe_load(path.read_text(encoding="utf-8")))
        return out
    assert index.startswith("logs-") and index.endswith("*"), f"no field map known for {index}"
    return load_fields().types


def unmapped(index: str, names: set[str], runtime: dict[str, Any] | None = None) -> list[str]:
    known = set(mapped_in(index)) | set(runtime or {})
    return sorted(n for n in names if n not in known)


def panel_reads(obj: dict[str, Any]) -> list[tuple[str, str, set[str], dict[str, Any]]]:
    """(panel title, index read, fields used, runtime fields of its data view) of every panel."""
    out = []
    for panel in panels(obj):
        state = panel["embeddableConfig"]["attributes"]["state"]
        views = list(state["adHocDataViews"].values())
        index = views[0]["title"] if views else dashboards.EVENTS_DATA_VIEW
        runtime = views[0]["runtimeFieldMap"] if views else {}
        out.append((panel["title"], index, lens_fields(state), runtime))
    return out


@pytest.mark.parametrize("name", sorted(IDS))
def test_every_field_a_panel_reads_is_mapped_in_the_index_it_reads(name: str) -> None:
    obj = shipped()[name]
    reads = panel_reads(obj)
    for title, index, names, runtime in reads:
        assert unmapped(index, names, runtime) == [], f"{name}: {title} reads unmapped fields of {index}"
    index = reads[0][1]
    keys = {f["meta"]["key"] for f in obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]["filter"]}
    assert unmapped(index, keys, reads[0][3]) == []


def test_alerts_dashboard_reads_the_identity_through_a_runtime_field_only() -> None:
    """`cloud_secrets.identity` is not mapped in the alerts index (`dynamic: false`): the alerts panels get
    it from the data view's runtime field, which reads `_source`; without it the check above fails."""
    reads = panel_reads(shipped()["cloud_secrets-alerts"])
    assert "cloud_secrets.identity" not in mapped_in(dashboards.ALERTS_INDEX)
    users = [(title, runtime) for title, _, names, runtime in reads if "cloud_secrets.identity" in names]
    assert len(users) == 2
    for title, runtime in users:
        assert runtime["cloud_secrets.identity"]["type"] == "keyword", title
        assert "params._source" in runtime["cloud_secrets.identity"]["script"]["source"]
    title, index, names, _ = next(r for r in reads if "cloud_secrets.identity" in r[2])
    assert unmapped(index, names) == ["cloud_secrets.identity"]  # what a data view without it would read


def rule_indices(asset: dict[str, Any]) -> list[str]:
    if asset["type"] == "esql":
        head = asset["query"].split("|", 1)[0].strip()
        assert head.upper().startswith("FROM "), head
        return [i.strip() for i in head[5:].split(" METADATA")[0].split(",")]
    return list(asset["index"])


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.slug)
def test_every_field_a_rule_reads_is_mapped_in_every_index_it_reads(rule: Any) -> None:
    """Rules over tagged events read the package's fields, `baseline_deviation` the transform's; a rule over
    the alerts index (none yet) may read only ECS and kibana.alert.* fields: no runtime field there."""
    asset = json.loads((paths.PACKAGE / "kibana" / "security_rule" / f"{rule.rule_id}_{rule.version}.json")
                       .read_text(encoding="utf-8"))["attributes"]
    names = set(syntax.fields(rule.language, rule.query))
    names |= set(rule.threshold.field if rule.threshold else ()) | set(rule.new_terms.fields if rule.new_terms else ())
    names |= set(rule.suppression.group_by if rule.suppression else ())
    assert names
    for index in rule_indices(asset):
        assert unmapped(index, names) == [], f"{rule.slug} reads unmapped fields of {index}"


def test_a_rule_over_alerts_grouping_by_a_package_field_is_caught() -> None:
    """The carrier a higher-order rule needs: `related.user` is mapped in the alerts index, `cloud_secrets.identity`
    is not."""
    assert unmapped(".alerts-security.alerts-default", {"related.user", "kibana.alert.rule.rule_id"}) == []
    assert unmapped(".alerts-security.alerts-default", {"cloud_secrets.identity"}) == ["cloud_secrets.identity"]


@pytest.mark.parametrize("name", sorted(IDS))
def test_every_reference_resolves_and_every_dashboard_is_filtered(name: str) -> None:
    obj = shipped()[name]
    prefixes = {p["panelIndex"] for p in panels(obj)}
    search = obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
    names = {r["name"] for r in obj["references"]}
    for ref in obj["references"]:
        prefix = ref["name"].split(":", 1)[0]
        assert prefix in prefixes or ref["name"].startswith("kibanaSavedObjectMeta."), ref
        assert ref["type"] == "index-pattern" and ref["id"] == dashboards.EVENTS_DATA_VIEW
    assert search["filter"], "package-spec wants a filter on every dashboard"
    allowed = dashboards.field_types(source_of(name))
    for f in search["filter"]:
        assert f["meta"]["key"] in allowed
        if "indexRefName" in f["meta"]:
            assert f["meta"]["indexRefName"] in names
    boxes = [(p["gridData"]["x"], p["gridData"]["y"], p["gridData"]["w"], p["gridData"]["h"]) for p in panels(obj)]
    for i, (x, y, w, h) in enumerate(boxes):
        assert x + w <= 48
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y, "panels overlap"


def test_alerts_dashboard_is_limited_to_the_rule_pack() -> None:
    flt = shipped()["cloud_secrets-alerts"]["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]["filter"][0]
    assert flt["meta"]["key"] == "kibana.alert.rule.rule_id"
    assert sorted(flt["meta"]["params"]) == sorted(r.rule_id for r in rules())
    assert len(flt["query"]["bool"]["should"]) == len(rules())


def test_identity_dashboard_reads_the_transform_index_with_a_baseline_band() -> None:
    obj = shipped()["cloud_secrets-identity"]
    band = panels(obj)[0]["embeddableConfig"]["attributes"]["state"]
    layer_types = [layer["layerType"] for layer in band["visualization"]["layers"]]
    assert layer_types == ["data", "referenceLine"]
    ops = {c["operationType"] for layer in band["datasourceStates"]["formBased"]["layers"].values()
           for c in layer["columns"].values()}
    assert {"date_histogram", "max", "median", "percentile", "static_value"} <= ops
    assert {v["title"] for v in band["adHocDataViews"].values()} == {transform.DEST_ALIAS}


def test_tags_are_declared_for_dashboards_only() -> None:
    """Fleet tags only Kibana's taggable saved-object types; `security_rule` would be accepted and ignored."""
    tags = yaml.safe_load((paths.PACKAGE / "kibana" / "tags.yml").read_text())
    assert {t["text"] for t in tags} == {"Security Solution", "Cloud Secrets"}
    assert all(t["asset_types"] == ["dashboard"] for t in tags)


def test_overview_is_limited_to_the_catalogs_data_streams() -> None:
    obj = shipped()["cloud_secrets-overview"]
    flt = obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]["filter"]
    by_key = {f["meta"]["key"]: f for f in flt}
    datasets = by_key["data_stream.dataset"]["meta"]["params"]
    assert set(datasets) == {op.dataset for op in catalog().operations} | {"cloud_secrets.secret_access"}
    assert by_key["tags"]["meta"]["params"] == {"query": "secret_access"}
    names = {r["name"] for r in obj["references"]}
    assert all(f["meta"]["indexRefName"] in names for f in flt)


def test_ad_hoc_data_views_allow_a_missing_index() -> None:
    """The summary index exists only after the transform's first checkpoint, the alerts index after the first
    alert: their panels must show no data, not an error."""
    for obj in shipped().values():
        for panel in panels(obj):
            for view in panel["embeddableConfig"]["attributes"]["state"]["adHocDataViews"].values():
                assert view["allowNoIndex"] is True, (obj["id"], panel["title"])


@pytest.mark.parametrize(("old", "new", "message"), [
    ("breakdown: cloud_secrets.provider", "breakdown: cloud_secrets.providers", "cloud_secrets.providers"),
    ("field: cloud_secrets.summary.failures", "field: cloud_secrets.secret.id", "cloud_secrets.secret.id"),
    ("chart: donut", "chart: pie", "chart"),
    ("id: cloud_secrets-alerts", "id: alerts", "id"),
])
def test_a_broken_definition_fails_with_file_and_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "dashboards.yml"
    text = (paths.CATALOG / "dashboards.yml").read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(UserError) as err:
        dashboards.load_dashboards(path)
    edited = text[:text.index(old)].count("\n") + 1
    assert "dashboards.yml:" in str(err.value) and message in str(err.value)
    reported = int(re.search(r"dashboards\.yml:(\d+)", str(err.value)).group(1))  # type: ignore[union-attr]
    assert edited - 12 <= reported <= edited  # the line of the broken panel (or the key itself)


def test_previews_render_every_dashboard_as_an_inline_png() -> None:
    docs = tagged_fixture_docs()
    alerts = dashboard_preview.alerts_from_backtest(
        [{"rule": "bulk_access_sequence", "identity": "alice", "start": "2026-03-02T10:00:00Z"},
         {"rule": "no_such_rule", "identity": "bob", "start": "2026-03-02T10:00:00Z"}])
    assert [a["kibana.alert.rule.name"] for a in alerts] == [next(r.name for r in rules()
                                                                  if r.slug == "bulk_access_sequence")]
    out = dashboard_preview.render_previews(docs, alerts=alerts)
    assert [title for title, _ in out] == [d.title for d in dashboards.dashboards()]
    for _, fragment in out:
        data = re.search(r'src="data:image/png;base64,([^"]+)"', fragment).group(1)  # type: ignore[union-attr]
        assert base64.b64decode(data).startswith(PNG)


def test_preview_panels_compute_what_the_lens_panel_asks() -> None:
    docs = tagged_fixture_docs()
    overview = next(d for d in dashboards.dashboards() if d.source == "events")
    recs = dashboard_preview.source_records(overview, docs, None)
    tagged = [d for d in docs if "secret_access" in d.get("tags", [])]
    assert sum(map(dashboard_preview.weight, recs)) == len(tagged) > 10
    top = next(p for p in overview.panels if p.id == "top_identities")
    got = {k: dashboard_preview.metric_value(top.metrics[0], rs)
           for k, rs in dashboard_preview.top_groups(top, recs, "cloud_secrets.identity", 100)}
    assert got == dict(Counter(d["cloud_secrets"]["identity"] for d in tagged))
    secrets = next(p for p in overview.panels if p.id == "top_secrets")  # where: outcome success
    kept = [r for r in recs if dashboard_preview.matches(secrets, r)]
    assert 0 < len(kept) < len(recs)
    assert all(r["cloud_secrets.outcome"] == "success" for r in kept)


@pytest.fixture(scope="module")
def tagged_days(two_day_sample: Any) -> list[dict[str, Any]]:
    """Two simulated days with every attack, tagged by the package's pipeline (conftest's session sample,
    which the backtest tests read too)."""
    return [json.loads(line) for line in two_day_sample.tagged.read_bytes().splitlines()]


@pytest.mark.engine
def test_the_digest_draws_what_the_documents_draw(tagged_days: list[dict[str, Any]]) -> None:
    """Weighted records of a Digest (the documents reduced to the panels' fields per hour, counted) give every
    overview panel the numbers the documents themselves give: tables, time series, donuts."""
    digest = dashboard_preview.Digest.of(tagged_days)
    overview = next(d for d in dashboards.dashboards() if d.source == "events")
    reduced = dashboard_preview.source_records(overview, digest, None)
    every = [dashboard_preview.flat(d) for d in tagged_days if baselines.is_secret_access(d)]
    assert sum(map(dashboard_preview.weight, reduced)) == len(every) and len(reduced) < len(every) * 0.8
    for panel in overview.panels:
        mine, theirs = ([r for r in recs if dashboard_preview.matches(panel, r)] for recs in (reduced, every))
        for m in panel.all_metrics():
            key = panel.rows or panel.breakdown
            if key:
                assert [(k, dashboard_preview.metric_value(m, rs)) for k, rs in
                        dashboard_preview.top_groups(panel, mine, key, 20)] == [
                    (k, dashboard_preview.metric_value(m, rs)) for k, rs in
                    dashboard_preview.top_groups(panel, theirs, key, 20)], (panel.id, m)
            if panel.chart in ("bars", "line"):
                assert dashboard_preview.series(panel, mine, m, False) == \
                    dashboard_preview.series(panel, theirs, m, False), (panel.id, m)
    rows = [dashboard_preview.flat(r) for r in baselines.summary_rows(tagged_days)]
    assert digest.summary_records() == rows and digest.summary_records() == rows  # the drill-down asks twice


def test_dashboards_preview_command_writes_pngs_and_a_page(tmp_path: Path) -> None:
    source = tmp_path / "tagged.ndjson"
    source.write_text("".join(json.dumps(d) + "\n" for d in tagged_fixture_docs()))
    result = CliRunner().invoke(dashboards_cmd, ["preview", "--out", str(tmp_path / "img"), str(source)])
    assert result.exit_code == 0, result.output
    for name in ("overview", "identity", "alerts"):
        assert (tmp_path / "img" / f"{name}.png").read_bytes().startswith(PNG)
    assert (tmp_path / "img" / "previews.html").read_text().count("data:image/png;base64,") == 3
    result = CliRunner().invoke(dashboards_cmd, ["preview", "--out", str(tmp_path / "x"), str(tmp_path / "none")])
    assert result.exit_code != 0


def test_readme_picture_exists() -> None:
    assert (paths.ROOT / "docs" / "img" / "overview.png").read_bytes().startswith(PNG)




def test_a_broken_alert_field_map_fails_with_file_and_line(tmp_path: Path) -> None:
    text = alert_fields.ALERT_FIELD_MAP.read_text(encoding="utf-8")
    path = tmp_path / "kibana_alert_fields.yml"
    path.write_text(text.replace("  user.name: keyword", "  user.name: [keyword]", 1))
    with pytest.raises(UserError, match=r"kibana_alert_fields\.yml:\d+.*user\.name"):
        alert_fields.alert_field_map.__wrapped__(path)
