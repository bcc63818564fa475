"""The rule language: versioned JSON of nested AND / OR groups (each may be negated) of typed conditions.

```json
{"version": 1,
 "root": {"kind": "group", "match": "all", "negate": false, "children": [
     {"kind": "condition", "type": "viewed", "config": {"target": "new_product", "min_count": 3, ...}},
     {"kind": "group", "match": "any", "negate": true, "children": [...]}]}}
```

An empty group restricts nothing (so a new segment with no conditions lists every customer); NOT of an empty group
matches nobody. ``rule_parse`` validates a whole rule when it is saved and says, in Japanese, which condition is wrong
("条件 1 › 2: ..."), so nothing fails later at send time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from pydantic import ValidationError

from tokui.segments.enums import Match, Subject
from tokui.segments.rules.base import ConditionConfig, RuleContext, RuleError, condition_types

RULE_VERSION = 1
MAX_DEPTH = 6
MAX_CONDITIONS = 100


@dataclass(frozen=True, slots=True)
class ConditionNode:
    type: str
    config: ConditionConfig


@dataclass(frozen=True, slots=True)
class GroupNode:
    match: Match = Match.ALL
    negate: bool = False
    children: list[GroupNode | ConditionNode] = field(default_factory=list)


Node = GroupNode | ConditionNode


def empty_rule() -> dict[str, Any]:
    return {"version": RULE_VERSION, "root": {"kind": "group", "match": "all", "negate": False, "children": []}}


def _where(path: list[int]) -> str:
    return _("Condition %(path)s") % {"path": " › ".join(str(index + 1) for index in path)} if path else _("The rule")


def _pydantic_message(error: ValidationError) -> str:
    """A pydantic error in Japanese: our validators' messages as they are, pydantic's own by type."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ()))
    kind = first.get("type", "")
    if kind == "value_error":
        return str(first.get("ctx", {}).get("error", first["msg"]))
    if kind == "extra_forbidden":
        return _("“%(key)s” is not a setting of this condition.") % {"key": location}
    if kind == "missing":
        return _("“%(key)s” is missing.") % {"key": location}
    if kind.startswith(("int_", "float_", "greater_than", "less_than")):
        return _("“%(key)s” must be a whole number in range.") % {"key": location}
    if kind.startswith(("date_", "datetime_")):
        return _("“%(key)s” must be a date such as 2026-04-01.") % {"key": location}
    if kind == "enum":
        return _("“%(key)s” is not one of the choices.") % {"key": location}
    return _("“%(key)s” is not valid.") % {"key": location}


def rule_parse(data: Any, *, subject: Subject, check: bool = True) -> GroupNode:
    """The rule as typed nodes, or ``RuleError`` naming the bad node. ``check`` also validates against the
    database (custom fields, products, tags that must exist): on save, not when compiling a saved rule."""
    if not isinstance(data, dict):
        raise RuleError(_("The rule is not valid JSON of a segment rule."))
    version = data.get("version")
    if version != RULE_VERSION:
        raise RuleError(_("Rule version %(version)s is not supported.") % {"version": version})
    unknown = set(data) - {"version", "root"}
    if unknown:
        raise RuleError(_("“%(key)s” is not part of a rule.") % {"key": sorted(unknown)[0]})
    counter = [0]
    root = _node(data.get("root"), path=[], depth=0, subject=subject, check=check, counter=counter)
    if not isinstance(root, GroupNode):
        raise RuleError(_("A rule starts with a group of conditions."))
    return root


def _node(data: Any, *, path: list[int], depth: int, subject: Subject, check: bool, counter: list[int]) -> Node:
    where = _where(path)
    if not isinstance(data, dict):
        raise RuleError(_("Each part of a rule must be a group or a condition."), path=where)
    kind = data.get("kind")
    if kind == "group":
        if depth >= MAX_DEPTH:
            raise RuleError(_("Groups can be nested at most %(n)s deep.") % {"n": MAX_DEPTH}, path=where)
        unknown = set(data) - {"kind", "match", "negate", "children"}
        if unknown:
            raise RuleError(_("“%(key)s” is not a setting of a group.") % {"key": sorted(unknown)[0]}, path=where)
        match = data.get("match", Match.ALL)
        if match not in Match.values:
            raise RuleError(_("A group matches “all” or “any” of its conditions."), path=where)
        negate = data.get("negate", False)
        if not isinstance(negate, bool):
            raise RuleError(_("“negate” is true or false."), path=where)
        children = data.get("children", [])
        if not isinstance(children, list):
            raise RuleError(_("A group's conditions are a list."), path=where)
        return GroupNode(
            match=Match(match),
            negate=negate,
            children=[
                _node(child, path=[*path, index], depth=depth + 1, subject=subject, check=check, counter=counter)
                for index, child in enumerate(children)
            ],
        )
    if kind != "condition":
        raise RuleError(_("Each part of a rule must be a group or a condition."), path=where)
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise RuleError(_("A rule has at most %(n)s conditions.") % {"n": MAX_CONDITIONS}, path=where)
    unknown = set(data) - {"kind", "type", "config"}
    if unknown:
        raise RuleError(_("“%(key)s” is not a setting of a condition.") % {"key": sorted(unknown)[0]}, path=where)
    condition_type = condition_types.get(str(data.get("type")))
    if condition_type is None:
        raise RuleError(_("“%(type)s” is not a kind of condition.") % {"type": data.get("type")}, path=where)
    if subject not in condition_type.subjects:
        raise RuleError(_("This condition does not apply to this kind of segment."), path=where)
    label = str(condition_type.label)
    try:
        config = condition_type.config_model.model_validate(data.get("config") or {})
    except ValidationError as error:
        raise RuleError(f"{label}: {_pydantic_message(error)}", path=where) from None
    if check:
        try:
            checked = condition_type.check(config, subject=subject)
        except RuleError as error:
            raise RuleError(f"{label}: {error.message}", path=where) from None
        if checked is not None:
            config = checked
    return ConditionNode(type=condition_type.key, config=config)


def rule_dump(root: GroupNode) -> dict[str, Any]:
    """The canonical JSON of parsed nodes (what is stored: cleaned values, defaults filled in)."""
    return {"version": RULE_VERSION, "root": _dump(root)}


def _dump(node: Node) -> dict[str, Any]:
    if isinstance(node, GroupNode):
        return {
            "kind": "group",
            "match": str(node.match),
            "negate": node.negate,
            "children": [_dump(child) for child in node.children],
        }
    return {"kind": "condition", "type": node.type, "config": node.config.model_dump(mode="json")}


def rule_q(node: Node, ctx: RuleContext) -> Q:
    """The whole rule as one ``Q`` over the subject; each condition is ``Exists`` / ``Subquery`` underneath."""
    if isinstance(node, ConditionNode):
        condition_type = condition_types.get(node.type)
        assert condition_type is not None
        return condition_type.compile(node.config, ctx)
    if not node.children:
        # pk IS NOT NULL is true for every row and never NULL, so NOT of it is exactly "nobody".
        return Q(pk__isnull=node.negate)
    parts = [rule_q(child, ctx) for child in node.children]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if node.match == Match.ALL else combined | part
    return ~combined if node.negate else combined


def rule_describe(node: Node, *, top: bool = True) -> str:
    """The rule in plain Japanese: 「過去90日に注文がなく、アパレル卸カテゴリを購入したことがある」."""
    if isinstance(node, ConditionNode):
        condition_type = condition_types.get(node.type)
        assert condition_type is not None
        return condition_type.describe(node.config)
    if not node.children:
        return _("nobody") if node.negate else _("every customer")
    parts = [rule_describe(child, top=False) for child in node.children]
    joiner = _(", and ") if node.match == Match.ALL else _(", or ")
    text = joiner.join(parts)
    if node.negate:
        return _("not (%(rule)s)") % {"rule": text}
    if len(parts) > 1 and not top:
        text = f"（{text}）"
    return text
