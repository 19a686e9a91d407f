"""ES|QL functions of the backtest (backtest/esql_compile.py, esql_values.py) against their definitions.

DATE_EXTRACT(part, date) is Java's `ZonedDateTime.getLong(ChronoField.valueOf(part.toUpperCase()))` in UTC
(Elasticsearch's `DateExtract`). The embedded node (Elasticsearch 7.10) has no ES|QL, so the same ChronoField
is read by a Painless script over the same dates on the node, as the baseline statistics are checked against
the node's percentiles and median_absolute_deviation aggregations (tests/test_baselines.py).
MV_APPEND(a, b) concatenates the values of both and is null when either is
(https://www.elastic.co/guide/en/elasticsearch/reference/current/esql-functions-operators.html#esql-mv_append,
elastic/elasticsearch#114436).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from backtest_helpers import T0, ev, rule, run_events
from cloud_secrets.elastic.ingest import bulk_index
from cloud_secrets.errors import UserError
from cloud_secrets.evaluation.backtest.esql_compile import compile_esql
from cloud_secrets.evaluation.backtest.esql_values import DATE_PARTS, EsDate, date_part, mv_append
from cloud_secrets.timestamps import iso_ms, to_ms

HOUR = 3_600_000
# a leap day, a Sunday, the last hour of a year, dates before 1970, around midnight
FIXED = ["2024-02-29T23:59:59.999Z", "2026-03-01T00:00:00.000Z", "2026-03-02T07:30:15.250Z",
         "2026-12-31T23:00:00.000Z", "1969-12-31T22:10:05.000Z", "1900-01-01T00:00:00.000Z"]


@pytest.fixture
def index(es: Any) -> Iterator[str]:
    name = f"test-esql-{uuid.uuid4().hex[:8]}"
    yield name
    es.delete(f"/{name}", params={"ignore_unavailable": "true"})


def dates(seed: int = 7, n: int = 200) -> list[int]:
    rng = random.Random(seed)
    return [to_ms(d) for d in FIXED] + [rng.randrange(-2_000_000_000_000, 4_000_000_000_000) for _ in range(n)]


@pytest.mark.engine
def test_date_extract_is_the_engines_chrono_field_in_utc(es: Any, index: str) -> None:
    stamps = dates()
    es.put(f"/{index}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                         "mappings": {"properties": {"@timestamp": {"type": "date"}, "n": {"type": "long"}}}})
    bulk_index(es, index, [{"@timestamp": iso_ms(ms), "n": i} for i, ms in enumerate(stamps)])
    es.post(f"/{index}/_refresh")
    script = {"source": "doc['@timestamp'].value.getLong(ChronoField.valueOf(params.part))"}
    fields = {part: {"script": {**script, "params": {"part": part.upper()}}} for part in DATE_PARTS}
    hits = es.post(f"/{index}/_search", {"size": len(stamps), "sort": ["n"], "script_fields": fields,
                                         "_source": False, "docvalue_fields": ["n"]})["hits"]["hits"]
    assert len(hits) == len(stamps)
    for hit in hits:
        ms = stamps[hit["fields"]["n"][0]]
        engine = {part: hit["fields"][part][0] for part in DATE_PARTS}
        ours = {part: date_part(part)(EsDate(ms)) for part in DATE_PARTS}
        assert ours == engine, iso_ms(ms)


def test_date_extract_in_a_query() -> None:
    query = ('FROM logs-* | EVAL hour = DATE_EXTRACT("HOUR_of_day", @timestamp), none = DATE_EXTRACT("year", x) '
             '| EVAL near = MV_APPEND(MV_APPEND((hour + 23) % 24, hour), (hour + 1) % 24) '
             '| STATS n = COUNT(*) BY near, none | SORT near')
    alerts = run_events(rule("esql", query, interval_ms=HOUR, lookback_ms=HOUR),
                        [ev(0, T0 + 5 * 60_000), ev(1, T0 + 10 * 60_000)])  # T0: 2026-03-02T00:00Z
    assert [(a.fields["near"], a.fields["n"], a.fields["none"]) for a in alerts] == [(0, 2, None), (1, 2, None),
                                                                                     (23, 2, None)]


def test_mv_append_keeps_values_and_nulls() -> None:
    assert mv_append(1, 2) == [1, 2] and mv_append([1, 2], [2]) == [1, 2, 2] and mv_append("a", ["b"]) == ["a", "b"]
    assert mv_append(None, 1) is None and mv_append([1], None) is None


def test_date_extract_refuses_what_it_cannot_evaluate() -> None:
    with pytest.raises(UserError, match="DATE_EXTRACT part 'fortnight'"):
        compile_esql('FROM logs-* | EVAL x = DATE_EXTRACT("fortnight", @timestamp)')
    with pytest.raises(UserError, match="string literal"):
        compile_esql("FROM logs-* | EVAL x = DATE_EXTRACT(part, @timestamp)")
