"""The scenario registry: names, what each produces, and the labelled document stream."""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from ...errors import UserError
from .attacks import ATTACKS, Attack, stratus_aws_batch_retrieve
from .benign import Progress, benign_items
from .common import DAY, HOUR, Item, Label
from .fast import FAST, Encoded
from .world import World, build_world

BENIGN = "benign_week"
ALL = "all"
#: Days of the victim's normal runs simulated before `compromised_ci_identity` when run on its own.
CI_BASELINE_DAYS = 6


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # attack | benign | mixed
    summary: str


def scenarios() -> list[Scenario]:
    """Every scenario `simulate` knows, attacks first."""
    out = [Scenario(a.name, "attack", a.summary) for a in ATTACKS]
    out.append(
        Scenario(
            BENIGN,
            "benign",
            "hundreds of identities over --days days: apps polling, CI/CD, IaC, "
            "rotation, AWS services, people; plus non-secret traffic",
        )
    )
    out.append(Scenario(ALL, "mixed", "benign_week with every attack injected once at a random time"))
    return out


def _attack(name: str) -> Attack:
    for attack in ATTACKS:
        if attack.name == name:
            return attack
    names = ", ".join(s.name for s in scenarios())
    raise UserError(f"unknown scenario {name!r}; choose one of: {names} (or see --list-scenarios)")


@dataclass(frozen=True)
class Options:
    seed: int = 0
    start: float = 1772409600.0  # 2026-03-02T00:00:00Z, a Monday
    days: float = 7.0
    identities: int = 300
    batch_companions: bool = True


def _run_attack(attack: Attack, world: World, opts: Options, t0: float) -> list[Item]:
    rng = random.Random(f"attack:{attack.name}:{opts.seed}:{t0}")
    run = attack.run
    if attack.name == "stratus_aws_batch_retrieve":
        run = partial(stratus_aws_batch_retrieve, companions=opts.batch_companions)
    return sorted(run(world, rng, t0), key=lambda item: item.ts)


def _labelled(items: Iterable[Item], scenario: str, kind: str) -> Iterator[tuple[float, dict, Label]]:
    cache: dict[tuple[str, str], Label] = {}
    for item in items:
        key = (item.identity, item.actor)
        label = cache.get(key)
        if label is None:
            label = cache[key] = Label(scenario, kind, item.identity, item.actor)
        yield item.ts, item.doc, label


def _validate(name: str, opts: Options) -> None:
    if opts.days <= 0 or opts.days > 366:
        raise UserError(f"--days must be between 0 and 366, not {opts.days}")
    if opts.identities < 20 or opts.identities > 20000:
        raise UserError(f"--identities must be between 20 and 20000, not {opts.identities}")
    if name == ALL and opts.days < 1:
        raise UserError("scenario 'all' needs --days of at least 1 to place the attacks")


def generate(name: str, opts: Options, progress: Progress | None = None) -> Iterator[tuple[dict, Label]]:
    """The documents of scenario `name` (as dicts), in time order, each with its label.

    Raises `UserError` at once for an unknown scenario or bad options.
    """
    rows = stream(name, opts, progress)
    return ((json.loads(doc.json) if type(doc) is Encoded else doc, label) for doc, label in rows)


def stream(name: str, opts: Options, progress: Progress | None = None) -> Iterator[tuple[dict | Encoded, Label]]:
    """Like `generate`, but repeated poller documents come pre-encoded (`fast.Encoded`) for speed.

    Attack scenarios start at `opts.start` (`compromised_ci_identity` is preceded by the victim's
    normal runs over the `CI_BASELINE_DAYS` before, labelled benign). `benign_week` covers
    `opts.days` from `opts.start`; `all` adds every attack once at a random time inside that period.
    """
    if name not in (BENIGN, ALL):
        _attack(name)
    _validate(name, opts)
    return _stream(name, opts, progress)


def _stream(name: str, opts: Options, progress: Progress | None) -> Iterator[tuple[dict | Encoded, Label]]:
    FAST.clear()
    world = build_world(opts.seed, opts.identities)
    if name not in (BENIGN, ALL):
        for _, doc, label in _single(name, world, opts):
            yield doc, label
        return
    injected = _injected(world, opts) if name == ALL else []
    labels: dict[tuple[str, str], Label] = {}
    nxt = 0
    for item in benign_items(world, opts.seed, opts.start, opts.days, progress):
        while nxt < len(injected) and injected[nxt][0] <= item.ts:
            yield injected[nxt][1], injected[nxt][2]
            nxt += 1
        key = (item.identity, item.actor)
        label = labels.get(key)
        if label is None:
            label = labels[key] = Label(BENIGN, "benign", item.identity, item.actor)
        yield item.doc, label
    for _, doc, label in injected[nxt:]:
        yield doc, label


def _single(name: str, world: World, opts: Options) -> Iterator[tuple[float, dict, Label]]:
    attack = _attack(name)
    parts = [_labelled(_run_attack(attack, world, opts, opts.start), name, "attack")]
    if name == "compromised_ci_identity" and world.ci_victim is not None:
        rng = random.Random(f"baseline:{opts.seed}")
        baseline: list[Item] = []
        first = opts.start - CI_BASELINE_DAYS * DAY
        for h in range(CI_BASELINE_DAYS * 24):
            world.ci_victim.hour(rng, first + h * HOUR, baseline)
        baseline = sorted((i for i in baseline if i.ts < opts.start), key=lambda i: i.ts)
        parts.insert(0, _labelled(baseline, name, "benign"))
    return heapq.merge(*parts, key=lambda row: row[0])


def _injected(world: World, opts: Options) -> list[tuple[float, dict, Label]]:
    """Every attack once, at a random time inside the benign period, in time order."""
    rng = random.Random(f"all:{opts.seed}")
    end = opts.start + opts.days * DAY
    attacks: list[tuple[float, dict, Label]] = []
    for attack in ATTACKS:
        latest = max(opts.start + HOUR, end - attack.duration - HOUR)
        t0 = rng.uniform(opts.start + HOUR, latest)
        attacks.extend(_labelled(_run_attack(attack, world, opts, t0), attack.name, "attack"))
    attacks.sort(key=lambda row: row[0])
    return attacks
