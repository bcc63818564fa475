"""Segments as stored objects: create, change (versions), refresh with entered / left facts, refresh for new facts
of only the customers they name, static lists from CSV and snapshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import CompanyFactory, ContactFactory, ProductFactory, UserFactory
from tokui.core.errors import DomainError
from tokui.customers.models import Contact
from tokui.segments import services
from tokui.segments.enums import SegmentKind, StaticSource, Subject
from tokui.segments.models import Segment, SegmentMember, SegmentSize
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event
from tokui.tracking.services import event_record

pytestmark = pytest.mark.django_db

CaptureCallbacks = Callable[..., Any]


def rule(*children: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "root": {"kind": "group", "match": "all", "negate": False, "children": list(children)}}


def tokyo() -> dict[str, Any]:
    return {
        "kind": "condition",
        "type": "company_field",
        "config": {"field": "prefecture", "op": "in", "value": ["13"]},
    }


def members(segment: Segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))


def test_creating_a_dynamic_segment_fills_it_and_writes_entered_facts(
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    inside, outside = CompanyFactory(prefecture="13"), CompanyFactory(prefecture="27")
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        segment = services.segment_create(name="東京の取引先", subject=Subject.COMPANY, actor=user, rule=rule(tokyo()))
    segment.refresh_from_db()
    assert members(segment) == {inside.pk}
    assert segment.member_count == 1
    fact = Event.objects.get(type=EventType.SEGMENT_ENTERED)
    assert fact.company_id == inside.pk
    assert fact.properties == {"segment_id": segment.pk, "segment_name": "東京の取引先"}
    assert not Event.objects.filter(company=outside).exists()
    version = segment.versions.get()
    assert (version.number, version.changed_by, version.summary) == (1, user, "取引先の都道府県が東京都のいずれか")


def test_changing_the_rule_adds_a_version_and_moves_members_with_left_facts(
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    tokyo_company, osaka_company = CompanyFactory(prefecture="13"), CompanyFactory(prefecture="27")
    first, second = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        segment = services.segment_create(name="s", subject=Subject.COMPANY, actor=first, rule=rule(tokyo()))
    osaka = {
        "kind": "condition",
        "type": "company_field",
        "config": {"field": "prefecture", "op": "in", "value": ["27"]},
    }
    with django_capture_on_commit_callbacks(execute=True):
        services.segment_update(segment=segment, actor=second, rule=rule(osaka))
    assert members(segment) == {osaka_company.pk}
    assert Event.objects.filter(type=EventType.SEGMENT_LEFT, company=tokyo_company).count() == 1
    assert [(v.number, v.changed_by) for v in segment.versions.all()] == [(2, second), (1, first)]
    # Saving the same rule again is not a new version.
    services.segment_update(segment=segment, actor=second, rule=rule(osaka))
    assert segment.versions.count() == 2


def test_a_bad_rule_is_refused_on_save_and_the_stored_rule_is_kept() -> None:
    segment = services.segment_create(name="s", subject=Subject.COMPANY, actor=None, rule=rule(tokyo()))
    stored = segment.rule
    bad = rule({"kind": "condition", "type": "company_field", "config": {"field": "colour", "op": "eq", "value": "x"}})
    with pytest.raises(services.SegmentRuleError) as error:
        services.segment_update(segment=segment, actor=None, rule=bad)
    assert error.value.field == "条件 1"
    segment.refresh_from_db()
    assert segment.rule == stored
    assert segment.rule_version == 1


def test_refresh_is_idempotent_and_records_the_size() -> None:
    CompanyFactory(prefecture="13")
    segment = services.segment_create(name="s", subject=Subject.COMPANY, actor=None, rule=rule(tokyo()))
    first = services.segment_refresh(segment=segment)
    again = services.segment_refresh(segment=segment)
    assert (first.entered, again.entered, again.left, again.members) == (1, 0, 0, 1)
    assert Event.objects.filter(type=EventType.SEGMENT_ENTERED).count() == 1
    assert list(SegmentSize.objects.filter(segment=segment).values_list("members", flat=True)) == [1, 1]


def test_a_customer_enters_when_matching_facts_arrive(django_capture_on_commit_callbacks: CaptureCallbacks) -> None:
    """Companies that viewed new products 3+ times this week but have not ordered in 60 days: the third view of a
    new product, recorded like the tag records it, puts the company in the segment through the fact consumer."""
    new = ProductFactory(is_new=True)
    company = CompanyFactory()
    buyer = ContactFactory(company=company)
    other = CompanyFactory()
    segment = services.segment_create(
        name="新商品に関心・60日注文なし",
        subject=Subject.COMPANY,
        actor=None,
        rule=rule(
            {
                "kind": "condition",
                "type": "viewed",
                "config": {"target": "new_product", "min_count": 3, "period": {"kind": "this_week"}},
            },
            {
                "kind": "condition",
                "type": "purchased",
                "config": {"op": "not_bought", "period": {"kind": "last_days", "days": 60}},
            },
        ),
    )
    services.segment_refresh(segment=segment)
    assert members(segment) == set()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            event_record(type=EventType.PRODUCT_VIEWED, contact_id=buyer.pk, properties={"sku": new.sku})
    assert members(segment) == {company.pk}
    entered = Event.objects.get(type=EventType.SEGMENT_ENTERED)
    assert entered.company_id == company.pk
    assert other.pk not in members(segment)


def test_refresh_for_facts_only_touches_the_named_customers_and_relevant_segments() -> None:
    a, b = CompanyFactory(prefecture="13"), CompanyFactory(prefecture="13")
    segment = services.segment_create(name="s", subject=Subject.COMPANY, actor=None, rule=rule(tokyo()))
    changes = services.segments_refresh_for_customers(company_ids=[a.pk], contact_ids=[])
    assert changes == 1 and members(segment) == {a.pk}
    # A page view cannot change a rule on the prefecture: the segment is not evaluated for it.
    assert services.segments_refresh_for_customers(company_ids=[b.pk], contact_ids=[], condition_types={"viewed"}) == 0
    assert members(segment) == {a.pk}


def test_contact_segment_follows_its_company_facts() -> None:
    company = CompanyFactory(prefecture="13")
    buyer = ContactFactory(company=company)
    segment = services.segment_create(name="s", subject=Subject.CONTACT, actor=None, rule=rule(tokyo()))
    services.segments_refresh_for_customers(company_ids=[company.pk], contact_ids=[])
    assert members(segment) == {buyer.pk}
    assert Event.objects.get(type=EventType.SEGMENT_ENTERED).contact_id == buyer.pk


def test_static_list_from_a_shift_jis_csv_of_customer_codes() -> None:
    a, b = CompanyFactory(code="C-001"), CompanyFactory(code="C-002")
    data = "顧客コード\nC-001\nC-002\nC-999\n".encode("cp932")
    result = services.segment_static_from_csv(
        name="展示会の来場者", subject=Subject.COMPANY, key="code", data=data, actor=None
    )
    assert result.matched == 2 and result.unmatched == ["C-999"]
    assert members(result.segment) == {a.pk, b.pk}
    assert result.segment.kind == SegmentKind.STATIC and result.segment.static_source == StaticSource.CSV
    # A static list is never re-evaluated.
    assert services.segment_refresh(segment=result.segment).entered == 0


def test_static_list_of_contacts_by_email_and_an_empty_file_is_refused() -> None:
    person = ContactFactory(company=None, email="me@home.jp")
    result = services.segment_static_from_csv(
        name="l", subject=Subject.CONTACT, key="email", data=b"me@home.jp\n", actor=None
    )
    assert members(result.segment) == {person.pk}
    with pytest.raises(DomainError):
        services.segment_static_from_csv(name="l", subject=Subject.CONTACT, key="email", data=b"\n", actor=None)


def test_snapshot_copies_the_members_and_does_not_follow_the_rule() -> None:
    company = CompanyFactory(prefecture="13")
    segment = services.segment_create(name="s", subject=Subject.COMPANY, actor=None, rule=rule(tokyo()))
    services.segment_refresh(segment=segment)
    copy = services.segment_snapshot(segment=segment, name="s 6月", actor=None)
    company.prefecture = "27"
    company.save()
    services.segment_refresh(segment=segment)
    assert members(segment) == set()
    assert members(copy) == {company.pk}
    assert copy.source_segment == segment


def test_periodic_refresh_catches_relative_dates_moving_on(
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    company = CompanyFactory()
    Event.objects.create(
        type=EventType.PRODUCT_VIEWED, company=company, occurred_at=timezone.now() - dt.timedelta(days=1)
    )
    viewed = {"kind": "condition", "type": "viewed", "config": {"period": {"kind": "last_days", "days": 2}}}
    segment = services.segment_create(name="s", subject=Subject.COMPANY, actor=None, rule=rule(viewed))
    services.segments_refresh_all()
    assert members(segment) == {company.pk}
    services.segments_refresh_all(now=timezone.now() + dt.timedelta(days=3))
    assert members(segment) == set()
    assert Contact.objects.count() == 0
