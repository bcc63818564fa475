"""The rule language's edges: empty groups, NOT of nothing, customers without orders, JST day boundaries, and
rules refused at save time with a Japanese message naming the bad condition."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import CompanyFactory, ContactFactory, OrderFactory, ProductFactory
from tokui.analytics.services import stats_refresh
from tokui.core.time import site_zone
from tokui.segments.compiler import rule_matches
from tokui.segments.rules import RuleError, rule_describe, rule_parse
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 10, 15, 10, tzinfo=dt.UTC)  # 00:10 on 11 June in Tokyo


def rule(*children: dict[str, Any], match: str = "all", negate: bool = False) -> dict[str, Any]:
    return {"version": 1, "root": group(*children, match=match, negate=negate)}


def group(*children: dict[str, Any], match: str = "all", negate: bool = False) -> dict[str, Any]:
    return {"kind": "group", "match": match, "negate": negate, "children": list(children)}


def cond(type: str, **config: Any) -> dict[str, Any]:
    return {"kind": "condition", "type": type, "config": config}


def members(data: dict[str, Any], subject: str = "company") -> set[int]:
    return set(rule_matches(rule=data, subject=subject, now=NOW).values_list("pk", flat=True))


def test_empty_rule_lists_every_customer_but_not_archived_ones() -> None:
    a, b = CompanyFactory(), CompanyFactory()
    CompanyFactory(archived_at=NOW)
    assert members(rule()) == {a.pk, b.pk}
    assert members(rule(match="any")) == {a.pk, b.pk}


def test_not_of_an_empty_group_matches_nobody_and_empty_inner_groups_restrict_nothing() -> None:
    a = CompanyFactory(prefecture="13")
    CompanyFactory(prefecture="27")
    assert members(rule(negate=True)) == set()
    assert members(rule(group(match="any"), cond("company_field", field="prefecture", op="in", value=["13"]))) == {a.pk}
    assert members(rule(group(negate=True), cond("company_field", field="prefecture", op="in", value=["13"]))) == set()


def test_customers_without_orders_have_zero_orders_and_never_bought() -> None:
    never = CompanyFactory()
    buyer = CompanyFactory()
    OrderFactory(company=buyer, placed_at=NOW - dt.timedelta(days=3))
    stats_refresh(company_ids=[buyer.pk], contact_ids=[])
    assert members(rule(cond("order_stats", metric="order_count", op="lt", value=1))) == {never.pk}
    assert members(rule(cond("order_stats", metric="order_count", op="gte", value=1))) == {buyer.pk}
    assert members(rule(cond("purchased", op="not_bought"))) == {never.pk}
    # No order date: date operators do not match a customer who never ordered (use "did not buy" for them).
    assert members(rule(cond("order_stats", metric="last_order_on", op="not_within_last_days", value=60))) == set()


def test_relative_periods_are_site_zone_days() -> None:
    """At 00:10 JST, an order 15 minutes earlier was yesterday in Tokyo although it is the same UTC day."""
    company = CompanyFactory()
    OrderFactory(company=company, placed_at=NOW - dt.timedelta(minutes=15))
    today_only = rule(cond("purchased", period={"kind": "last_days", "days": 1}))
    two_days = rule(cond("purchased", period={"kind": "last_days", "days": 2}))
    assert members(today_only) == set()
    assert members(two_days) == {company.pk}
    on_utc_day = rule(cond("purchased", period={"kind": "between", "start": "2026-06-10", "end": "2026-06-10"}))
    assert members(on_utc_day) == {company.pk}
    # The week starts on Monday 8 June in Tokyo.
    OrderFactory(company=CompanyFactory(), placed_at=dt.datetime(2026, 6, 7, 23, 59, tzinfo=site_zone()))
    assert members(rule(cond("purchased", period={"kind": "this_week"}))) == {company.pk}


def test_viewed_new_products_three_times_and_no_order_in_sixty_days() -> None:
    new = ProductFactory(is_new=True, sku="NEW-1")
    old = ProductFactory(is_new=False, sku="OLD-1")
    keen, lukewarm, ordered = CompanyFactory(), CompanyFactory(), CompanyFactory()
    for company, sku, times in (
        (keen, new.sku, 3),
        (lukewarm, new.sku, 2),
        (lukewarm, old.sku, 5),
        (ordered, new.sku, 3),
    ):
        Event.objects.bulk_create(
            [
                Event(
                    type="product_viewed",
                    company=company,
                    occurred_at=NOW - dt.timedelta(hours=i + 1),
                    properties={"sku": sku},
                )
                for i in range(times)
            ]
        )
    OrderFactory(company=ordered, placed_at=NOW - dt.timedelta(days=10), total=Decimal(5000))
    data = rule(
        cond("viewed", target="new_product", min_count=3, period={"kind": "this_week"}),
        cond("purchased", op="not_bought", period={"kind": "last_days", "days": 60}),
    )
    assert members(data) == {keen.pk}
    assert rule_describe(rule_parse(data, subject="company")) == (
        "今週 新着商品を3回以上閲覧した、かつ過去60日間 注文していない"
    )


def test_contact_segments_lift_company_conditions_and_company_segments_lift_contact_ones() -> None:
    tokyo = CompanyFactory(prefecture="13")
    buyer = ContactFactory(company=tokyo, email="buyer@shop.jp")
    ContactFactory(company=CompanyFactory(prefecture="27"), email="other@shop.jp")
    individual = ContactFactory(company=None, email="me@home.jp")
    assert members(rule(cond("company_field", field="prefecture", op="in", value=["13"])), "contact") == {buyer.pk}
    not_tokyo = rule(cond("company_field", field="prefecture", op="in", value=["13"]), negate=True)
    assert individual.pk in members(not_tokyo, "contact")
    assert members(rule(cond("contact_field", field="email", op="contains", value="buyer@"))) == {tokyo.pk}


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        (
            rule(cond("company_field", field="colour", op="eq", value="x")),
            "条件 1",
            "「colour」は条件にできる項目ではありません",
        ),
        (rule(group(cond("order_stats", metric="order_count", op="like", value=1))), "条件 1 › 1", "「like」"),
        (rule(cond("no_such_condition")), "条件 1", "「no_such_condition」は条件の種類ではありません"),
        (rule(cond("purchased", products=[987654])), "条件 1", "商品 987654 はもうありません"),
        (rule(cond("viewed", target="product")), "条件 1", "商品を1つ以上選んでください"),
        (rule(cond("purchased", colour="red")), "条件 1", "「colour」はこの条件の設定項目ではありません"),
        (rule(cond("custom_field", entity="company", key="nope", op="eq", value="x")), "条件 1", "カスタム項目"),
    ],
)
def test_bad_rules_are_refused_with_a_japanese_message_naming_the_condition(
    data: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(RuleError) as error:
        rule_parse(data, subject="company")
    assert error.value.path == path
    assert message in error.value.message


def test_unknown_rule_version_is_refused() -> None:
    with pytest.raises(RuleError, match="バージョン"):
        rule_parse({"version": 99, "root": group()}, subject="company")
