"""Kibana and EQL durations (`10m`, `now-70m`, `maxspan=1h`) in milliseconds."""

from __future__ import annotations

import re

from ...errors import UserError

UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_DURATION = re.compile(r"^\s*(?:now-)?(\d+)\s*(ms|s|m|h|d|w)\s*$")


def duration_ms(text: str, what: str = "duration") -> int:
    """`10m` -> 600000; `now-70m` (a rule's `from`) -> 4200000."""
    match = _DURATION.match(text or "")
    if not match:
        raise UserError(f"{what} {text!r} is not a duration such as 10m, 1h or now-70m")
    return int(match.group(1)) * UNIT_MS[match.group(2)]
