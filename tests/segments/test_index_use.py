"""The compiled conditions can be answered from the indexes made for them (ADR 19), on PostgreSQL.

An expression index is used only when the query has exactly its expression, and a partial index only when the query
implies its condition: a change to either side would silently bring back scans of 20M events. With it the only
index of its table and sequential scans off, the plan names it whenever the planner can use it at all.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from tests.factories import CompanyFactory, ProductFactory
from tokui.segments.compiler import rule_matches
from tokui.segments.enums import Subject

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes are planned by PostgreSQL"),
]


def rule(config_type: str, **config: Any) -> dict[str, Any]:
    condition = {"kind": "condition", "type": config_type, "config": config}
    return {"version": 1, "root": {"kind": "group", "match": "all", "negate": False, "children": [condition]}}


def plan(data: dict[str, Any], *, keep: str, subject: Subject = Subject.COMPANY) -> str:
    """The plan of the rule's query when ``keep`` is the only index of its table (the others dropped inside a
    transaction that is rolled back): on a nearly empty test table the planner would otherwise pick any index."""
    sql, params = rule_matches(rule=data, subject=subject).values("pk").query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname FROM pg_indexes i WHERE i.tablename = (SELECT tablename FROM pg_indexes"
            " WHERE indexname = %s) AND i.indexname <> %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conname = i.indexname)",
            [keep, keep],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        text = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return text


@pytest.mark.parametrize("subject", [Subject.COMPANY, Subject.CONTACT])
@pytest.mark.parametrize("min_count", [1, 3])
def test_product_and_category_views_read_their_indexes(subject: Subject, min_count: int) -> None:
    CompanyFactory()
    product = ProductFactory(is_new=True)
    days = {"kind": "last_days", "days": 30}
    viewed = rule("viewed", target="product", products=[product.pk], min_count=min_count, period=days)
    assert "event_viewed_sku" in plan(viewed, keep="event_viewed_sku", subject=subject)
    new = rule("viewed", target="new_product", min_count=min_count, period={"kind": "this_week"})
    assert "event_viewed_sku" in plan(new, keep="event_viewed_sku", subject=subject)
    category = rule("viewed", target="category", categories=[product.category_id], min_count=min_count, period=days)
    assert "event_viewed_category" in plan(category, keep="event_viewed_category", subject=subject)


@pytest.mark.parametrize("op", ["did", "did_not"])
def test_mail_conditions_read_the_mail_index(op: str) -> None:
    CompanyFactory()
    data = rule("message", op=op, action="mail_opened", period={"kind": "last_days", "days": 30})
    assert "event_mail_time" in plan(data, keep="event_mail_time")


def test_orders_of_a_period_are_read_from_the_covering_index() -> None:
    CompanyFactory()
    data = rule("purchased", period={"kind": "last_days", "days": 180}, min_count=2, min_amount=20000)
    assert "order_placed_covering" in plan(data, keep="order_placed_covering")
    product = ProductFactory()
    lines = rule("purchased", products=[product.pk], period={"kind": "last_days", "days": 90})
    assert "order_line_product_covering" in plan(lines, keep="order_line_product_covering")


@pytest.mark.parametrize(
    ("subject", "index"),
    [(Subject.COMPANY, "order_company_revenue_time"), (Subject.CONTACT, "order_contact_revenue_time")],
)
def test_at_least_two_orders_are_grouped_from_the_customers_counted_orders_index(subject: Subject, index: str) -> None:
    # Partial on "has this customer and is not cancelled or refunded": usable only while the compiled subquery
    # states both (ADR 22).
    CompanyFactory()
    data = rule("purchased", period={"kind": "last_days", "days": 180}, min_count=2, min_amount=20000)
    assert index in plan(data, keep=index, subject=subject)


@pytest.mark.parametrize(
    ("subject", "index"), [(Subject.COMPANY, "company_live_id"), (Subject.CONTACT, "contact_live_id")]
)
def test_live_customers_are_read_from_their_partial_id_index(subject: Subject, index: str) -> None:
    # Partial on "not archived": the compiled rule states it for every subject, so the ids come from this index.
    CompanyFactory()
    data = rule("purchased", period={"kind": "last_days", "days": 180}, min_count=2, min_amount=20000)
    assert index in plan(data, keep=index, subject=subject)
