"""The rule pack: definitions (catalog/rules/), Kibana assets, Sigma rules, hunting queries and playbook."""

from .loader import load_rules, rules
from .model import Rule

__all__ = ["Rule", "load_rules", "rules"]
