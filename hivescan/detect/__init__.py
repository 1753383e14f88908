"""Detection: rules as data (``hivescan/rules``), an engine that explains its matches, findings."""

from hivescan.detect.engine import Engine, sort_findings
from hivescan.detect.finding import Evidence, Finding, Match
from hivescan.detect.rules import SEVERITIES, InvalidRule, Rule, RuleSet, load_rules

__all__ = [
    "SEVERITIES",
    "Engine",
    "Evidence",
    "Finding",
    "InvalidRule",
    "Match",
    "Rule",
    "RuleSet",
    "load_rules",
    "sort_findings",
]
