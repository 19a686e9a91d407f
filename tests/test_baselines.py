"""Baselines: the identity_hourly transform's pivot, run as a composite aggregation on the engine over tagged
documents, gives the reference summary; the baseline statistics match the engine's; baseline_deviation's
logic fires on a sudden 30-secret hour and never on steady CI bursts."""

from __future__ import annotations

import fnmatch
import json
import random
import statistics
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import yaml

from cloud_secrets import paths
from cloud_secrets.assets import dashboards, transform
from cloud_secrets.assets.catalog import catalog
from cloud_secrets.assets.fields import field_types, load_fields
from cloud_secrets.assets.package_assets import SIMULATED_TAG
from cloud_secrets.assets.rules.loader import rules
from cloud_secrets.assets.transform import Margin
from cloud_secrets.elastic import pivot
from cloud_secrets.elastic.ingest import bulk_index
from cloud_secrets.elastic.tag import tag_documents
from cloud_secrets.evaluation import baselines
from cloud_secrets.evaluation.backtest import package_rules, run_lines, select
from cloud_secrets.evaluation.backtest.derived import DerivedRunner, runner_for
from cloud_secrets.evaluation.simulate import Options, generate
from cloud_secrets.evaluation.upstream import AwsIdentity, secrets_manager_event
from cloud_secrets.fieldpath import leaves
from cloud_secrets.timestamps import to_datetime

TRANSFORM_DIR = paths.PACKAGE / "elasticsearch" / "transform" / transform.TRANSFORM
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
ACCOUNT = "111122223333"
# the identities the pipeline derives for them (account-qualified)
CI_DEPLOY, CI_BATCH = f"{ACCOUNT}:role/ci-deploy", f"{ACCOUNT}:role/ci-batch"
REPORTING_APP, ALICE = f"{ACCOUNT}:user/reporting-app", f"{ACCOUNT}:user/alice"


def transform_body() -> dict[str, Any]:
    """The transform exactly as the package ships it."""
    return yaml.safe_load((TRANSFORM_DIR / "transform.yml").read_text(encoding="utf-8"))


def properties(types: dict[str, str]) -> dict[str, Any]:
    """Nested `properties` for dotted field names."""
    out: dict[str, Any] = {}
    for name, ftype in types.items():
        node = out
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = {"type": ftype}
    return out


def source_mappings(body: dict[str, Any]) -> dict[str, Any]:
    """Mappings for the fields the transform reads, typed as the package declares them."""
    defs = load_fields()
    types = {name: defs.lookup(name) for name in transform.fields_used(body)}
    assert None not in types.values(), f"the transform reads undeclared fields: {types}"
    return {"dynamic": False, "properties": properties(types)}  # type: ignore[arg-type]


@pytest.fixture
def index(es: Any) -> Iterator[str]:
    name = f"test-baselines-{uuid.uuid4().hex[:8]}"
    yield name
    es.delete(f"/{name}", params={"ignore_unavailable": "true"})


def index_docs(es: Any, name: str, mappings: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    es.put(f"/{name}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}, "mappings": mappings})
    for i in range(0, len(docs), 5000):
        bulk_index(es, name, docs[i:i + 5000])
    es.post(f"/{name}/_refresh")


def canonical(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, Any], ...]]:
    return sorted(tuple(sorted(leaves(r))) for r in rows)


# --- the simulated history: steady CI bursts for 14 days, one sudden hour --------------------------------

def _arn(name: str) -> str:
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}"


def history(days: int = 16, sudden: datetime | None = None) -> list[dict[str, Any]]:
    """Upstream-shaped CloudTrail documents (before tagging):

    - `ci-deploy`: a CI role reading the same 12 secrets on every run, 1-3 runs in most office hours and
      a nightly run, so its hours hold exactly 12 distinct secrets;
    - `ci-batch`: a CI role pulling its secrets with one BatchGetSecretValue by tag filter (20 unnamed
      values) per run, in office hours;
    - `reporting-app`: an application polling 1-2 of its 3 secrets every hour;
    - `alice`: a person reading 1-3 of 40 secrets in some office hours, and 30 distinct secrets in the
      `sudden` hour.
    """
    rng = random.Random(6)
    ci = AwsIdentity.assumed_role(ACCOUNT, "ci-deploy", "GitHubActions")
    batch = AwsIdentity.assumed_role(ACCOUNT, "ci-batch", "GitLabRunner")
    app = AwsIdentity.iam_user(ACCOUNT, "reporting-app")
    alice = AwsIdentity.iam_user(ACCOUNT, "alice")
    ci_secrets = [_arn(f"prod/deploy/s{i}") for i in range(12)]
    app_secrets = [_arn(f"prod/reporting/s{i}") for i in range(3)]
    all_secrets = [_arn(f"prod/team/s{i}") for i in range(60)]
    docs: list[dict[str, Any]] = []

    def read(ident: AwsIdentity, ts: datetime, secret: str, ip: str) -> None:
        docs.append(secrets_manager_event("GetSecretValue", ident, ts, secret_id=secret, source_address=ip))

    for h in range(days * 24):
        hour = START + timedelta(hours=h)
        office = hour.weekday() < 5 and 8 <= hour.hour < 18
        runs = rng.randint(1, 3) if office and rng.random() < 0.8 else int(hour.hour == 2)
        for _ in range(runs):
            t = hour + timedelta(minutes=rng.uniform(0, 50))
            for secret in ci_secrets:
                t += timedelta(seconds=rng.uniform(0.3, 5))
                read(ci, t, secret, "198.51.100.10")
        if office and rng.random() < 0.7:
            docs.append(secrets_manager_event(
                "BatchGetSecretValue", batch, hour + timedelta(minutes=rng.uniform(0, 59)),
                filters=[{"key": "tag-key", "values": ["ci"]}], max_results=20, source_address="198.51.100.20"))
        for secret in rng.sample(app_secrets, rng.randint(1, 2)):
            read(app, hour + timedelta(minutes=rng.uniform(0, 59)), secret, "10.0.0.5")
        if hour == sudden:
            t = hour + timedelta(minutes=3)
            for secret in rng.sample(all_secrets, 30):
                t += timedelta(seconds=rng.uniform(2, 60))
                read(alice, t, secret, "203.0.113.7")
        elif office and rng.random() < 0.3:
            for secret in rng.sample(all_secrets[:40], rng.randint(1, 3)):
                read(alice, hour + timedelta(minutes=rng.uniform(0, 59)), secret, "192.0.2.44")
    docs.sort(key=lambda d: d["@timestamp"])
    return docs


SUDDEN = START + timedelta(days=15, hours=14)  # a Tuesday afternoon, after 14 days of history


@pytest.fixture(scope="module")
def tagged_history(es: Any) -> list[dict[str, Any]]:
    return list(tag_documents(es, history(sudden=SUDDEN)))


@pytest.fixture(scope="module")
def tagged_mixed(es: Any) -> list[dict[str, Any]]:
    """Every attack once in a day of benign traffic, tagged by the package's pipeline."""
    docs = [doc for doc, _ in generate("all", Options(seed=3, days=1, identities=40))]
    return list(tag_documents(es, docs))


# --- the transform ---------------------------------------------------------------------------------------

def test_transform_reads_every_catalog_dataset_and_declared_fields() -> None:
    body = transform_body()
    assert body == transform.transform_body(catalog())  # the shipped file is the generated one
    datasets = {op.dataset for op in catalog().operations}
    assert set(body["source"]["index"]) == {f"logs-{d}-*" for d in datasets} | {"logs-cloud_secrets.secret_access-*"}
    assert body["pivot"]["group_by"]["@timestamp"]["date_histogram"]["fixed_interval"] == "1h"
    assert set(body["pivot"]["group_by"]) - {"@timestamp"} == set(transform.GROUP_BY)
    defs = load_fields()
    assert [f for f in transform.fields_used(body) if defs.lookup(f) is None] == []
    manifest = yaml.safe_load((TRANSFORM_DIR / "manifest.yml").read_text(encoding="utf-8"))
    assert manifest["start"] is True  # Fleet starts it on install
    # the rule's `FROM logs-...-*` and data views expand wildcards to visible indices only
    assert not manifest["destination_index_template"]["settings"]["index"].get("hidden", False)
    assert body["dest"]["index"].startswith(transform.DEST_PATTERN.rstrip("*"))


def test_transform_is_shipped_as_fleet_runs_it() -> None:
    """Fleet creates the transform as kibana_system unless `_meta.run_as_kibana_system` is false (Kibana
    `fleet/server/services/epm/elasticsearch/transform/install.ts`), and kibana_system cannot read the official
    data streams; unattended, it retries instead of failing; it syncs on `event.ingested` (set by Fleet's
    final pipeline), bucketing by `@timestamp`; a new destination index per transform version, read through
    one alias that moves to it when it is created."""
    body = transform_body()
    meta = body["_meta"]
    assert meta["run_as_kibana_system"] is False
    assert meta["fleet_transform_version"] == transform.TRANSFORM_VERSION
    assert body["settings"]["unattended"] is True and body["settings"]["deduce_mappings"] is False
    assert body["sync"]["time"]["field"] == "event.ingested"
    assert body["pivot"]["group_by"]["@timestamp"]["date_histogram"]["field"] == "@timestamp"
    assert body["retention_policy"]["time"]["field"] == "@timestamp"
    dest = body["dest"]
    assert dest["index"].endswith(f"-{meta['fleet_transform_version']}")  # a version bump creates a new index
    assert dest["aliases"] == [{"alias": transform.DEST_ALIAS, "move_on_creation": True}]
    assert not fnmatch.fnmatchcase(transform.DEST_ALIAS, transform.DEST_PATTERN)  # not a destination index


def test_every_reader_of_the_summary_uses_the_alias() -> None:
    """The rule's FROM, the dashboards' data views and the backtest's derived source all name the alias, never
    the destination indices (after a version bump those hold every hour twice)."""
    rule = next(r for r in rules() if r.slug == "baseline_deviation")
    assert rule.query.splitlines()[0] == f"FROM {transform.DEST_ALIAS}"
    views = set()
    for dash in dashboards.dashboards():
        if dash.source == "summary":
            saved = dashboards.saved_object(dash)
            for panel in saved["attributes"]["panelsJSON"]:
                ad_hoc = panel["embeddableConfig"]["attributes"]["state"]["adHocDataViews"]
                views |= {v["title"] for v in ad_hoc.values()}
    assert views == {transform.DEST_ALIAS}
    (packaged,) = select(package_rules(), ["baseline_deviation"])
    assert isinstance(runner_for(packaged), DerivedRunner)


def test_destination_fields_are_exactly_what_the_reference_rows_hold() -> None:
    rows = baselines.summary_rows(tag_free_rows())
    written = {name for row in rows for name, _ in leaves(row)}
    declared = set(transform.dest_field_types())
    assert written == declared
    shipped: dict[str, str] = {}
    for path in sorted((TRANSFORM_DIR / "fields").glob("*.yml")):
        shipped |= field_types(yaml.safe_load(path.read_text()))
    assert shipped == transform.dest_field_types()


def tag_free_rows() -> list[dict[str, Any]]:
    """Two hand-made tagged documents covering every summary field (no engine needed)."""
    base = {"@timestamp": "2026-03-02T10:15:00.000Z", "tags": ["secret_access"], "source": {"ip": "192.0.2.1"}}
    ident = {"identity": "x", "identity_type": "user", "provider": "aws", "outcome": "success"}
    return [
        {**base, "cloud_secrets": {**ident, "operation": "batch_read", "secret": {"count": 20}}},
        {**base, "cloud_secrets": {**ident, "operation": "read", "secret": {"id": ["a"], "count": 1}}},
    ]


@pytest.mark.engine
def test_pivot_as_composite_aggregation_equals_the_reference(es: Any, index: str,
                                                              tagged_mixed: list[dict[str, Any]]) -> None:
    body = transform_body()
    index_docs(es, index, source_mappings(body), tagged_mixed)
    engine_rows = pivot.composite_rows(es, index, body, size=200)  # several pages
    reference = baselines.summary_rows(tagged_mixed)
    assert len(reference) > 200
    assert canonical(engine_rows) == canonical(reference)
    totals = {name: sum(v for r in reference for n, v in leaves(r) if n == f"{transform.SUMMARY}.{name}")
              for name in ("failures", "lists", "batch_unnamed.secrets", "batch.calls", "read_success.secrets")}
    assert all(totals.values()), totals  # every kind of event is exercised


@pytest.mark.engine
def test_reference_skips_what_the_transform_query_skips(es: Any, tagged_mixed: list[dict[str, Any]]) -> None:
    untagged = [d for d in tagged_mixed if not baselines.is_secret_access(d)]
    assert untagged and baselines.summary_rows(untagged) == []


# --- the baseline statistics and the rule ----------------------------------------------------------------

@pytest.mark.engine
def test_baseline_statistics_match_the_engine(es: Any, index: str, tagged_history: list[dict[str, Any]]) -> None:
    """The rule's per-identity median and MAD of past hours, computed by Elasticsearch's own percentiles
    and median_absolute_deviation aggregations over the summary rows, equal the reference's."""
    rows = baselines.summary_rows(tagged_history)
    mappings = {"dynamic": False, "properties": properties(transform.dest_field_types())}
    index_docs(es, index, mappings, rows)
    now = SUDDEN + timedelta(hours=2, minutes=5)
    secrets = {"source": f"doc['{transform.SUMMARY}.read_success.secrets'].value + "
                         f"doc['{transform.SUMMARY}.batch_unnamed.secrets'].value"}
    past = {"range": {"@timestamp": {"gte": (now - timedelta(days=14)).isoformat(),
                                     "lte": (now - timedelta(minutes=140)).isoformat()}}}
    result = es.post(f"/{index}/_search", {"size": 0, "query": past, "aggs": {"id": {
        "terms": {"field": "cloud_secrets.identity", "size": 100},
        "aggs": {"median": {"percentiles": {"script": secrets, "percents": [50]}},
                 "mad": {"median_absolute_deviation": {"script": secrets}}}}}})
    engine = {b["key"]: (b["median"]["values"]["50.0"], b["mad"]["value"], b["doc_count"])
              for b in result["aggregations"]["id"]["buckets"]}
    expected = {}
    for identity in engine:
        values = [baselines.secrets_in_hour(r) for r in rows if r["cloud_secrets"]["identity"] == identity
                  and now - timedelta(days=14) <= to_datetime(r["@timestamp"]) <= now - timedelta(minutes=140)]
        expected[identity] = (statistics.median(values), baselines.mad(values), len(values))
    assert set(engine) == {CI_DEPLOY, CI_BATCH, REPORTING_APP, ALICE}
    for identity, (median, mad, hours) in engine.items():
        assert hours == expected[identity][2]
        assert median == pytest.approx(expected[identity][0], abs=0.5), identity  # t-digest interpolation
        assert mad == pytest.approx(expected[identity][1], abs=0.5), identity


@pytest.mark.engine
def test_rule_fires_on_the_sudden_hour_only(tagged_history: list[dict[str, Any]]) -> None:
    rows = baselines.summary_rows(tagged_history)
    by_identity: dict[str, list[int]] = {}
    for row in rows:
        by_identity.setdefault(row["cloud_secrets"]["identity"], []).append(baselines.secrets_in_hour(row))
    assert set(by_identity[CI_DEPLOY]) == {12} and set(by_identity[CI_BATCH]) == {20}  # steady bursts
    fired = list(baselines.hourly_runs(rows))
    # 16 days of hourly runs: each CI role fires once, on its very first hour (no history yet, held to the
    # floor), then never again; alice fires on the sudden hour only
    assert [(d.identity, d.baseline_hours) for _, d in fired[:2]] == [(CI_DEPLOY, 0), (CI_BATCH, 0)]
    assert fired[0][0] < START + timedelta(days=1) and fired[1][0] < START + timedelta(days=1)
    assert [(d.identity, d.current_hour, d.current_secrets) for _, d in fired[2:]] == [
        (ALICE, SUDDEN.strftime("%Y-%m-%dT%H:00:00.000Z"), 30)]
    assert baselines.judged_hours(rows) == fired  # the one-pass version used by backtests
    lines = baselines.backtest_alerts(rows)
    assert [(a["rule"], a["identity"], a["event_count"]) for a in lines][2:] == [("baseline_deviation", ALICE, 30)]
    run, dev = fired[2]
    assert run == SUDDEN + timedelta(hours=2, minutes=5)
    assert dev.limit == 10 and dev.baseline_hours > 20
    # a fixed limit at the floor would page on every CI run: the identities' own baselines keep them quiet
    assert min(by_identity[CI_DEPLOY] + by_identity[CI_BATCH]) > Margin().floor


def test_rule_query_carries_the_reference_margin() -> None:
    rule = next(r for r in rules() if r.slug == "baseline_deviation")
    m = Margin()
    assert f"EVAL floor = {m.floor}, k = {int(m.k)}" in rule.query
    assert f"NOW() - {m.history.days} days" in rule.query
    assert f"NOW() - {int(m.recent_from.total_seconds() // 60)} minutes" in rule.query
    assert f"NOW() - {int(m.recent_to.total_seconds() // 60)} minutes" in rule.query
    assert f"FROM {transform.DEST_ALIAS}" in rule.query
    assert rule.interval == "1h" and rule.lookback == f"{m.history.days}d"


def _backtest_key(alert: dict[str, Any]) -> tuple[Any, ...]:
    f = alert["fields"]
    return (alert["identity"], f["current_hour"], f["current_secrets"], f["limit"], f["baseline_median"],
            f["baseline_mad"], f["baseline_hours"], alert["detected_at"])


def _reference_key(line: dict[str, Any]) -> tuple[Any, ...]:
    return (line["identity"], line["start"], line["event_count"], line["limit"], line["baseline_median"],
            line["baseline_mad"], line["baseline_hours"], line["run"])


@pytest.fixture(scope="module")
def history_file(tagged_history: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("baselines") / "history.tagged.jsonl"
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in tagged_history))
    return path


@pytest.mark.engine
def test_backtest_cli_fires_on_the_sudden_hour_not_on_ci_bursts(tagged_history: list[dict[str, Any]],
                                                               history_file: Any) -> None:
    """`cloud-secrets backtest --json` over the tagged events: the summary rows are derived from them hour by
    hour and the rule's own ES|QL runs hourly over them. CI roles fire only on their first hour (no history:
    the floor applies), alice on her 30-secret hour, whose alert holds exactly her 30 reads of that hour."""
    out = subprocess.run([sys.executable, "-c", "from cloud_secrets.cli.main import main; main()", "backtest",
                          str(history_file), "--json", "--rule", "baseline_deviation"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    alerts = [json.loads(x) for x in out.stdout.splitlines()]
    assert [(a["identity"], a["fields"]["baseline_hours"]) for a in alerts[:2]] == [(CI_DEPLOY, 0), (CI_BATCH, 0)]
    assert [(a["identity"], a["fields"]["current_hour"], a["fields"]["current_secrets"]) for a in alerts[2:]] == [
        (ALICE, SUDDEN.strftime("%Y-%m-%dT%H:00:00.000Z"), 30)]
    sudden = alerts[2]
    assert sudden["detected_at"] == (SUDDEN + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    in_hour = [n for n, d in enumerate(tagged_history, start=1) if d["cloud_secrets"]["identity"] == ALICE
               and SUDDEN <= to_datetime(d["@timestamp"]) < SUDDEN + timedelta(hours=1)]
    assert sudden["lines"] == in_hour and len(in_hour) == 30 and sudden["event_count"] == 30


@pytest.mark.engine
def test_the_rules_esql_in_the_backtest_agrees_with_the_reference(tagged_history: list[dict[str, Any]],
                                                                  history_file: Any) -> None:
    """The backtest (the rule's own ES|QL text, run hourly on the hour over the summary rows it derives from
    the stream) raises exactly the alerts of the Python reference over `summary_rows` of the whole history;
    the rows its source writes are those rows, each once, with at most two hours open at a time."""
    from cloud_secrets.evaluation.backtest import package_rules, run_file, select
    from cloud_secrets.evaluation.backtest.derived import DERIVED
    from cloud_secrets.evaluation.backtest.events import Event
    from cloud_secrets.timestamps import to_ms

    rows = baselines.summary_rows(tagged_history)
    result = run_file(str(history_file), select(package_rules(), ["baseline_deviation"]))
    assert result.judged_rules() == ["baseline_deviation"]
    got = [_backtest_key(a.to_json()) for a in result.alerts]
    expected = [_reference_key(line) for line in baselines.backtest_alerts(rows, run_minute=0)]
    assert got == expected and len(expected) == 3

    source = DERIVED[transform.DEST_INDEX]()
    written: list[dict[str, Any]] = []
    most_open = 0
    for i, doc in enumerate(tagged_history):
        ts = to_ms(doc["@timestamp"])
        for at, batch in source.due(ts):
            assert at <= ts and all(at == r.ts + 80 * 60_000 for r in batch)  # hour + 1h + delay + frequency
            written += [r.doc for r in batch]
        source.feed(Event(i, i + 1, ts, doc))
        most_open = max(most_open, len({key[0] for key in source.open}))
    written += [r.doc for _, batch in source.due(None) for r in batch]
    assert written == rows and most_open <= 2


# --- what the installing user must be told ---------------------------------------------------------------

INSTALL_DOCS = (paths.ROOT / "docs" / "baselines.md", paths.ROOT / "catalog" / "templates" / "package_readme.md",
                paths.PACKAGE / "docs" / "README.md", paths.ROOT / "README.md")


def privileges_missing(text: str, body: dict[str, Any]) -> list[str]:
    """What a document fails to name of the privileges the transform needs when it runs as the installing
    user (Elasticsearch's transform setup: `manage_transform`; read, view_index_metadata on every source;
    create_index, index, manage, read, delete on the destination and its alias) and of Fleet's way out."""
    needed = ["manage_transform", "`read`", "`view_index_metadata`", "`create_index`", "`index`", "`manage`",
              "`delete`", "run_as_kibana_system: false", "Reauthorize",
              transform.DEST_PATTERN.rstrip("-*") + "*", *(f"`{i}`" for i in body["source"]["index"])]
    return [n for n in needed if n not in text]


def test_install_docs_name_the_privileges_and_reauthorize() -> None:
    body = transform_body()
    assert body["_meta"]["run_as_kibana_system"] is False
    for path in INSTALL_DOCS:
        assert privileges_missing(path.read_text(encoding="utf-8"), body) == [], path
    # a source the docs do not name is caught
    extra = {**body, "source": {**body["source"], "index": [*body["source"]["index"], "logs-okta.system-*"]}}
    assert privileges_missing(INSTALL_DOCS[0].read_text(encoding="utf-8"), extra) == ["`logs-okta.system-*`"]


def test_replayed_documents_stay_out_of_the_baselines() -> None:
    doc = {"@timestamp": "2026-03-02T10:00:00Z", "tags": ["secret_access"],
           "cloud_secrets": {"operation": "read", "identity": "a", "identity_type": "role", "provider": "aws",
                             "outcome": "success", "secret": {"id": ["s"], "count": 1}}}
    assert baselines.is_secret_access(doc) and len(baselines.summary_rows([doc])) == 1
    replayed = {**doc, "tags": ["secret_access", SIMULATED_TAG]}
    assert not baselines.is_secret_access(replayed) and baselines.summary_rows([replayed]) == []
    assert {"term": {"tags": SIMULATED_TAG}} in transform.SOURCE_QUERY["bool"]["must_not"]


# --- one identity on two clouds in one hour ----------------------------------------------------------------

MULTI = "deploy@example.com"


def two_cloud_history(sudden_per_cloud: int = 9) -> list[dict[str, Any]]:
    """Tagged documents as the field contract (DESIGN.md) describes them: one person reading Secrets Manager
    and Secret Manager in the same hours, 4 distinct secrets on each cloud for 20 hours, then 9 on each. The
    transform writes two rows per hour (its groups include the provider): the identity's hour is their sum."""
    docs: list[dict[str, Any]] = []
    ids = {"aws": "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/{n}",
           "gcp": "projects/p1/secrets/app-{n}"}
    datasets = {"aws": "aws.cloudtrail", "gcp": "gcp.audit"}

    def hour(start: datetime, per_cloud: int) -> None:
        for n in range(per_cloud):
            for k, (provider, form) in enumerate(ids.items()):
                at = start + timedelta(minutes=2 * n + k)
                docs.append({"@timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "tags": ["secret_access"],
                             "data_stream": {"type": "logs", "dataset": datasets[provider],
                                             "namespace": "default"},
                             "source": {"ip": "192.0.2.7"},
                             "cloud_secrets": {"identity": MULTI, "identity_type": "user", "provider": provider,
                                               "operation": "read", "outcome": "success",
                                               "secret": {"id": [form.format(n=n)], "count": 1}}})

    for h in range(20):
        hour(START + timedelta(hours=h), 4)
    hour(START + timedelta(hours=24), sudden_per_cloud)
    return docs


def test_an_identity_hour_on_two_clouds_is_one_hour() -> None:
    """20 hours of 8 secrets (4 per cloud) set a limit of max(10, 8 + 8) = 16; the hour of 18 (9 per cloud) is
    above it. Counting each row as an hour (median 4, limit 10, current 9, as version 2 did) misses it. The
    reference and the rule's own ES|QL in the backtest agree."""
    docs = two_cloud_history()
    rows = baselines.summary_rows(docs)
    assert len(rows) == 42  # two rows an hour
    fired = baselines.judged_hours(rows, run_minute=0)
    assert [(d.identity, d.current_secrets, d.baseline_hours, d.baseline_median, d.limit) for _, d in fired] == [
        (MULTI, 18, 20, 8, 16)]
    assert baselines.judged_hours(rows) == list(baselines.hourly_runs(rows))
    result = run_lines((orjson.dumps(d) for d in docs), "two-clouds",
                       select(package_rules(), ["baseline_deviation"]))
    assert [_backtest_key(a.to_json()) for a in result.alerts] == [
        _reference_key(line) for line in baselines.backtest_alerts(rows, run_minute=0)]
    assert result.alerts[0].fields["providers"] == ["aws", "gcp"]
    assert len(result.alerts[0].lines) == 18  # both clouds' reads of the hour
    # below the limit on the sum, nothing fires
    quiet = baselines.summary_rows(two_cloud_history(sudden_per_cloud=8))
    assert baselines.judged_hours(quiet) == []
