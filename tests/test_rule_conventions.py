"""The checks of elastic/detection-rules that run offline, over every rendered rule asset as a reader of the
package would see it (`package/kibana/security_rule/*.json`).

From elastic/detection-rules `tests/test_all_rules.py` and `detection_rules/rule.py`:
- `TestRuleTiming.test_eql_interval_to_maxspan`: an EQL sequence whose maxspan exceeds 2.5 minutes needs an
  interval of at least half its maxspan (`interval_ratio >= 0.5`).
- `TestRuleTiming.test_eql_lookback`: an EQL sequence's lookback (`from` to `to`) plus 10 minutes covers its
  maxspan.
- `BaseRuleData.validate_bbr`: a building block (`building_block_type`, whose one value is `default`) sets
  `from` at `now-119m` or earlier and an `interval` of at least 60 minutes.
- `ESQLRuleData.validates_esql_data`: an ES|QL rule has no `index`, keeps its columns with KEEP, and a
  query without STATS reads `METADATA _id, _version, _index` (Kibana deduplicates its alerts by them).
- Required fields: every rule lists the fields it reads in `required_fields`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import eql
import pytest

from cloud_secrets import paths
from cloud_secrets.assets.rules import kibana, syntax
from cloud_secrets.evaluation.backtest.durations import duration_ms

ASSETS = sorted((paths.ROOT / kibana.RULE_DIR).glob("*.json"))
MIN = 60_000


def attributes(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["attributes"]


def maxspan_ms(query: str) -> int | None:
    with eql.ParserConfig(eql.parser.elasticsearch_syntax, eql.parser.allow_runs):
        ast = eql.parse_query(query)
    first = getattr(ast, "first", ast)
    span = getattr(first, "max_span", None)
    return None if span is None else int(span.as_milliseconds())


def check(attrs: dict) -> list[str]:
    """What detection-rules would refuse in one rule asset."""
    problems = []
    name = attrs["name"]
    interval = duration_ms(attrs.get("interval", "5m"))
    lookback = duration_ms(attrs.get("from", "now-6m"))
    if attrs["type"] == "eql":
        span = maxspan_ms(attrs["query"])
        if span is not None and span > 2.5 * MIN and interval / span < 0.5:
            problems.append(f"{name}: interval {attrs['interval']} is less than half the maxspan")
        if span is not None and lookback + 10 * MIN < span:
            problems.append(f"{name}: lookback {attrs['from']} + 10m does not cover the maxspan")
    if "building_block_type" in attrs:
        if attrs["building_block_type"] != kibana.BUILDING_BLOCK_TYPE:
            problems.append(f"{name}: building_block_type {attrs['building_block_type']!r} is not 'default'")
        if lookback < 119 * MIN or interval < 60 * MIN:
            problems.append(f"{name}: a building block runs at least hourly over at least now-119m")
    if attrs["type"] == "esql":
        query = attrs["query"]
        if "index" in attrs:
            problems.append(f"{name}: an ES|QL rule names its indices in FROM, not in `index`")
        if not re.search(r"^\s*\|\s*KEEP\b", query, re.MULTILINE):
            problems.append(f"{name}: an ES|QL rule ends with KEEP")
        if not re.search(r"\|\s*STATS\b", query) and not re.search(r"METADATA\s+_id,\s*_version,\s*_index", query):
            problems.append(f"{name}: a non-aggregating ES|QL rule reads METADATA _id, _version, _index")
    language = attrs.get("language", attrs["type"])
    read = set(syntax.fields(language, attrs["query"]))
    listed = {f["name"] for f in attrs.get("required_fields", [])}
    if not read <= listed:
        problems.append(f"{name}: required_fields misses {sorted(read - listed)}")
    return problems


@pytest.mark.parametrize("path", ASSETS, ids=[p.stem for p in ASSETS])
def test_every_rendered_rule_follows_detection_rules_conventions(path: Path) -> None:
    assert check(attributes(path)) == []


def test_the_checks_can_fail() -> None:
    seq = next(attributes(p) for p in ASSETS if "with maxspan=1h" in attributes(p)["query"])
    assert any("half the maxspan" in p for p in check(seq | {"interval": "10m"}))
    assert any("does not cover" in p for p in check(seq | {"from": "now-30m"}))
    assert any("is not 'default'" in p for p in check(seq | {"building_block_type": "yes"}))
    assert any("at least hourly" in p for p in check(seq | {"building_block_type": "default", "interval": "30m"}))
    esql = next(attributes(p) for p in ASSETS if attributes(p)["type"] == "esql")
    assert any("KEEP" in p for p in check(esql | {"query": "FROM logs-* | WHERE event.action == \"x\""}))
    assert any("METADATA" in p for p in check(esql | {"query": "FROM logs-* | WHERE event.action == \"x\" "
                                                               "| KEEP event.action"}))
    assert any("required_fields" in p for p in check(esql | {"required_fields": []}))


def test_tiers_as_the_pack_ships_them() -> None:
    by_name = {attributes(p)["rule_id"]: attributes(p) for p in ASSETS}
    seed = by_name["0c0b30f8-020f-4385-86dd-753869efe899"]
    assert seed["building_block_type"] == "default"  # the seed rule is a building block
    higher = [a for a in by_name.values() if kibana.HIGHER_ORDER_TAG in a["tags"]]
    assert len(higher) == 1 and "building_block_type" not in higher[0]
    distinct = by_name["36dbb05a-0f83-4a0d-b37f-c507ff590aef"]
    assert distinct["alert_suppression"]["group_by"] == ["cloud_secrets.identity", "source.ip"]
