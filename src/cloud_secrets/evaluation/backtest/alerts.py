"""An alert as the backtest reports it, and its JSON line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...fieldpath import values_of
from ...timestamps import iso_ms
from .esql_values import EsDate
from .events import Event

#: The fields an alert reads of its first document when its result names no identity or address.
IDENTITY_FIELDS = ("cloud_secrets.identity", "user.name", "user.effective.id")
ADDRESS_FIELD = "source.ip"
ALERT_FIELDS = (*IDENTITY_FIELDS, ADDRESS_FIELD)


@dataclass
class Alert:
    rule: str
    identity: str | None
    source_ip: str | None
    start: int  # epoch ms of the first event
    end: int  # epoch ms of the last event
    event_count: int
    events: list[int]  # 0-based document indices (the label file's `index`)
    lines: list[int]  # 1-based line numbers in the input
    detected_at: int | None = None  # the scheduled run that raised it (scheduled rule types)
    fields: dict[str, Any] = field(default_factory=dict)
    # the first event's document, kept only until alert suppression has read its group values
    first_doc: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    building_block: bool = False  # raised by a building-block rule (hidden from the analyst's Alerts table)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule, "identity": self.identity, "source_ip": self.source_ip,
            "start": iso_ms(self.start), "end": iso_ms(self.end), "event_count": self.event_count,
            "building_block": self.building_block,
        }
        if self.detected_at is not None:
            out["detected_at"] = iso_ms(self.detected_at)
        if self.fields:
            out["fields"] = {k: _plain(v) for k, v in self.fields.items()}
        out["lines"] = self.lines
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, EsDate):
        return iso_ms(int(value))
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _first(doc: dict[str, Any] | None, *names: str) -> str | None:
    if doc is None:
        return None
    for name in names:
        vals = values_of(doc, name)
        if vals:
            return str(vals[0])
    return None


def alert_from_events(rule: str, events: list[Event], *, identity: Any = None, source_ip: Any = None,
                      detected_at: int | None = None, fields: dict[str, Any] | None = None) -> Alert:
    """An alert over `events` (in time order); identity and address default to the first event's."""
    first = events[0] if events else None
    doc = first.doc if first else None
    ident = identity if identity not in (None, []) else _first(doc, *IDENTITY_FIELDS)
    ip = source_ip if source_ip not in (None, []) else _first(doc, ADDRESS_FIELD)
    if isinstance(ident, list):
        ident = ",".join(map(str, ident))
    if isinstance(ip, list):
        ip = ",".join(map(str, ip))
    return Alert(
        rule=rule, identity=None if ident is None else str(ident), source_ip=None if ip is None else str(ip),
        start=min((e.ts for e in events), default=detected_at or 0),
        end=max((e.ts for e in events), default=detected_at or 0),
        event_count=len(events), events=[e.index for e in events], lines=[e.line for e in events],
        detected_at=detected_at, fields=fields or {}, first_doc=doc,
    )
