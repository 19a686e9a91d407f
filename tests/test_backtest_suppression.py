"""Kibana's alert suppression in the backtest: one alert per group and window, as the rule assets ask."""

from __future__ import annotations

import json

import pytest

from backtest_helpers import MIN, T0, ev, rule, run_events
from cloud_secrets import paths
from cloud_secrets.backtest.alerts import alert_from_events
from cloud_secrets.backtest.suppression import Suppressor, suppressor_for
from cloud_secrets.errors import UserError

HOUR = 60 * MIN


def _alert_at(ts: int, **fields: object):
    e = ev(0, ts, **fields)
    return alert_from_events("r", [e]), e.doc


def test_one_alert_per_group_and_window_then_a_new_one() -> None:
    s = Suppressor(["user.name", "source.ip"], HOUR)
    admitted = []
    for minute in (0, 10, 59, 60, 61, 130):
        alert, doc = _alert_at(T0 + minute * MIN, **{"user.name": "app", "source.ip": "192.0.2.10"})
        admitted.append(s.admit(alert, doc))
    # the window opens at the first alert and lasts an hour; the alert at 60 min opens the next one
    assert admitted == [True, False, False, True, False, True]
    assert s.suppressed == 3


def test_groups_are_independent() -> None:
    s = Suppressor(["user.name", "source.ip"], HOUR)
    a1, d1 = _alert_at(T0, **{"user.name": "app", "source.ip": "192.0.2.10"})
    a2, d2 = _alert_at(T0 + MIN, **{"user.name": "app", "source.ip": "192.0.2.11"})
    a3, d3 = _alert_at(T0 + 2 * MIN, **{"user.name": "other", "source.ip": "192.0.2.10"})
    assert [s.admit(a1, d1), s.admit(a2, d2), s.admit(a3, d3)] == [True, True, True]


@pytest.mark.parametrize(("suppress_missing", "expected"), [(False, [True, True]), (True, [True, False])])
def test_missing_group_field_follows_the_strategy(suppress_missing: bool, expected: list[bool]) -> None:
    s = Suppressor(["user.name", "source.ip"], HOUR, suppress_missing)
    got = []
    for minute in (0, 5):
        alert, doc = _alert_at(T0 + minute * MIN, **{"user.name": "svc"})  # no source.ip
        got.append(s.admit(alert, doc))
    assert got == expected


def test_the_seed_rule_asset_asks_for_suppression_by_its_join_keys() -> None:
    path = next((paths.PACKAGE / "kibana" / "security_rule").glob("0c0b30f8-*.json"))
    attrs = json.loads(path.read_text())["attributes"]
    s = suppressor_for(attrs, path.name)
    assert s is not None and s.group_by == ["user.name", "source.ip"] and s.window_ms == HOUR
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
    alerts = run_events(r, events)
    assert len(alerts) == 21
    s = Suppressor(["user.name", "source.ip"], HOUR)
    kept = [a for a in alerts if s.admit(a, events[a.events[0]].doc)]
    assert len(kept) == 1 and s.suppressed == 20
