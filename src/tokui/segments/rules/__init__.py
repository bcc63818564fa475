"""The segment rule language: typed conditions (one module per family), the rule tree, its compiler to ``Q``."""

from tokui.segments.rules import activity, attributes, messages, reach, stats  # noqa: F401  (register the condition types)
from tokui.segments.rules.base import ConditionType, RuleContext, RuleError, condition_types
from tokui.segments.rules.tree import (
    RULE_VERSION,
    ConditionNode,
    GroupNode,
    empty_rule,
    rule_describe,
    rule_dump,
    rule_parse,
    rule_q,
)

__all__ = [
    "RULE_VERSION",
    "ConditionNode",
    "ConditionType",
    "GroupNode",
    "RuleContext",
    "RuleError",
    "condition_types",
    "empty_rule",
    "rule_describe",
    "rule_dump",
    "rule_parse",
    "rule_q",
]
