"""`unusual_hour_for_identity` evaluated incrementally: the same alerts as its ES|QL, without re-reading 14 days.

The rule (catalog/rules/unusual_hour_for_identity.yml) runs every hour over the transform's summary rows of
the last 14 days: a first STATS sums each identity's rows of an hour; each past hour (`<= NOW() - 140
minutes`) goes into the groups of its hour of the day (UTC) and of the hours either side, the hour judged
(`(NOW() - 140 minutes, NOW() - 80 minutes]`) into its own; a second STATS counts per identity and hour of
the day the past hours and their days, a third takes per identity its distinct past days and the count at
the hour judged, and the WHERE keeps an identity with enough reads, enough days and no past hour near.
Run as written by the generic ES|QL runner (esql_compile.py), every hourly run regroups every row of the
window three times.

`UnusualHourRunner` keeps what the query recomputes: per identity, its hours in the window in time order
with the rows behind each, how many of its past hours fall on each hour of the day and on each day. A run
expires hours older than the window, moves hours that became past into the counts, and judges only the
identities with an hour in the judged range. Values, types and the order of alerts within a run are those
of the rule's own query (the group order of the first row of each identity in the window, then SORT
current_secrets DESC); tests/test_unusual_hour.py checks that on random histories, several seeds, against
the ES|QL runner. The runner is chosen by the query's shape (`applies`), its thresholds read from its WHERE.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from . import esql_values as v
from .baseline_runner import SummaryHour, SummaryRunner, counter_values, drop_count, flat_query
from .esql_compile import compile_esql
from .events import Event
from .rulepack import Rule

_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
_MINUTE_MS = 60_000
HISTORY_DAYS = 14
PAST_TO_MINUTES, RECENT_TO_MINUTES = 140, 80
_IDENTITY = "cloud_secrets.identity"
#: The condition this runner computes, its three numbers read from the query.
CONDITION = re.compile(r"\| WHERE current_secrets >= (\d+) AND history_days >= (\d+) "
                       r"AND hours_near_current == (\d+) \|")
#: The query's text this runner computes besides its thresholds (whitespace aside).
NEEDLES = (
    f"| WHERE @timestamp >= NOW() - {HISTORY_DAYS} days |",
    "| EVAL row_secrets = cloud_secrets.summary.read_success.secrets + cloud_secrets.summary.batch_unnamed.secrets |",
    "secrets = SUM(row_secrets)", "BY cloud_secrets.identity, @timestamp |",
    'EVAL hour_of_day = DATE_EXTRACT("hour_of_day", @timestamp)',
    f"is_past = @timestamp <= NOW() - {PAST_TO_MINUTES} minutes",
    f"is_recent = @timestamp > NOW() - {PAST_TO_MINUTES} minutes AND @timestamp <= NOW() - {RECENT_TO_MINUTES} "
    "minutes |",
    "near_hours = CASE(is_past, MV_APPEND(MV_APPEND((hour_of_day + 23) % 24, hour_of_day), (hour_of_day + 1) % 24), "
    "hour_of_day)",
    "past_day = CASE(is_past, DATE_TRUNC(1 day, @timestamp), null)",
    "recent_secrets = CASE(is_recent, secrets, null)", "recent_hour = CASE(is_recent, @timestamp, null) |",
    "STATS near_past_hours = COUNT(past_day), past_days = VALUES(past_day), current_secrets = MAX(recent_secrets), "
    "current_hour = MAX(recent_hour), current_providers = VALUES(hour_providers) WHERE is_recent, "
    "current_identity_types = VALUES(hour_identity_types) WHERE is_recent BY cloud_secrets.identity, near_hours |",
    "EVAL judged_near_hours = CASE(current_hour IS NOT NULL, near_past_hours, null), "
    "judged_hour_of_day = CASE(current_hour IS NOT NULL, near_hours, null) |",
    "STATS history_days = COUNT_DISTINCT(past_days), hours_near_current = MAX(judged_near_hours), "
    "current_hour_of_day = MAX(judged_hour_of_day), current_secrets = MAX(current_secrets), "
    "current_hour = MAX(current_hour), providers = VALUES(current_providers), "
    "identity_types = VALUES(current_identity_types) BY cloud_secrets.identity |",
    "| SORT current_secrets DESC | EVAL user.effective.id = cloud_secrets.identity | KEEP cloud_secrets.identity, "
    "user.effective.id, current_secrets, current_hour, current_hour_of_day, hours_near_current, history_days, "
    "providers, identity_types",
)
COMMANDS = ["WHERE", "EVAL", "STATS", "EVAL", "EVAL", "STATS", "EVAL", "STATS", "WHERE", "SORT", "EVAL", "KEEP"]


def thresholds(rule: Rule) -> tuple[int, int, int] | None:
    """(least secrets, least days, most past hours near) when the rule's query is the one this runner computes,
    whatever the rule is called; None otherwise."""
    if rule.type != "esql" or rule.lookback_ms != HISTORY_DAYS * _DAY_MS:
        return None
    query = flat_query(rule.query) + " |"
    found = CONDITION.search(query)
    if found is None or not all(n in query for n in NEEDLES) or compile_esql(rule.query).commands != COMMANDS:
        return None
    least_secrets, least_days, most_near = (int(x) for x in found.groups())
    return least_secrets, least_days, most_near


def applies(rule: Rule) -> bool:
    return thresholds(rule) is not None


@dataclass
class _Identity:
    hours: deque[SummaryHour] = field(default_factory=deque)  # in time order
    counted: int = 0  # hours[:counted] are past hours, in the counts below
    at_hour: list[int] = field(default_factory=lambda: [0] * 24)  # past hours per hour of the day
    days: Counter[int] = field(default_factory=Counter)  # past hours per day


class UnusualHourRunner(SummaryRunner):
    """The inner runner of `unusual_hour_for_identity` (derived.py feeds it summary rows as the transform
    writes them, hour by hour in order)."""

    state_type = _Identity

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        found = thresholds(rule)
        if found is None:
            raise ValueError(f"{rule.slug}: not the query UnusualHourRunner computes")
        self.least_secrets, self.least_days, self.most_near = found

    def _add(self, ev: Event, identity: Any, cs: dict[str, Any], state: _Identity) -> None:
        hours = state.hours
        if (hours and hours[-1].ts > ev.ts) or (hours and hours[-1].ts == ev.ts and len(hours) == state.counted):
            raise ValueError(f"{self.rule.slug}: summary rows out of the transform's order")
        if not hours or hours[-1].ts < ev.ts:
            hours.append(SummaryHour(ev.ts))
            self.by_hour.setdefault(ev.ts, set()).add(identity)
        hours[-1].add(ev, cs)

    def _forget(self, state: _Identity, gone: SummaryHour) -> None:
        if state.counted:
            state.counted -= 1
            state.at_hour[gone.ts // _HOUR_MS % 24] -= 1
            drop_count(state.days, gone.ts // _DAY_MS)

    def _run(self, run: int) -> None:
        self._expire(run - HISTORY_DAYS * _DAY_MS)
        past_to, recent_to = run - PAST_TO_MINUTES * _MINUTE_MS, run - RECENT_TO_MINUTES * _MINUTE_MS
        found = []
        for identity in self._judged(past_to, recent_to):
            state = self.identities[identity]
            for hour in self._newly_past(state, past_to):
                state.at_hour[hour.ts // _HOUR_MS % 24] += 1
                state.days[hour.ts // _DAY_MS] += 1
            recent = self._recent(state, recent_to)
            of_day = [h.ts // _HOUR_MS % 24 for h in recent]
            near = [sum(state.at_hour[(d + step) % 24] for step in (-1, 0, 1)) for d in of_day]
            current = v.AGGREGATES["MAX"]([h.secrets for h in recent])
            history_days = len(state.days)
            most_near = max(near)
            if current is None or not (current >= self.least_secrets and history_days >= self.least_days
                                       and most_near == self.most_near):
                continue
            rows = [r for h in recent for r in h.rows]
            newest = recent[-1]
            fields = {_IDENTITY: identity, "user.effective.id": identity, "current_secrets": current,
                      "current_hour": v.EsDate(newest.ts), "current_hour_of_day": max(of_day),
                      "hours_near_current": most_near, "history_days": history_days,
                      "providers": counter_values(Counter(r.doc["cloud_secrets"].get("provider") for r in rows)),
                      "identity_types": counter_values(Counter(r.doc["cloud_secrets"].get("identity_type")
                                                               for r in rows))}
            found.append((-current, state.hours[0].rows[0].index, newest.rows, fields))
        self._emit(found, run)
