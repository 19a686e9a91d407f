"""Where the rules and the transform look: the index patterns of the official data streams that hold the
catalog's operations, and the package's own data stream."""

from __future__ import annotations

from collections.abc import Iterable

from .catalog import Catalog
from .package_assets import package_dataset


def index_pattern(dataset: str) -> str:
    """The index pattern of an official integration's data stream."""
    return f"logs-{dataset}-*"


def datasets_of(cat: Catalog, classes: Iterable[str]) -> list[str]:
    """Datasets holding at least one operation of the given classes, in catalog order."""
    wanted = set(classes)
    out: list[str] = []
    for op in cat.operations:
        if op.op_class in wanted and op.dataset not in out:
            out.append(op.dataset)
    return out


def rule_indices(cat: Catalog, classes: Iterable[str]) -> list[str]:
    """Where a rule looks: the official data streams of the datasets holding these operations, and the
    package's own data stream, where `cloud-secrets replay` writes simulated documents."""
    return [index_pattern(d) for d in [*datasets_of(cat, classes), package_dataset()]]
