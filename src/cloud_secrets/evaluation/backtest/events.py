"""One input document as the engines see it: its position in the file, its time and its fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Event:
    index: int  # 0-based position among the file's non-blank lines (the label file's `index`)
    line: int  # 1-based line number in the file
    ts: int  # @timestamp in epoch milliseconds (`timestamps.to_ms`)
    doc: dict[str, Any]
