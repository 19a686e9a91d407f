"""ES|QL, threshold and new_terms in the backtest; Kibana's schedule; the byte prefilter."""

from __future__ import annotations

import pytest

from backtest_helpers import MIN, T0, ev, rule, run_events
from cloud_secrets.errors import UserError
from cloud_secrets.evaluation.backtest.alert_index import reads_alerts
from cloud_secrets.evaluation.backtest.conditions import whole
from cloud_secrets.evaluation.backtest.derived import runner_for
from cloud_secrets.evaluation.backtest.esql_compile import compile_esql
from cloud_secrets.evaluation.backtest.esql_values import percentile
from cloud_secrets.evaluation.backtest.lucene_compile import compile_lucene
from cloud_secrets.evaluation.backtest.prefilter import cover, line_test, needles
from cloud_secrets.evaluation.backtest.rulepack import package_rules, seed_as_written

HOUR = 60 * MIN

DISTINCT = """FROM logs-*
| WHERE event.action IN ("GetSecretValue", "BatchGetSecretValue") AND cloud_secrets.outcome == "success"
| EVAL unnamed = CASE(cloud_secrets.secret.id IS NULL, cloud_secrets.secret.count, 0)
| STATS distinct = COUNT_DISTINCT(cloud_secrets.secret.id), unnamed = SUM(unnamed), calls = COUNT(*),
        ids = COUNT(cloud_secrets.secret.id), earliest = MIN(@timestamp), providers = VALUES(cloud_secrets.provider)
  BY cloud_secrets.identity
| EVAL secrets = distinct + unnamed
| WHERE secrets >= 5
| KEEP cloud_secrets.identity, secrets, distinct, unnamed, calls, ids, earliest, providers"""


def read(i: int, ts: int, who: str = "app", secret: object = None, **extra: object) -> object:
    fields = {"event.action": "GetSecretValue", "cloud_secrets.outcome": "success", "cloud_secrets.identity": who,
              "cloud_secrets.provider": "aws", "source.ip": "10.0.0.1", **extra}
    if secret is not None:
        fields["cloud_secrets.secret.id"] = secret
    return ev(i, ts, **fields)


def test_esql_stats_with_multi_values_nulls_and_case() -> None:
    events = [read(0, T0, secret=["s1", "s2"]), read(1, T0 + MIN, secret="s3"),
              read(2, T0 + 2 * MIN, **{"event.action": "BatchGetSecretValue", "cloud_secrets.secret.count": 20}),
              read(3, T0 + 3 * MIN, secret="s9", **{"event.action": "getsecretvalue"})]  # IN is case-sensitive
    alerts = run_events(rule("esql", DISTINCT, interval_ms=10 * MIN, lookback_ms=HOUR), events)
    first = alerts[0]
    # COUNT(field) counts values; COUNT_DISTINCT sees every value of a multi-valued field; SUM skips nulls
    assert first.fields["distinct"] == 3 and first.fields["ids"] == 3 and first.fields["calls"] == 3
    assert first.fields["unnamed"] == 20 and first.fields["secrets"] == 23
    assert first.fields["providers"] == "aws" and first.event_count == 3 and first.events == [0, 1, 2]
    assert first.identity == "app" and first.detected_at == T0 + 10 * MIN
    # Kibana does not deduplicate aggregating ES|QL alerts: every run whose 60-minute window holds the
    # events raises the row again (runs at T0+10m ... T0+60m).
    assert len(alerts) == 6
    assert [a.detected_at for a in alerts] == [T0 + k * 10 * MIN for k in range(1, 7)]


def test_esql_where_on_multi_valued_field_is_null() -> None:
    # ES|QL: a single-value comparison on a multi-valued field returns null (with a warning), so WHERE drops
    # the row (https://www.elastic.co/guide/en/elasticsearch/reference/current/esql-multivalued-fields.html).
    query = 'FROM logs-* | WHERE cloud_secrets.secret.id == "s1" | STATS n = COUNT(*)'
    single = run_events(rule("esql", query), [read(0, T0, secret="s1")])
    multi = run_events(rule("esql", query), [read(0, T0, secret=["s1", "s2"])])
    assert single[0].fields["n"] == 1
    assert multi[0].fields["n"] == 0  # STATS without BY still returns one row


def test_esql_stats_by_multi_valued_field_groups_each_value() -> None:
    query = "FROM logs-* | STATS n = COUNT(*) BY cloud_secrets.secret.id | SORT cloud_secrets.secret.id"
    alerts = run_events(rule("esql", query, interval_ms=HOUR, lookback_ms=HOUR),
                        [read(0, T0 + MIN, secret=["a", "b"]), read(1, T0 + 2 * MIN, secret="b")])
    assert [(a.fields["cloud_secrets.secret.id"], a.fields["n"]) for a in alerts] == [("a", 1), ("b", 2)]


def test_buffered_rows_keep_only_what_the_steps_up_to_stats_read() -> None:
    # STATS makes rows of its own columns, so a buffered row keeps the fields the per-run steps read up to the
    # first STATS and no others; a document field named like a later column (`secrets`) changes nothing.
    plan = compile_esql(DISTINCT)
    assert plan.columns == ["@timestamp", "cloud_secrets.identity", "cloud_secrets.provider",
                            "cloud_secrets.secret.id", "unnamed"]
    events = [read(i, T0 + i * MIN, secret=f"s{i}", secrets=1000, calls=-1) for i in range(5)]
    alerts = run_events(rule("esql", DISTINCT, interval_ms=10 * MIN, lookback_ms=HOUR), events)
    assert (alerts[0].fields["secrets"], alerts[0].fields["calls"]) == (5, 5)
    # without STATS, a row's columns are its alert's fields: every name the query reads or writes is kept
    plain = compile_esql("FROM logs-* | WHERE cloud_secrets.outcome == \"success\" | EVAL n = NOW() | KEEP source.ip")
    assert plain.columns == ["cloud_secrets.outcome", "n", "source.ip"]


BASELINE = """FROM logs-*
| WHERE @timestamp >= NOW() - 14 days
| EVAL past = CASE(@timestamp < NOW() - 2 hours, n, null), recent = CASE(@timestamp >= NOW() - 2 hours, n, null)
| STATS med = MEDIAN(past), mad = MEDIAN_ABSOLUTE_DEVIATION(past), p90 = PERCENTILE(past, 90), hours = COUNT(past),
        current = MAX(recent), hour = BUCKET(MAX(@timestamp), 1 hour) BY who
| EVAL floor = 10, k = 4
| EVAL limit = CASE(med IS NULL, floor, med + k * mad < floor, floor, med + k * mad)
| WHERE current > limit
| SORT current DESC
| LIMIT 1
| KEEP who, current, limit, med, mad, p90, hours"""


def test_esql_baseline_functions_now_sort_limit_keep() -> None:
    with pytest.raises(UserError, match="BUCKET"):
        compile_esql(BASELINE)  # BUCKET over an aggregate is not an aggregate call
    query = BASELINE.replace(", hour = BUCKET(MAX(@timestamp), 1 hour)", "")
    history = [1, 2, 2, 3, 4, 2, 2]
    events = [ev(i, T0 + i * HOUR, who="ci", n=n) for i, n in enumerate(history)]
    events += [ev(7, T0 + 8 * HOUR, who="ci", n=40), ev(8, T0 + 8 * HOUR + MIN, who="quiet", n=11),
               ev(9, T0 + 8 * HOUR + 2 * MIN, who="app", n=3)]
    alerts = run_events(rule("esql", query, interval_ms=HOUR, lookback_ms=14 * 24 * HOUR), events)
    first = alerts[0].fields
    assert first == {"who": "ci", "current": 40, "limit": 10, "med": 2.0, "mad": 0.0, "p90": 3.4000000000000004,
                     "hours": 7}
    assert {a.fields["who"] for a in alerts} == {"ci"}  # SORT current DESC | LIMIT 1: the top row per run
    wider = run_events(rule("esql", query.replace("LIMIT 1", "LIMIT 5"), interval_ms=HOUR,
                            lookback_ms=14 * 24 * HOUR), events)
    assert {a.fields["who"] for a in wider} == {"ci", "quiet"}  # "app" (3) stays under the floor of 10


def test_percentile_interpolates() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([], 50) is None


def test_esql_date_bucket_and_truncate() -> None:
    query = ("FROM logs-* | EVAL day = DATE_TRUNC(1 day, @timestamp) "
             "| STATS n = COUNT(*) BY hour = BUCKET(@timestamp, 1 hour), day")
    alerts = run_events(rule("esql", query, interval_ms=3 * HOUR, lookback_ms=3 * HOUR),
                        [ev(0, T0 + 5 * MIN), ev(1, T0 + 65 * MIN), ev(2, T0 + 70 * MIN)])
    first_run = [a for a in alerts if a.detected_at == T0 + 3 * HOUR]
    assert sorted((a.fields["hour"] - T0, a.fields["n"]) for a in first_run) == [(0, 1), (HOUR, 2)]
    assert all(a.fields["day"] == T0 for a in first_run)


@pytest.mark.parametrize("query", ["FROM logs-* | DISSECT a \"%{b}\"", "FROM logs-* | EVAL x = SUBSTRING(a, 1)",
                                   "FROM logs-* | STATS x = TOP(a, 1, \"asc\")"])
def test_unsupported_esql_is_refused_by_name(query: str) -> None:
    with pytest.raises(UserError, match="ES\\|QL"):
        compile_esql(query)


THRESHOLD = {"field": ["cloud_secrets.identity"], "value": 10,
             "cardinality": [{"field": "cloud_secrets.secret.id", "value": 5}]}
FAILED = 'cloud_secrets.outcome:"failure" AND event.action:("GetSecretValue" OR "SecretGet")'


def failures(n: int, distinct: int, start: int = T0, who: str = "probe") -> list[object]:
    return [read(i, start + i * MIN, who=who, secret=f"s{i % distinct}", **{"cloud_secrets.outcome": "failure"})
            for i in range(n)]


def test_threshold_with_cardinality_alerts_once_per_bucket() -> None:
    r = rule("threshold", FAILED, language="lucene", threshold=THRESHOLD)
    alerts = run_events(r, failures(12, 5))
    # Later runs whose windows still hold these events do not count them again (signal history).
    assert len(alerts) == 1
    assert alerts[0].identity == "probe" and alerts[0].event_count == 10 and alerts[0].detected_at == T0 + 10 * MIN
    assert run_events(r, failures(12, 4)) == []  # 4 distinct secrets: cardinality not reached
    assert run_events(r, failures(9, 9)) == []


def test_threshold_query_is_case_sensitive_on_keywords() -> None:
    r = rule("threshold", FAILED, language="lucene", threshold=THRESHOLD)
    events = failures(12, 6)
    for e in events:
        e.doc["event"]["action"] = "getsecretvalue"
    assert run_events(r, events) == []


def test_new_terms_alerts_on_combinations_unseen_in_the_history_window() -> None:
    r = rule("new_terms", 'event.action:"GetSecretValue"', language="lucene",
             new_terms_fields=["cloud_secrets.identity", "cloud_secrets.secret.id"], history_ms=14 * 24 * HOUR)
    day = 24 * HOUR
    events = [read(0, T0, secret="a"), read(1, T0 + day, secret="a"), read(2, T0 + day, secret=["a", "b"]),
              read(3, T0 + 20 * day, secret="a"), read(4, T0 + 20 * day + 1, who="other", secret="a"),
              read(5, T0 + 21 * day)]  # no secret id: no term, no alert
    alerts = run_events(r, events)
    assert [(a.events, a.fields["new_terms"]) for a in alerts] == [
        ([0], ["app", "a"]), ([2], ["app", "b"]), ([3], ["app", "a"]), ([4], ["other", "a"])]


def test_schedule_runs_through_idle_time_and_after_the_last_event() -> None:
    r = rule("esql", "FROM logs-* | STATS n = COUNT(*) | WHERE n > 0", interval_ms=10 * MIN, lookback_ms=10 * MIN)
    runner = runner_for(r)
    for e in [ev(0, T0 + MIN), ev(1, T0 + 30 * 24 * HOUR)]:
        runner.advance(e.ts)
        runner.feed(e)
    runner.finish()
    assert [(a.detected_at, a.fields["n"]) for a in runner.alerts] == [(T0 + 10 * MIN, 1),
                                                                      (T0 + 30 * 24 * HOUR + 10 * MIN, 1)]


def test_prefilter_is_derived_from_the_parsed_pack() -> None:
    runners = [runner_for(r) for r in [*package_rules(), seed_as_written()]]
    found = needles(r.line_literals() for r in runners if not reads_alerts(r))  # alert readers read no line
    # HashiCorp Vault's event.action is the request operation (`read`, `list`): short needles of their own;
    # secret_read_after_sign_in adds the sign-in actions (ConsoleLogin, AssumeRole*, GenerateAccessToken, SignJwt)
    assert found is not None and 0 < len(found) <= 10
    test = line_test(found)
    assert test is not None
    for action in ("GetSecretValue", "SecretList", "google.cloud.secretmanager.v1.SecretManagerService.ListSecrets"):
        assert test(b'{"event":{"action":"' + action.encode() + b'"}}')
    assert not test(b'{"event":{"action":"DescribeInstances","dataset":"aws.cloudtrail"}}')


def test_whole_values_are_searched_between_quotes() -> None:
    """`cloud_secrets.operation IN ("read", "list")` needs the JSON strings "read" or "list", not the letters:
    every CloudTrail line has `"read_only":` and was parsed for nothing before (make bench's production mix:
    97% of its lines are other services' calls). An escaped spelling still gets through, parsing decides."""
    plan = compile_esql('FROM logs-* | WHERE cloud_secrets.operation IN ("read", "list") | KEEP @timestamp')
    found = needles([plan.literals])
    assert found is not None and b'"read"' in found and b'"list"' in found
    test = line_test(found)
    assert test is not None
    assert test(b'{"cloud_secrets":{"operation":"read"}}') and test(b'{"x":["a","list"]}')
    assert not test(b'{"aws":{"cloudtrail":{"read_only":true}},"event":{"action":"ListBuckets"}}')
    assert test(b'{"cloud_secrets":{"operation":"re\\u0061d"}}')  # parsing decides
    # a term that reads as a number may be an unquoted number in the line: no quotes for it
    _, number, _ = compile_lucene("destination.port:443")
    _, word, _ = compile_lucene("event.action:GetSecretValue")
    assert needles([number]) == [b"443", b"\\u00"] and needles([word]) == [b'"GetSecretValue"', b"\\u00"]


def test_cover_keeps_words_without_a_shared_part() -> None:
    assert cover((b"GetSecretValue", b"ListSecrets", b"xyz")) == [b"xyz", b"tSecret"]
    assert needles([frozenset({"a"}), None]) is None


def test_rules_come_from_the_package_assets_with_their_slugs() -> None:
    rules = {r.slug: r for r in package_rules()}
    assert {"bulk_access_sequence", "bulk_access_distinct_secrets", "enumerate_then_retrieve",
            "failed_access_spray", "first_seen_secret_access"} <= set(rules)
    seq = rules["bulk_access_sequence"]
    assert (seq.type, seq.interval_ms, seq.lookback_ms) == ("eql", 60 * MIN, 120 * MIN)
    assert seq.building_block and not rules["secret_access_signals_per_identity"].building_block
    assert rules["first_seen_secret_access"].history_ms == 14 * 24 * HOUR
    for r in rules.values():
        runner_for(r)  # every rule of the pack compiles
    seed = seed_as_written()
    assert "azure.activitylogs" in seed.query and "logs-azure.activitylogs-*" in seed.index


def test_only_a_pattern_naming_the_summary_index_reads_the_derived_rows() -> None:
    """`FROM logs-cloud_secrets.identity_hourly-*` is fed the transform's rows; `logs-*`, which also matches
    the summary index, reads raw events; a query mixing the summary with raw indices is refused."""
    from cloud_secrets.evaluation.backtest.derived import DerivedRunner

    summary = "FROM logs-cloud_secrets.identity_hourly-* | STATS n = COUNT(*) BY cloud_secrets.identity"
    wrapped = runner_for(rule("esql", summary, interval_ms=HOUR))
    assert isinstance(wrapped, DerivedRunner) and "logs-aws.cloudtrail-*" in wrapped.index
    assert wrapped.line_literals() == whole(["secret_access"])  # the tag, a whole value: `"secret_access"`
    assert not isinstance(runner_for(rule("esql", DISTINCT)), DerivedRunner)
    with pytest.raises(UserError, match="cannot mix the derived index"):
        runner_for(rule("esql", summary.replace("FROM logs-cloud_secrets.identity_hourly-*",
                                                "FROM logs-cloud_secrets.identity_hourly-*, logs-aws.cloudtrail-*")))


def test_an_allowlist_filters_the_summary_rows_as_kibana_filters_the_rules_source() -> None:
    """Kibana adds a rule's exception to its own query, here over summary rows: listed identities' rows are
    left out; an item that also names addresses matches no row (rows have no source.ip), so nothing is."""
    import orjson

    from cloud_secrets.evaluation.backtest.exceptions import ExceptionFilter
    from cloud_secrets.evaluation.backtest.run import run_lines

    summary = "FROM logs-cloud_secrets.identity_hourly-* | STATS n = COUNT(*) BY cloud_secrets.identity"
    docs = [ev(i, T0 + i * 10 * MIN, tags=["secret_access"], **{
        "cloud_secrets.operation": "read", "cloud_secrets.outcome": "success", "cloud_secrets.identity": who,
        "cloud_secrets.identity_type": "user", "cloud_secrets.provider": "aws", "source.ip": "10.0.0.1",
        "@timestamp": T0 + i * 10 * MIN}) for i, who in enumerate(["alice", "bob"] * 6)]

    def alerted(exceptions: ExceptionFilter | None) -> set[str | None]:
        r = rule("esql", summary, interval_ms=HOUR, lookback_ms=24 * HOUR, exceptions=exceptions)
        lines = [orjson.dumps(e.doc) for e in docs]  # through run.py, which filters what it routes by exceptions
        return {a.identity for a in run_lines(lines, "t.jsonl", [r]).alerts}

    assert alerted(None) == {"alice", "bob"}
    assert alerted(ExceptionFilter(frozenset({"alice"}))) == {"bob"}
    import ipaddress

    assert alerted(ExceptionFilter(frozenset({"alice"}), (ipaddress.ip_network("10.0.0.0/8"),))) == {"alice", "bob"}


def test_rules_over_the_summary_share_one_transform_and_each_reads_every_row() -> None:
    """The transform runs once per run however many rules read its summary; each rule is handed every row,
    as when it runs alone (with an allowlist on one rule that leaves the other's rows alone)."""
    import orjson

    from cloud_secrets.evaluation.backtest.derived import runners_for
    from cloud_secrets.evaluation.backtest.exceptions import ExceptionFilter
    from cloud_secrets.evaluation.backtest.run import run_lines

    counts = "FROM logs-cloud_secrets.identity_hourly-* | STATS n = COUNT(*) BY cloud_secrets.identity"
    hours = "FROM logs-cloud_secrets.identity_hourly.latest | STATS h = MAX(@timestamp) BY cloud_secrets.identity"
    pack = [rule("esql", counts, slug="counts", interval_ms=HOUR, lookback_ms=24 * HOUR,
                 exceptions=ExceptionFilter(frozenset({"alice"}))),
            rule("esql", hours, slug="hours", interval_ms=2 * HOUR, lookback_ms=3 * HOUR)]
    docs = [ev(i, T0 + i * 17 * MIN, tags=["secret_access"], **{
        "cloud_secrets.operation": "read", "cloud_secrets.outcome": "success", "cloud_secrets.identity": who,
        "cloud_secrets.identity_type": "user", "cloud_secrets.provider": "aws", "source.ip": "10.0.0.1",
        "@timestamp": T0 + i * 17 * MIN}) for i, who in enumerate(["alice", "bob", "carol"] * 12)]
    lines = [orjson.dumps(e.doc) for e in docs]

    def rows(result_alerts: list[object]) -> list[tuple[object, ...]]:
        return sorted((a.rule, a.identity, a.detected_at, tuple(sorted(a.fields.items())), tuple(a.lines))
                      for a in result_alerts)  # type: ignore[attr-defined]

    together = run_lines(lines, "t.jsonl", pack).alerts
    alone = [a for r in pack for a in run_lines(lines, "t.jsonl", [r]).alerts]
    assert rows(together) == rows(alone)
    assert {a.rule for a in together} == {"counts", "hours"} and len(together) > 20
    assert "alice" not in {a.identity for a in together if a.rule == "counts"}
    shared = runners_for(pack)
    assert shared[0].source is shared[1].source  # type: ignore[attr-defined]


SLICED = """FROM logs-*
| WHERE cloud_secrets.outcome == "success"
| STATS n = COUNT(*), ids = COUNT_DISTINCT(cloud_secrets.secret.id),
        named = COUNT(*) WHERE cloud_secrets.secret.id IS NOT NULL, secrets = VALUES(cloud_secrets.secret.id),
        med = MEDIAN(size), total = SUM(size), earliest = MIN(@timestamp)
  BY cloud_secrets.identity, source.ip
| EVAL big = n >= 3
| SORT n DESC, cloud_secrets.identity
| KEEP cloud_secrets.identity, source.ip, n, ids, named, secrets, med, total, earliest, big"""


@pytest.mark.parametrize("seed", range(6))
def test_stats_read_in_slices_equals_stats_over_each_window(seed: int) -> None:
    """A STATS first in the per-run steps is read once per interval and joined per run; the alerts are those of
    the STATS over every run's window: random rows (multi-valued keys and secrets, nulls, floats), windows of
    one to four intervals, rows fed in time order and, as a derived source feeds them, late and out of order."""
    import random

    from cloud_secrets.evaluation.backtest.runners import EsqlRunner

    rng = random.Random(seed)
    interval = rng.choice([10, 30, 60]) * MIN
    r = rule("esql", SLICED, interval_ms=interval, lookback_ms=interval * rng.randint(1, 4))
    events, ts = [], T0
    for i in range(400):
        ts += rng.randrange(0, 6 * MIN)
        who = rng.choice(["a", "b", ["a", "c"], None])
        secret = rng.choice([None, "s1", "s2", ["s3", "s1"], f"s{i % 17}"])
        events.append(read(i, ts, who=who, secret=secret, size=rng.choice([1, 2.5, 7, None]),
                           **{"source.ip": rng.choice(["10.0.0.1", "10.0.0.2"]),
                              "cloud_secrets.outcome": rng.choice(["success", "success", "failure"])}))

    def alerts(sliced: bool, late: bool) -> list[dict[str, object]]:
        runner = EsqlRunner(r)
        assert runner.stats is not None
        if not sliced:
            runner.stats = None
        for n, e in enumerate(events):
            if late and n % 5 == 4:  # fed once the next one is in: out of time order in the buffer
                continue
            runner.advance(e.ts)
            runner.feed(e)
            if late and n % 5 == 0 and n >= 5:
                runner.feed(events[n - 1])
        runner.finish()
        return [a.to_json() for a in runner.alerts]

    for late in (False, True):
        expected = alerts(False, late)
        assert len(expected) > 20
        assert alerts(True, late) == expected


@pytest.mark.parametrize("value", ["x", "y", "", None, ["x"], ["x", "y"], 1, 1.5, True])
def test_comparison_with_a_string_literal_is_the_general_comparison(value: object) -> None:
    """`field == "x"` and `!=` take a shortcut for string values; every kind of value gets what the general
    comparison gives (null for null, multi-valued and non-string values)."""
    from cloud_secrets.evaluation.backtest.esql_compile import Row
    from cloud_secrets.evaluation.backtest.esql_values import compare

    plan = compile_esql('FROM logs-* | EVAL eq = f == "x", ne = f != "x", rev = "x" == f')
    row = Row({"f": value}, {}, [])
    for step in plan.stream_steps:
        step(row)
    single = None if isinstance(value, list) and len(value) > 1 else value[0] if isinstance(value, list) else value
    assert (row.cols["eq"], row.cols["ne"], row.cols["rev"]) == (
        compare("==", single, "x"), compare("!=", single, "x"), compare("==", "x", single))
