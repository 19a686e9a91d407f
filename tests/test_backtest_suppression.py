"""Kibana's alert suppression in the backtest: one alert per group and window, as the rule assets ask."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from backtest_helpers import MIN, T0, ev, rule, run_events
from cloud_secrets import paths
from cloud_secrets.errors import UserError
from cloud_secrets.evaluation.backtest.alerts import alert_from_events
from cloud_secrets.evaluation.backtest.rulepack import package_rules
from cloud_secrets.evaluation.backtest.run import run_lines
from cloud_secrets.evaluation.backtest.suppression import Suppressor, suppressor_for
from cloud_secrets.timestamps import iso_ms

HOUR = 60 * MIN


def _alert_at(ts: int, **fields: object):
    return alert_from_events("r", [ev(0, ts, **fields)])


def test_one_alert_per_group_and_window_then_a_new_one() -> None:
    s = Suppressor(["user.name", "source.ip"], HOUR)
    admitted = []
    for minute in (0, 10, 59, 60, 61, 130):
        admitted.append(s.admit(_alert_at(T0 + minute * MIN, **{"user.name": "app", "source.ip": "192.0.2.10"})))
    # the window opens at the first alert and lasts an hour; the alert at 60 min opens the next one
    assert admitted == [True, False, False, True, False, True]
    assert s.suppressed == 3


def test_groups_are_independent() -> None:
    s = Suppressor(["user.name", "source.ip"], HOUR)
    alerts = [_alert_at(T0, **{"user.name": "app", "source.ip": "192.0.2.10"}),
              _alert_at(T0 + MIN, **{"user.name": "app", "source.ip": "192.0.2.11"}),
              _alert_at(T0 + 2 * MIN, **{"user.name": "other", "source.ip": "192.0.2.10"})]
    assert [s.admit(a) for a in alerts] == [True, True, True]


@pytest.mark.parametrize(("suppress_missing", "expected"), [(False, [True, True]), (True, [True, False])])
def test_missing_group_field_follows_the_strategy(suppress_missing: bool, expected: list[bool]) -> None:
    s = Suppressor(["user.name", "source.ip"], HOUR, suppress_missing)
    got = []
    for minute in (0, 5):
        got.append(s.admit(_alert_at(T0 + minute * MIN, **{"user.name": "svc"})))  # no source.ip
    assert got == expected


def test_the_seed_rule_asset_asks_for_suppression_by_its_join_keys() -> None:
    path = next((paths.PACKAGE / "kibana" / "security_rule").glob("0c0b30f8-*.json"))
    attrs = json.loads(path.read_text())["attributes"]
    s = suppressor_for(attrs, path.name)
    assert s is not None and s.group_by == ["cloud_secrets.identity", "source.ip"] and s.window_ms == HOUR
    assert not s.suppress_missing


def test_a_rule_without_suppression_has_no_suppressor_and_a_broken_one_fails_clearly() -> None:
    assert suppressor_for({"type": "eql"}, "x.json") is None
    with pytest.raises(UserError, match=r"x\.json: attributes\.alert_suppression\.duration"):
        suppressor_for({"alert_suppression": {"group_by": ["user.name"], "duration": "1h"}}, "x.json: attributes")


def test_a_burst_raises_one_sequence_per_event_and_one_alert_once_suppressed() -> None:
    """30 reads a minute apart: Elasticsearch reports 21 sequences of 10 (1-10, 2-11, ...); Kibana with
    suppression by user.name and source.ip for an hour keeps one alert."""
    r = rule("eql", 'sequence by user.name, source.ip with maxspan=1h [any where event.action == "GetSecretValue"] '
                    "with runs=10")
    events = [ev(i, T0 + i * MIN, **{"event.action": "GetSecretValue", "user.name": "app",
                                     "source.ip": "192.0.2.10"}) for i in range(30)]
    assert len(run_events(r, events)) == 21
    lines = [json.dumps({**e.doc, "@timestamp": iso_ms(e.ts)}).encode() for e in events]
    r.suppression = Suppressor(["user.name", "source.ip"], HOUR)
    for _ in range(2):  # each run starts with no open window
        result = run_lines(lines, "burst.ndjson", [r])
        assert len(result.alerts) == 1 and result.suppressed == {"r": 20}
        assert result.alerts[0].first_doc is None  # documents are let go once suppression has read them
    streamed: list = []
    run_lines(lines, "burst.ndjson", [r], on_alert=streamed.append)
    assert len(streamed) == 1


def test_the_package_rules_suppress_a_polling_burst_to_one_alert() -> None:
    """Through the real rule assets: the seed rule over 30 reads of one app from one address in 30 minutes."""
    seed = next(r for r in package_rules() if r.slug == "bulk_access_sequence")
    doc = {"data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"},
           "event": {"dataset": "aws.cloudtrail", "action": "GetSecretValue", "outcome": "success"},
           "user": {"name": "orders-api"},
           "cloud_secrets": {"identity": "111122223333:role/orders-api", "operation": "read"},
           "source": {"ip": "192.0.2.10"}}
    lines = [json.dumps({**doc, "@timestamp": iso_ms(T0 + i * MIN)}).encode() for i in range(30)]
    result = run_lines(lines, "poll.ndjson", [seed])
    assert len(result.alerts) == 1 and result.suppressed == {"bulk_access_sequence": 20}


def test_the_distinct_secrets_rule_raises_one_alert_per_harvest_not_one_per_overlapping_run() -> None:
    """Through the real asset: 25 distinct secrets read in 25 minutes are in two runs of the ES|QL rule
    (every hour over the last two hours); suppression by identity and address keeps one alert."""
    distinct = next(r for r in package_rules() if r.slug == "bulk_access_distinct_secrets")
    assert distinct.suppression is not None and distinct.suppression.group_by == ["cloud_secrets.identity",
                                                                                  "source.ip"]
    doc = {"data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"},
           "event": {"dataset": "aws.cloudtrail", "action": "GetSecretValue"},
           "cloud_secrets": {"identity": "111122223333:role/thief", "outcome": "success", "operation": "read"},
           "source": {"ip": "203.0.113.9"}}
    lines = [json.dumps({**doc, "@timestamp": iso_ms(T0 + i * MIN),
                         "cloud_secrets": {**doc["cloud_secrets"], "secret": {"id": [f"s{i}"], "count": 1}}}).encode()
             for i in range(25)]
    result = run_lines(lines, "harvest.ndjson", [distinct])
    assert len(result.alerts) == 1 and result.suppressed["bulk_access_distinct_secrets"] >= 1
    unsuppressed = run_lines(lines, "harvest.ndjson", [replace(distinct, suppression=None)])
    assert len(unsuppressed.alerts) == 1 + result.suppressed["bulk_access_distinct_secrets"]
