"""The incremental evaluation of baseline_deviation (backtest/baseline_runner.py) raises exactly the alerts of
the rule's own ES|QL run hourly by the generic ES|QL runner, on random histories (several seeds): identities
on one or two clouds and under two identity types in the same hour, gaps, bursts, filter batch reads,
failures, histories longer than the 14-day window."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from backtest_helpers import alerts_of, in_order
from cloud_secrets.evaluation.backtest import package_rules, select
from cloud_secrets.evaluation.backtest.baseline_runner import BaselineDeviationRunner, applies
from cloud_secrets.evaluation.backtest.derived import DerivedRunner, runner_for
from cloud_secrets.evaluation.backtest.events import Event
from cloud_secrets.evaluation.backtest.runners import EsqlRunner

T0 = 1_772_409_600_000  # 2026-03-02T00:00:00Z
HOUR = 3_600_000
PROVIDERS = {"aws": ("aws.cloudtrail", "arn:aws:secretsmanager:us-east-1:111122223333:secret:s{n}"),
             "azure": ("azure.platformlogs", "https://kv1.vault.azure.net/secrets/s{n}"),
             "gcp": ("gcp.audit", "projects/p1/secrets/s{n}")}


def random_history(seed: int, identities: int = 8, days: int = 16) -> list[Event]:
    """Tagged documents as the field contract (DESIGN.md) describes them, in time order."""
    rng = random.Random(seed)
    people = []
    for i in range(identities):
        clouds = rng.sample(sorted(PROVIDERS), rng.choice([1, 1, 2, 3]))
        types = ["role"] if rng.random() < 0.8 else ["role", "user"]
        people.append((f"id-{i}", clouds, types, rng.random() * 0.3 + 0.05, rng.choice([1, 2, 3, 8, 12])))
    docs: list[tuple[int, dict[str, Any]]] = []
    for h in range(days * 24):
        for name, clouds, types, activity, usual in people:
            if rng.random() > activity:
                continue
            reads = max(0, int(rng.gauss(usual, usual / 3)))
            if rng.random() < 0.03:
                reads += rng.choice([15, 30, 60])  # a burst
            for _ in range(reads):
                provider = rng.choice(clouds)
                dataset, form = PROVIDERS[provider]
                op = "batch_read" if rng.random() < 0.05 else "read"
                secret: dict[str, Any] = {"count": rng.choice([10, 20])} if op == "batch_read" else \
                    {"id": [form.format(n=rng.randrange(usual * 3 + 40))], "count": 1}
                cs = {"identity": name, "identity_type": rng.choice(types), "provider": provider, "operation": op,
                      "outcome": "failure" if rng.random() < 0.05 else "success", "secret": secret}
                docs.append((T0 + h * HOUR + rng.randrange(HOUR),
                             {"tags": ["secret_access"], "source": {"ip": f"192.0.2.{rng.randrange(4)}"},
                              "data_stream": {"type": "logs", "dataset": dataset, "namespace": "default"},
                              "cloud_secrets": cs}))
    return in_order(docs)


@pytest.fixture(scope="module")
def shipped() -> Any:
    (rule,) = select(package_rules(), ["baseline_deviation"])
    return rule


def test_the_shipped_rule_runs_incrementally(shipped: Any) -> None:
    fast, slow = runner_for(shipped), runner_for(shipped, incremental=False)
    assert isinstance(fast, DerivedRunner) and isinstance(fast.inner, BaselineDeviationRunner)
    assert isinstance(slow, DerivedRunner) and isinstance(slow.inner, EsqlRunner)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_alerts_equal_the_rules_esql(shipped: Any, seed: int) -> None:
    events = random_history(seed)
    fast = alerts_of(runner_for(shipped), events)
    slow = alerts_of(runner_for(shipped, incremental=False), events)
    assert len(slow) >= 5, "the random history must make the rule fire"
    assert any(a["fields"]["baseline_hours"] > 100 for a in slow)  # identities with long histories
    assert any(isinstance(a["fields"]["providers"], list) for a in slow)  # and identities on several clouds
    assert fast == slow


@pytest.mark.parametrize("change", [("floor = 10", "floor = 12"), ("NOW() - 14 days", "NOW() - 7 days"),
                                    ("BY cloud_secrets.identity, @timestamp", "BY cloud_secrets.identity"),
                                    ("baseline_median = MEDIAN(past)", "baseline_median = AVG(past)"),
                                    ("| SORT current_secrets DESC\n", "| SORT current_secrets DESC\n| LIMIT 5\n")])
def test_a_query_it_does_not_compute_runs_as_written(shipped: Any, change: tuple[str, str]) -> None:
    """A query whose numbers or grouping differ from what the incremental runner computes is not taken over."""
    edited = replace(shipped, query=shipped.query.replace(*change))
    assert edited.query != shipped.query and not applies(edited)
    assert isinstance(runner_for(edited).inner, EsqlRunner)  # type: ignore[attr-defined]


def test_the_runner_is_chosen_by_the_query_not_by_the_name(shipped: Any) -> None:
    """The same query under another slug (and reformatted) is still evaluated incrementally, with the same
    alerts; the pack's other rules over the summary are not taken over; `incremental=False` asks for the
    generic runner."""
    renamed = replace(shipped, slug="my_copy", query=shipped.query.replace("\n| ", "\n  |  "))
    assert applies(renamed) and isinstance(runner_for(renamed).inner, BaselineDeviationRunner)  # type: ignore[attr-defined]
    events = random_history(4)
    assert alerts_of(runner_for(renamed), events) == [
        {**a, "rule": "my_copy"} for a in alerts_of(runner_for(shipped, incremental=False), events)]
    others = [r for r in package_rules() if r.slug != shipped.slug]
    assert others and not any(applies(r) for r in others)
