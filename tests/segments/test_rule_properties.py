"""Compiled SQL == plain-Python evaluation, for random rule trees over random small shops (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.segments.reference import Evaluator, load_world
from tests.segments.strategies import NOW, RULES, shop_write, shops
from tokui.segments.compiler import rule_matches
from tokui.segments.rules import rule_dump, rule_parse

pytestmark = pytest.mark.django_db


@settings(
    max_examples=int(os.environ.get("SEGMENT_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(shop=shops(), rules=st.lists(RULES, min_size=4, max_size=4), subject=st.sampled_from(["company", "contact"]))
def test_compiled_rule_returns_exactly_the_customers_the_python_evaluation_returns(
    shop: dict[str, Any], rules: list[dict[str, Any]], subject: str
) -> None:
    with transaction.atomic():
        shop_write(shop)
        world = load_world()
        for rule in rules:
            canonical = rule_dump(rule_parse(rule, subject=subject))
            expected = Evaluator(world, subject=subject, now=NOW).members(canonical)
            actual = set(rule_matches(rule=canonical, subject=subject, now=NOW).values_list("pk", flat=True))
            assert actual == expected, canonical
            # A refresh for new facts evaluates only some customers: the same answer, restricted to them.
            some = [*sorted(expected)[::2], 9500, 9601]
            partial = rule_matches(rule=canonical, subject=subject, now=NOW, customer_ids=some)
            assert set(partial.values_list("pk", flat=True)) == expected & set(some), canonical
        transaction.set_rollback(True)
