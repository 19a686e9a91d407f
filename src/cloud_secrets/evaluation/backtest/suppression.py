"""Kibana's alert suppression over a time window, applied to the alerts a runner raises.

A rule asset may carry `alert_suppression: {group_by, duration, missing_fields_strategy}` (threshold
rules: `duration` only, grouped by the threshold fields). Kibana then creates the first alert of a group
(the values of the `group_by` fields) and, until `duration` after that alert was created, counts later
alerts of the same group on it instead of creating them; the next alert after the window opens a new one.
With `doNotSuppress`, an alert missing any group field is always created. See Elastic's "Suppress detection
alerts" documentation (alert-suppression) for these rules.

The backtest takes an alert's creation time as the run that raised it (`detected_at`) or, for the
continuously matched EQL sequences, the time of its last event; the group values are read from the alert's
first event, as the sequences of our rules share them (the group fields are their join keys), or from
the row of an aggregating ES|QL query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import UserError
from ...fieldpath import values_of
from .alerts import Alert
from .durations import duration_ms


@dataclass
class Suppressor:
    group_by: list[str]
    window_ms: int
    suppress_missing: bool = False
    open_until: dict[tuple[Any, ...], int] = field(default_factory=dict)
    suppressed: int = 0

    def fresh(self) -> Suppressor:
        """The same settings with no open window (one per run over a file)."""
        return Suppressor(self.group_by, self.window_ms, self.suppress_missing)

    def admit(self, alert: Alert) -> bool:
        """True when Kibana would create this alert; False when it would count it on an open one. Group values
        come from the alert's first document, else from its fields (an aggregating query's row)."""
        doc = alert.first_doc
        group: list[Any] = []
        for name in self.group_by:
            values = values_of(doc, name) if doc is not None else values_of(alert.fields, name)
            if not values and not self.suppress_missing:
                return True
            group.append(tuple(values))
        created = alert.detected_at if alert.detected_at is not None else alert.end
        key = tuple(group)
        until = self.open_until.get(key)
        if until is not None and created < until:
            self.suppressed += 1
            return False
        self.open_until[key] = created + self.window_ms
        if len(self.open_until) > 4096:  # forget closed windows: memory stays bounded on long input
            self.open_until = {k: v for k, v in self.open_until.items() if v > created}
        return True


def suppressor_for(attrs: dict[str, Any], where: str) -> Suppressor | None:
    """The suppressor of a rule's saved-object attributes, or None when it has no `alert_suppression`."""
    spec = attrs.get("alert_suppression")
    if not spec:
        return None
    try:
        duration = spec["duration"]
        window = duration_ms(f"{int(duration['value'])}{duration['unit']}", f"{where}.alert_suppression.duration")
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{where}.alert_suppression.duration: expected {{value, unit}}") from None
    group_by = list(spec.get("group_by") or (attrs.get("threshold") or {}).get("field") or [])
    if isinstance(group_by, str):
        group_by = [group_by]
    if not group_by:
        raise UserError(f"{where}.alert_suppression.group_by: no fields to group by")
    return Suppressor(group_by, window, spec.get("missing_fields_strategy") == "suppress")
