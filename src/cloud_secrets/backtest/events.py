"""One input document as the engines see it: its position in the file, its time and its fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(slots=True)
class Event:
    index: int  # 0-based position among the file's non-blank lines (the label file's `index`)
    line: int  # 1-based line number in the file
    ts: int  # @timestamp in epoch milliseconds
    doc: dict[str, Any]


def parse_timestamp(value: Any) -> int:
    """ISO 8601 text or epoch milliseconds -> epoch milliseconds (UTC when no offset is given)."""
    if type(value) is int:
        return value
    if type(value) is not str:
        raise ValueError(f"expected an ISO 8601 date, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MS


def iso(ms: int) -> str:
    """Epoch milliseconds -> `2026-03-02T00:00:04.376Z`."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
