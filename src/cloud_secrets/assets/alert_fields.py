"""What Kibana maps in Elastic Security's alerts indices (`.alerts-security.alerts-*`), from
catalog/kibana_alert_fields.yml: the only fields a dashboard panel or a rule over alerts can search, filter or
group on (the index template is `dynamic: false`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .. import paths
from .yamlsrc import load

ALERT_FIELD_MAP = paths.CATALOG / "kibana_alert_fields.yml"
ALERTS_INDEX = ".alerts-security.alerts-*"


@cache
def alert_field_map(path: Path = ALERT_FIELD_MAP) -> dict[str, str]:
    """Field -> type of what Kibana maps in `.alerts-security.alerts-*` (ECS and Kibana's alert fields)."""
    src = load(path)
    out: dict[str, str] = {}
    for section in ("ecs", "kibana"):
        entries = src.data.get(section) if isinstance(src.data, dict) else None
        if not isinstance(entries, dict) or not entries:
            raise src.fail(section, "expected a mapping of field name -> type")
        for name, ftype in entries.items():
            if not isinstance(ftype, str):
                raise src.fail(f"{section}.{name}", f"expected a field type, got {ftype!r}")
            out[str(name)] = ftype
    return out
