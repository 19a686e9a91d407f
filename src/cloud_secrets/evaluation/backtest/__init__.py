"""Offline backtest of the rule pack over tagged documents, with Elasticsearch's and Kibana's semantics.

`run_file(path, rules)` streams a file of `cloud-secrets tag` output through every rule (see run.py),
`package_rules()` reads the rules from the package's Kibana assets, `assess()` scores alerts against the
simulator's labels and `build_report()` writes the HTML page. docs/backtest.md explains the semantics.
"""

from __future__ import annotations

from .alerts import Alert
from .quality import Quality, assess, markdown, read_labels
from .rulepack import Rule, package_rules, seed_as_written, select
from .run import Result, run_file, run_lines

__all__ = [
    "Alert", "Quality", "Result", "Rule", "assess", "markdown", "package_rules", "read_labels", "run_file",
    "run_lines", "seed_as_written", "select",
]
