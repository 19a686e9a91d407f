"""Timestamps, read and written one way everywhere.

Elasticsearch's `date` fields take `strict_date_optional_time||epoch_millis` by default: ISO 8601 text, or
a whole number of milliseconds since the epoch. `to_ms` reads exactly that (text without an offset is UTC),
and every module that reads a document's time uses it. The simulator's own clock counts seconds since the
epoch (`Timestamp`), which `epoch_seconds` and `iso` turn into what the integrations write.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

#: A point in time of the simulator's clock: an aware `datetime`, or seconds since the epoch (UTC).
Timestamp = datetime | float | int


def to_ms(value: object) -> int:
    """A document's date value -> epoch milliseconds: ISO 8601 text (UTC when no offset is given), a
    whole number of epoch milliseconds, or a `datetime` (naive taken as UTC). Anything else is a ValueError."""
    if type(value) is int:
        return value
    if type(value) is str:
        parsed = datetime.fromisoformat(value)
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise ValueError(f"expected an ISO 8601 date or epoch milliseconds, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MS


def to_datetime(value: object) -> datetime:
    """A document's date value (as `to_ms` reads it) -> an aware UTC `datetime`."""
    return _EPOCH + to_ms(value) * _MS


def hour_of(ts: datetime) -> datetime:
    """The start of the hour holding `ts`."""
    return ts.replace(minute=0, second=0, microsecond=0)


def epoch_seconds(ts: Timestamp) -> float:
    """Seconds since the epoch for `ts` (a naive `datetime` is taken as UTC)."""
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return ts.timestamp()
    return float(ts)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds -> `2026-03-02T10:15:32.123Z`, the precision Elasticsearch date fields keep."""
    days, ms_of_day = divmod(ms, 86_400_000)
    seconds, millis = divmod(ms_of_day, 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{_day(days)}T{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}Z"


def iso(ts: Timestamp) -> str:
    """A point in time (`datetime` or epoch seconds) -> `2026-03-02T10:15:32.123Z`."""
    return iso_ms(round(epoch_seconds(ts) * 1000))


@lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(days * 86400))
