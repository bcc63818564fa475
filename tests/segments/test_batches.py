"""A refresh for new facts evaluates a rule for a batch of customers named once, however large the batch."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import CompanyFactory
from tokui.segments.compiler import rule_matches
from tokui.segments.enums import Subject
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db


def viewed(min_count: int) -> dict[str, Any]:
    return {
        "kind": "condition",
        "type": "viewed",
        "config": {"target": "any_product", "min_count": min_count, "period": {"kind": "last_days", "days": 7}},
    }


def test_a_batch_larger_than_the_databases_parameter_limits_is_one_parameter_per_mention() -> None:
    # Two "at least N" conditions and 40,000 ids: three mentions of the batch, 120,000 values, more than SQLite's
    # 32,766 and PostgreSQL's 65,535 parameters if each id were its own.
    twice, thrice = CompanyFactory(), CompanyFactory()
    now = timezone.now()
    for company, times in ((twice, 2), (thrice, 3)):
        for minutes in range(times):
            Event.objects.create(
                type=EventType.PRODUCT_VIEWED,
                company=company,
                occurred_at=now - dt.timedelta(minutes=minutes),
                properties={"sku": "S1"},
            )
    rule = {
        "version": 1,
        "root": {
            "kind": "group",
            "match": "all",
            "negate": False,
            "children": [viewed(1), viewed(2), viewed(3)],
        },
    }
    batch = [*range(10_000_000, 10_040_000), twice.pk, thrice.pk]
    matches = rule_matches(rule=rule, subject=Subject.COMPANY, now=now, customer_ids=batch)
    assert set(matches.values_list("pk", flat=True)) == {thrice.pk}
    only_twice = rule_matches(rule=rule, subject=Subject.COMPANY, now=now, customer_ids=[twice.pk])
    assert not only_twice.exists()
    assert not rule_matches(rule=rule, subject=Subject.COMPANY, now=now, customer_ids=[]).exists()
