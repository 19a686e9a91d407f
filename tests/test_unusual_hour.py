"""`unusual_hour_for_identity`: what it fires on (a hand-made history), and its incremental evaluation
(backtest/unusual_hour_runner.py) raising exactly the alerts of the rule's own ES|QL run hourly by the generic
ES|QL runner on random histories (several seeds): identities with daily patterns on one or two clouds and two
identity types, round-the-clock ones, new ones, gaps, histories longer than the 14-day window."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from backtest_helpers import alerts_of, in_order
from cloud_secrets.evaluation.backtest import package_rules, select
from cloud_secrets.evaluation.backtest.derived import DerivedRunner, runner_for
from cloud_secrets.evaluation.backtest.events import Event
from cloud_secrets.evaluation.backtest.runners import EsqlRunner
from cloud_secrets.evaluation.backtest.unusual_hour_runner import UnusualHourRunner, applies
from cloud_secrets.timestamps import iso_ms

T0 = 1_772_409_600_000  # 2026-03-02T00:00:00Z
HOUR = 3_600_000
DAY = 24 * HOUR
PROVIDERS = {"aws": ("aws.cloudtrail", "arn:aws:secretsmanager:us-east-1:111122223333:secret:s{n}"),
             "azure": ("azure.platformlogs", "https://kv1.vault.azure.net/secrets/s{n}"),
             "gcp": ("gcp.audit", "projects/p1/secrets/s{n}")}


def doc(name: str, provider: str, op: str, n: int, identity_type: str = "role") -> dict[str, Any]:
    """A tagged document as the field contract (DESIGN.md) describes it."""
    dataset, form = PROVIDERS[provider]
    secret: dict[str, Any] = {"count": 10} if op == "batch_read" else {"id": [form.format(n=n)], "count": 1}
    return {"tags": ["secret_access"], "source": {"ip": "192.0.2.1"},
            "data_stream": {"type": "logs", "dataset": dataset, "namespace": "default"},
            "cloud_secrets": {"identity": name, "identity_type": identity_type, "provider": provider,
                              "operation": op, "outcome": "success", "secret": secret}}


def random_history(seed: int, identities: int = 10, days: int = 17) -> list[Event]:
    rng = random.Random(seed)
    people = []
    for i in range(identities):
        hours = set(rng.sample(range(24), rng.choice([2, 4, 8, 12, 24])))
        people.append((f"id-{i}", rng.sample(sorted(PROVIDERS), rng.choice([1, 2, 3])),
                       ["role"] if rng.random() < 0.8 else ["role", "user"], hours,
                       rng.choice([0, 0, 0, 5, 7, 8, 9, 10]), rng.random() * 0.5 + 0.4))
    docs: list[tuple[int, dict[str, Any]]] = []
    for h in range(days * 24):
        for name, clouds, types, hours, first_day, activity in people:
            if h < first_day * 24:
                continue
            usual = h % 24 in hours
            if not (usual and rng.random() < activity) and rng.random() > 0.01:  # and now and then at any hour
                continue
            for _ in range(rng.choice([1, 2, 4]) if usual else rng.choice([1, 1, 3, 6])):
                op = rng.choice(["read", "read", "read", "list", "batch_read"])
                docs.append((T0 + h * HOUR + rng.randrange(HOUR),
                             doc(name, rng.choice(clouds), op, rng.randrange(30), rng.choice(types))))
    return in_order(docs)


@pytest.fixture(scope="module")
def shipped() -> Any:
    (rule,) = select(package_rules(), ["unusual_hour_for_identity"])
    return rule


def test_it_fires_on_a_read_far_from_the_identitys_hours(shipped: Any) -> None:
    """An identity reading at 09:00-11:00 UTC for 10 days fires when it reads at 03:00, not at 12:00 (an hour
    next to its own); one with 5 days of history does not fire at 03:00 either."""
    docs = [(T0 + d * DAY + h * HOUR + 60_000, doc(who, "aws", "read", h))
            for who, days in (("steady", 10), ("new", 5)) for d in range(10 - days, 10) for h in (9, 10, 11)]
    night, noon = T0 + 10 * DAY + 3 * HOUR, T0 + 10 * DAY + 12 * HOUR
    docs += [(night + 60_000 * k, doc(who, "aws", "read", 100 + k)) for who in ("steady", "new") for k in range(3)]
    docs += [(noon + 60_000, doc("steady", "gcp", "read", 7))]
    found = alerts_of(runner_for(shipped), in_order(docs))
    assert [(a["identity"], a["fields"]["current_hour"], a["fields"]["current_secrets"], a["event_count"])
            for a in found] == [("steady", iso_ms(night), 3, 3)]
    assert found[0]["fields"]["history_days"] == 10 and found[0]["fields"]["hours_near_current"] == 0
    assert found[0]["fields"]["current_hour_of_day"] == 3 and found[0]["detected_at"] == iso_ms(night + 2 * HOUR)
    assert alerts_of(runner_for(shipped, incremental=False), in_order(docs)) == found


def test_hours_near_midnight_are_near(shipped: Any) -> None:
    """Read at 22:00 and 23:00 UTC for 10 days: a read at 00:00 is next to 23:00, one at 02:00 is not."""
    docs = [(T0 + d * DAY + h * HOUR + 60_000, doc("late", "aws", "read", h)) for d in range(10) for h in (22, 23)]
    docs += [(T0 + 10 * DAY + 60_000, doc("late", "aws", "read", 1)),
             (T0 + 10 * DAY + 2 * HOUR, doc("late", "aws", "read", 2))]
    for incremental in (True, False):
        found = alerts_of(runner_for(shipped, incremental), in_order([(ts, dict(d)) for ts, d in docs]))
        assert [a["fields"]["current_hour"] for a in found] == [iso_ms(T0 + 10 * DAY + 2 * HOUR)]


def test_the_shipped_rule_runs_incrementally(shipped: Any) -> None:
    fast, slow = runner_for(shipped), runner_for(shipped, incremental=False)
    assert isinstance(fast, DerivedRunner) and isinstance(fast.inner, UnusualHourRunner)
    assert isinstance(slow, DerivedRunner) and isinstance(slow.inner, EsqlRunner)


SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def compared(shipped: Any) -> dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """seed -> (incremental alerts, the ES|QL runner's alerts) over its random history."""
    out = {}
    for seed in SEEDS:
        evs = random_history(seed)
        out[seed] = (alerts_of(runner_for(shipped), evs), alerts_of(runner_for(shipped, incremental=False), evs))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_incremental_alerts_equal_the_rules_esql(compared: Any, seed: int) -> None:
    fast, slow = compared[seed]
    assert len(slow) >= 3, "the random history must make the rule fire"
    assert fast == slow


def test_the_random_histories_exercise_the_query(compared: Any) -> None:
    slow = [a for _, alerts in compared.values() for a in alerts]
    assert any(isinstance(a["fields"]["providers"], list) for a in slow)  # several clouds in the hour judged
    assert any(isinstance(a["fields"]["identity_types"], list) for a in slow)
    assert len({a["fields"]["current_hour_of_day"] for a in slow}) > 5
    assert len({a["fields"]["history_days"] for a in slow}) > 3


@pytest.mark.parametrize("attribute", ["least_secrets", "least_days", "most_near"])
def test_the_comparison_tells_a_wrong_threshold(shipped: Any, attribute: str) -> None:
    """The random histories are enough to tell each threshold: off by one, the incremental alerts differ."""
    evs = random_history(1)
    slow = alerts_of(runner_for(shipped, incremental=False), evs)
    fast = runner_for(shipped)
    inner = fast.inner  # type: ignore[attr-defined]
    setattr(inner, attribute, getattr(inner, attribute) + 1)
    assert alerts_of(fast, evs) != slow


@pytest.mark.parametrize("change", [("history_days >= 7", "history_days >= 8"),
                                    ("(hour_of_day + 1) % 24), hour_of_day)", "hour_of_day), hour_of_day)"),
                                    ("NOW() - 14 days", "NOW() - 7 days"),
                                    ("| SORT current_secrets DESC\n", "| SORT current_secrets DESC\n| LIMIT 5\n")])
def test_a_query_it_does_not_compute_runs_as_written(shipped: Any, change: tuple[str, str]) -> None:
    edited = replace(shipped, query=shipped.query.replace(*change))
    assert edited.query != shipped.query
    assert applies(edited) == (change[0] == "history_days >= 7")  # thresholds are read from the query
    if not applies(edited):
        assert isinstance(runner_for(edited).inner, EsqlRunner)  # type: ignore[attr-defined]


def test_the_thresholds_are_read_from_the_query(shipped: Any) -> None:
    edited = replace(shipped, slug="my_copy", query=shipped.query.replace("history_days >= 7", "history_days >= 3"))
    evs = random_history(2)
    fast = alerts_of(runner_for(edited), evs)
    assert isinstance(runner_for(edited).inner, UnusualHourRunner)  # type: ignore[attr-defined]
    assert fast == alerts_of(runner_for(edited, incremental=False), evs)
    assert len(fast) > len(alerts_of(runner_for(shipped), evs))
