"""The allowlist a team running the simulated world would write: its CI/CD, infrastructure-as-code and
secret-rotation identities, the automation it knows it runs (never the applications or people).

Read from the label file (the simulated actors' kinds are ground truth the documents never carry); the
YAML is the format of `cloud-secrets rules export --allowlist` and `cloud-secrets backtest --allowlist`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import yaml

from ...errors import UserError

AUTOMATION_KINDS = ("ci", "iac", "rotation")  # an actor is `<cloud>-<kind>:<name>` in the labels


def automation_identities(label_lines: Iterable[str]) -> list[str]:
    found: set[str] = set()
    for line in label_lines:
        label = json.loads(line)
        kind = str(label.get("actor", "")).split(":", 1)[0].rsplit("-", 1)[-1]
        if label.get("kind") == "benign" and kind in AUTOMATION_KINDS and label.get("identity"):
            found.add(label["identity"])
    return sorted(found)


def write_allowlist(labels_path: Path, out_path: Path) -> int:
    """Write the allowlist of the automation identities in a label file; return how many."""
    try:
        with labels_path.open(encoding="utf-8") as handle:
            identities = automation_identities(handle)
    except OSError as err:
        raise UserError(f"cannot read labels {labels_path}: {err.strerror}") from None
    header = ("# The CI/CD, infrastructure-as-code and rotation identities of a simulated world, written by\n"
              "# `cloud-secrets simulate --allowlist-out`.\n"
              "# Use with `backtest --allowlist` or `rules export --allowlist`.\n")
    try:
        out_path.write_text(header + yaml.safe_dump({"identities": identities}, sort_keys=False), encoding="utf-8")
    except OSError as err:
        raise UserError(f"cannot write {out_path}: {err.strerror}") from None
    return len(identities)
