"""EQL in the backtest: the same sequences as the eql library where it agrees with Elasticsearch, and
Elasticsearch's behaviour pinned where it does not."""

from __future__ import annotations

import random
from typing import Any

import eql
import pytest

from backtest_helpers import MIN, T0, ev, rule, run_events
from cloud_secrets.errors import UserError
from cloud_secrets.evaluation.backtest.eql_compile import compile_eql
from cloud_secrets.evaluation.backtest.events import Event
from cloud_secrets.evaluation.backtest.sequences import RunMatcher, SequenceMatcher


def backtest_sequences(query: str, events: list[Event]) -> list[list[int]]:
    out: list[list[int]] = []
    matcher = SequenceMatcher(compile_eql(query), lambda evs, key: out.append([e.index for e in evs]))
    for e in events:
        matcher.feed(e)
    return out


def eql_library_sequences(query: str, events: list[Event]) -> list[list[int]]:
    """Elastic's Python engine; it reads time from `timestamp` (here in ms, so time_unit=1000)."""
    config = eql.ParserConfig(eql.parser.elasticsearch_syntax, eql.parser.allow_runs)
    with config:
        parsed = eql.parse_query(query)
    engine = eql.PythonEngine({"time_unit": 1000})
    out: list[list[int]] = []
    engine.add_output_hook(lambda result: out.append([e.data["_i"] for e in result.events]))
    with config:
        engine.add_query(parsed)
    engine.stream_events([eql.Event("generic", e.ts, {**e.doc, "timestamp": e.ts, "_i": e.index}) for e in events])
    return out


QUERIES = [
    'sequence by user.name with maxspan=1h [any where event.action in ("list", "read")] with runs=3',
    'sequence by user.name, source.ip with maxspan=10m [any where event.action == "list"] '
    '[any where event.action == "read"]',
    'sequence by user.name with maxspan=30m [any where event.action == "list"] [any where event.action == "read"] '
    '[any where event.action in ("read", "list")]',
    'sequence with maxspan=5m [any where event.action == "read"] with runs=2 [any where event.action == "list"]',
]


def random_stream(seed: int, n: int = 120) -> list[Event]:
    """Events on which both engines agree: every join key present, one letter case, no timestamp ties."""
    rng = random.Random(seed)
    ts = T0
    out = []
    for i in range(n):
        ts += rng.randint(1, 4 * MIN)
        out.append(ev(i, ts, **{"event.action": rng.choice(["list", "read", "read", "write"]),
                                "user.name": rng.choice(["alice", "bob", "carol"]),
                                "source.ip": rng.choice(["10.0.0.1", "10.0.0.2"])}))
    return out


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("seed", range(8))
def test_same_sequences_as_the_eql_library_where_they_agree(query: str, seed: int) -> None:
    events = random_stream(seed)
    expected = eql_library_sequences(query, events)
    assert expected, "the random stream should produce sequences, or the comparison proves nothing"
    assert backtest_sequences(query, events) == expected


SEED = 'sequence by user.name with maxspan=1h [any where event.action in ("GetSecretValue")] with runs=10'


def burst(n: int, spacing_ms: int = MIN, **extra: Any) -> list[Event]:
    return [ev(i, T0 + i * spacing_ms, **{"event.action": "GetSecretValue", "user.name": "u", **extra})
            for i in range(n)]


def test_eleven_consecutive_events_give_two_sequences() -> None:
    # Elasticsearch keeps one pending sequence per key and stage; a hit takes the latest sequence of the
    # previous stage whose last event is before it (SequenceMatcher.match, OrdinalGroup.trimBefore in
    # x-pack/plugin/eql/.../execution/sequence/). With identical stages the 11th event completes the sequence
    # begun by the 2nd: events 1-10 and 2-11. The eql library agrees.
    events = burst(11)
    assert backtest_sequences(SEED, events) == [list(range(10)), list(range(1, 11))]
    assert eql_library_sequences(SEED, events) == backtest_sequences(SEED, events)


def test_twenty_events_give_a_sequence_per_event_after_the_ninth() -> None:
    assert len(backtest_sequences(SEED, burst(20))) == 11
    assert len(backtest_sequences(SEED, burst(9))) == 0


def test_maxspan_slides() -> None:
    # 11 events 7 minutes apart: 1-10 span 63 min (> 1h, rejected: exceedsMaxSpan is strictly greater),
    # 2-11 span 63 min too; at 6 min spacing 1-10 span 54 min and fit.
    assert backtest_sequences(SEED, burst(11, 7 * MIN)) == []
    assert backtest_sequences(SEED, burst(11, 6 * MIN)) == [list(range(10)), list(range(1, 11))]
    # A long burst: only windows of 10 consecutive events within the hour complete.
    late = ev(10, T0 + 84 * MIN, **{"event.action": "GetSecretValue", "user.name": "u"})
    spaced = [*burst(10, 6 * MIN), late]
    assert backtest_sequences(SEED, spaced) == [list(range(10))]


def test_null_join_keys_do_not_join() -> None:
    # Elasticsearch (since 7.16, "EQL: Add optional fields and limit joining keys on non-null values only",
    # https://github.com/elastic/elasticsearch/pull/79677): non-optional join keys are restricted to non-null
    # values, so an event with a missing key never joins. The eql library joins them as equal nulls.
    query = 'sequence by user.name [any where event.action == "list"] [any where event.action == "read"]'
    events = [ev(0, T0, **{"event.action": "list"}), ev(1, T0 + MIN, **{"event.action": "read"})]
    assert eql_library_sequences(query, events) == [[0, 1]]
    assert backtest_sequences(query, events) == []


def test_optional_join_key_joins_nulls() -> None:
    # `?field` marks an optional field, and "optional fields as keys can have null as a value"
    # (https://github.com/elastic/elasticsearch/pull/79677; eql-syntax.html#eql-syntax-optional-fields).
    query = 'sequence by ?user.name [any where event.action == "list"] [any where event.action == "read"]'
    events = [ev(0, T0, **{"event.action": "list"}), ev(1, T0 + MIN, **{"event.action": "read"})]
    assert backtest_sequences(query, events) == [[0, 1]]


def test_in_and_equals_are_case_sensitive_colon_is_not() -> None:
    # Elasticsearch EQL: `==` and `in` are case-sensitive; `:` is case-insensitive
    # (https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-syntax.html#eql-syntax-operators).
    # The eql library compares case-insensitively.
    events = [ev(0, T0, **{"event.action": "getsecretvalue"})]
    for query in ('any where event.action in ("GetSecretValue")', 'any where event.action == "GetSecretValue"'):
        assert eql_library_sequences(query, events) == [[0]]
        assert backtest_sequences(query, events) == []
    assert backtest_sequences('any where event.action : "GetSecret*"', events) == [[0]]


def test_case_sensitive_join_keys() -> None:
    # Join keys are compared exactly in Elasticsearch ("Alice" and "alice" are two keys).
    query = 'sequence by user.name [any where event.action == "list"] [any where event.action == "read"]'
    events = [ev(0, T0, **{"event.action": "list", "user.name": "Alice"}),
              ev(1, T0 + MIN, **{"event.action": "read", "user.name": "alice"})]
    assert eql_library_sequences(query, events) == [[0, 1]]
    assert backtest_sequences(query, events) == []


def test_multi_valued_field_matches_any_value() -> None:
    events = [ev(0, T0, **{"event.action": ["Describe", "GetSecretValue"]})]
    assert backtest_sequences('any where event.action == "GetSecretValue"', events) == [[0]]
    assert backtest_sequences('any where event.action != "GetSecretValue"', events) == []


def test_until_cancels_pending_sequences() -> None:
    query = ('sequence by user.name [any where event.action == "list"] [any where event.action == "read"] '
             'until [any where event.action == "logout"]')
    events = [ev(0, T0, **{"event.action": "list", "user.name": "a"}),
              ev(1, T0 + MIN, **{"event.action": "logout", "user.name": "a"}),
              ev(2, T0 + 2 * MIN, **{"event.action": "read", "user.name": "a"})]
    assert backtest_sequences(query, events) == []
    assert backtest_sequences(query, [events[0], events[2]]) == [[0, 2]]


def test_stale_state_is_dropped() -> None:
    matcher = SequenceMatcher(compile_eql(SEED), lambda evs, key: None)
    for i in range(5000):
        matcher.feed(ev(i, T0 + i * 10 * MIN, **{"event.action": "GetSecretValue", "user.name": f"u{i}"}))
    assert matcher.pending() < 20  # only the keys active within one maxspan stay


def test_eql_rule_runner_reports_each_sequence_once_with_its_events() -> None:
    alerts = run_events(rule("eql", SEED), burst(11))
    assert [(a.event_count, a.events[0], a.identity) for a in alerts] == [(10, 0, "u"), (10, 1, "u")]


@pytest.mark.parametrize("query", ['any where event.action in~ ("a")', "any where true | head 5"])
def test_unsupported_eql_is_refused_by_name(query: str) -> None:
    with pytest.raises(UserError, match="EQL"):
        compile_eql(query)


@pytest.mark.parametrize("maxspan", ["", " with maxspan=5m", " with maxspan=20m"])
@pytest.mark.parametrize("runs", [2, 3, 10])
def test_run_matcher_equals_the_state_machine(maxspan: str, runs: int) -> None:
    query = f'sequence by user.name{maxspan} [any where event.action in ("list", "read")] with runs={runs}'
    spec = compile_eql(query)
    assert RunMatcher.applies(spec)
    for seed in range(6):
        events = random_stream(seed, 400)
        fast: list[list[int]] = []
        matcher = RunMatcher(spec, lambda evs, key, out=fast: out.append([e.index for e in evs]))
        for e in events:
            matcher.feed(e)
        assert fast == backtest_sequences(query, events)
        assert fast or runs == 10
    assert not RunMatcher.applies(compile_eql(QUERIES[1]))
