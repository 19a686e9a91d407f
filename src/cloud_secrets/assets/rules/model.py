"""Rule definitions as loaded from catalog/rules/*.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RULE_TYPES = ("eql", "esql", "threshold", "new_terms")
LANGUAGE = {"eql": "eql", "esql": "esql", "threshold": "lucene", "new_terms": "lucene"}
# Elastic's risk score bands: a severity's score lies in its band (defaults are the band tops, critical 99).
RISK_BANDS = {"low": (0, 21), "medium": (22, 47), "high": (48, 73), "critical": (74, 100)}


@dataclass(frozen=True)
class Threshold:
    field: tuple[str, ...]
    value: int
    cardinality_field: str | None = None
    cardinality_value: int | None = None


@dataclass(frozen=True)
class NewTerms:
    fields: tuple[str, ...]
    history_window: str  # e.g. "14d"


@dataclass(frozen=True)
class Suppression:
    """Kibana alert suppression: one alert per group of `group_by` values within `duration`."""

    group_by: tuple[str, ...]
    duration: str  # e.g. "1h"


@dataclass(frozen=True)
class Guide:
    summary: str
    investigation: tuple[str, ...]
    false_positive_analysis: tuple[str, ...]
    response: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    slug: str
    rule_id: str
    version: int
    name: str
    type: str
    severity: str
    risk_score: int
    interval: str
    lookback: str
    description: str
    query_template: str
    query: str  # with the catalog's values filled in
    catches: str
    misses: str
    false_positives: tuple[str, ...]
    guide: Guide
    references: tuple[str, ...]
    source: Path
    allowlist: bool = False
    threshold: Threshold | None = None
    new_terms: NewTerms | None = None
    suppression: Suppression | None = None
    deviations: tuple[str, ...] = ()
    why_this_type: str | None = None
    # Kibana building block (`building_block_type: default`): its alerts feed higher-order rules and are
    # hidden from the Alerts table by default.
    building_block: bool = False

    @property
    def language(self) -> str:
        return LANGUAGE[self.type]
