"""`cloud-secrets sigma convert`: the Sigma rule set through pySigma's backends.

Two defects of pysigma-backend-elasticsearch 2.1.1's EQL correlations are corrected in a subclass:
- an `event_count` over several rules became `sequence [q1] [q2] ... with runs=N` (an ordered chain whose last
  step repeats), not N events of any of the rules: it is rendered as one `[any where (q1) or (q2) ...]` step;
- a `value_count` became `[...] by field with runs=N` (N events with the *same* value, the opposite of N
  distinct values). EQL cannot count distinct values, so it is refused with a pointer to `--target esql`;
- `temporal_ordered` rendered an empty `by` and `with runs=`: it is rendered as a plain ordered sequence;
- a number compared with `:` (`code:0`), which EQL rejects: it is rendered with `==`.
For Microsoft Sentinel (kusto) the backend tests emptiness instead of null (see SentinelKustoBackend).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sigma.backends.elasticsearch import EqlBackend, ESQLBackend
from sigma.backends.kusto import KustoBackend
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import SpecialChars

from ... import paths
from ...errors import UserError
from .. import indices
from ..catalog import Catalog, catalog
from . import sigma_pipeline

TARGETS = ("eql", "esql", "splunk", "kusto")


class CloudSecretsEqlBackend(EqlBackend):
    temporal_ordered_aggregation_expression: ClassVar[dict[str, str]] = {"sequence": ""}
    temporal_ordered_condition_expression: ClassVar[dict[str, str]] = {"sequence": ""}

    def convert_condition_field_eq_val_num(self, cond: Any, state: Any) -> Any:
        # `field : 0` is not EQL (`:` compares strings); a number needs `==`.
        return f"{self.escape_and_quote_field(cond.field)} == {cond.value}"

    def convert_correlation_search(self, rule: SigmaCorrelationRule, **kwargs: Any) -> str:
        if rule.type == SigmaCorrelationType.VALUE_COUNT:
            raise NotImplementedError("EQL cannot count distinct values; convert value_count rules with "
                                      "--target esql or splunk")
        if rule.type == SigmaCorrelationType.EVENT_COUNT and len(rule.referenced_rules) > 1:
            queries = [q for ref in rule.referenced_rules for q in ref.rule.get_conversion_result()]
            return "[any where " + " or ".join(f"({q})" for q in queries) + "]"
        return super().convert_correlation_search(rule, **kwargs)


class SentinelKustoBackend(KustoBackend):
    """Kusto string columns are never null, only empty: test emptiness, and read a lone `*` as "any value"
    (the stock backend renders `startswith ""`, which an empty column also matches)."""

    field_null_expression: ClassVar[str] = "isempty({field})"

    def convert_condition_field_eq_val_str(self, cond: Any, state: Any) -> Any:
        if list(cond.value.s) == [SpecialChars.WILDCARD_MULTI]:
            return f"isnotempty({self.escape_and_quote_field(cond.field)})"
        return super().convert_condition_field_eq_val_str(cond, state)


@dataclass(frozen=True)
class Converted:
    name: str
    title: str
    kind: str  # "rule" or the correlation type
    query: str | None
    error: str | None = None


def load_collection(directory: Path | None = None) -> SigmaCollection:
    directory = directory or paths.SIGMA
    files = sorted(directory.rglob("*.yml"))
    if not files:
        raise UserError(f"{directory}: no Sigma rules (*.yml); run `cloud-secrets generate`")
    try:
        return SigmaCollection.load_ruleset([str(f) for f in files])
    except SigmaError as err:
        raise UserError(f"Sigma rule set does not load: {err}") from None


def _backend(target: str, cat: Catalog) -> Any:
    if target == "eql":
        return CloudSecretsEqlBackend(sigma_pipeline.ecs_pipeline(cat))
    if target == "esql":
        return ESQLBackend(sigma_pipeline.ecs_pipeline(cat))
    if target == "splunk":
        return SplunkBackend()
    if target == "kusto":
        return SentinelKustoBackend(sigma_pipeline.sentinel_pipeline())
    raise UserError(f"unknown target {target!r} (expected one of {', '.join(TARGETS)})")


def _esql_sources(query: str, cat: Catalog) -> str:
    """The ES|QL backend queries `from *`; point it at the integrations' data streams."""
    patterns = ", ".join(indices.index_pattern(d) for d in indices.datasets_of(cat, ("read", "batch_read", "list")))
    prefix = "from * metadata _id, _index, _version"
    if query.startswith(prefix):
        return f"from {patterns} metadata _id, _index, _version" + query[len(prefix):]
    return query.replace("from * ", f"from {patterns} ", 1)


def _queries(backend: Any, target: str, rule: SigmaRule | SigmaCorrelationRule, cat: Catalog) -> list[str]:
    if isinstance(rule, SigmaCorrelationRule):
        result = backend.convert_correlation_rule(rule)
    else:
        result = backend.convert_rule(rule)
    queries = [str(q) for q in result]
    return [_esql_sources(q, cat) for q in queries] if target == "esql" else queries


def _kind(rule: SigmaRule | SigmaCorrelationRule) -> str:
    return rule.type.name.lower() if isinstance(rule, SigmaCorrelationRule) else "rule"


def convert(target: str, collection: SigmaCollection | None = None, cat: Catalog | None = None) -> list[Converted]:
    """Convert every rule of the set; a rule the target cannot express gets an error instead of a query.

    A base rule is converted on its own: inside a collection whose correlations reference it, pySigma leaves
    it unfinished (a bare condition) so that the correlation can embed it."""
    cat = cat or catalog()
    # pySigma's pipelines rewrite the rule objects they process: work on a copy so that the caller's
    # collection can be converted again for another target.
    collection = copy.deepcopy(collection or load_collection())
    corr_backend = _backend(target, cat)
    out: list[Converted] = []
    # Base rules first: a correlation reads the conversion results of the rules it references.
    for rule in sorted(collection, key=lambda r: isinstance(r, SigmaCorrelationRule)):
        name = rule.name or str(rule.id)
        try:
            if isinstance(rule, SigmaCorrelationRule):
                queries = _queries(corr_backend, target, rule, cat)
            else:
                corr_backend.convert_rule(rule)  # its raw result, for the correlations
                queries = _queries(_backend(target, cat), target, SigmaRule.from_dict(rule.to_dict()), cat)
        except (NotImplementedError, SigmaError) as err:
            message = str(err).split(" (while converting")[0].split(" in /")[0]
            out.append(Converted(name, rule.title, _kind(rule), None, message))
            continue
        out.extend(Converted(name, rule.title, _kind(rule), q) for q in queries)
    return out
