import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import CompanyFactory, ContactFactory, OrderFactory
from tokui.core.errors import DomainError, ProtectedRecordError
from tokui.customers import services
from tokui.customers.enums import Channel, ConsentStatus, CustomFieldEntity, CustomFieldType, PointLotState
from tokui.customers.models import Company, ConsentChange, CustomFieldDefinition, PointLot
from tokui.customers.selectors import consent_status, point_balance
from tokui.customers.types import CompanyIn, ContactIn
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db


def test_company_with_an_invalid_prefecture_is_refused_in_japanese_and_nothing_is_stored() -> None:
    with pytest.raises(DomainError) as error:
        services.company_upsert(source="csv", external_id="1", data=CompanyIn(name="テスト", prefecture="99"))
    assert error.value.field == "prefecture"
    assert "有効な選択" in error.value.message
    assert not Company.objects.exists()


def test_bad_update_keeps_the_stored_company() -> None:
    services.company_upsert(source="csv", external_id="1", data=CompanyIn(name="正しい社名", prefecture="13"))
    with pytest.raises(DomainError):
        services.company_upsert(source="csv", external_id="1", data=CompanyIn(name="", prefecture="13"))
    assert Company.objects.get().name == "正しい社名"


def test_company_with_orders_cannot_be_deleted_and_is_archived_instead() -> None:
    order = OrderFactory()
    with pytest.raises(ProtectedRecordError) as error:
        services.company_delete(company=order.company)
    assert "アーカイブ" in error.value.message
    archived = services.company_archive(company=order.company)
    assert archived.archived_at is not None
    assert Company.objects.filter(pk=order.company.pk).exists()


def test_company_without_orders_or_contacts_can_be_deleted() -> None:
    company = CompanyFactory()
    services.company_delete(company=company)
    assert not Company.objects.filter(pk=company.pk).exists()


def test_contact_upsert_is_idempotent() -> None:
    company = CompanyFactory()
    data = ContactIn(name="佐藤 由紀", company_id=company.pk, email="yuki@shop.example.jp")
    first = services.contact_upsert(source="bcart", external_id="c1", data=data)
    second = services.contact_upsert(source="bcart", external_id="c1", data=data)
    assert first.instance.pk == second.instance.pk
    assert second.outcome == "unchanged"


def test_contact_with_a_malformed_email_is_refused() -> None:
    with pytest.raises(DomainError) as error:
        services.contact_upsert(source="csv", external_id="x", data=ContactIn(name="誰か", email="not-an-email"))
    assert error.value.field == "email"


def test_consent_is_recorded_with_source_time_history_and_timeline_fact() -> None:
    contact = ContactFactory()
    at = timezone.now() - dt.timedelta(days=2)
    services.consent_record(
        contact=contact, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source="会員登録フォーム", recorded_at=at
    )
    services.consent_record(
        contact=contact, channel=Channel.EMAIL, status=ConsentStatus.WITHDRAWN, source="配信停止リンク"
    )
    assert consent_status(contact=contact, channel=Channel.EMAIL) == ConsentStatus.WITHDRAWN
    assert ConsentChange.objects.filter(contact=contact).count() == 2
    facts = Event.objects.filter(contact=contact, type="consent_changed").order_by("occurred_at")
    assert [fact.properties["status"] for fact in facts] == ["granted", "withdrawn"]
    assert facts[0].company_id == contact.company_id


def test_an_older_consent_arriving_late_does_not_overwrite_a_newer_decision() -> None:
    contact = ContactFactory()
    services.consent_record(contact=contact, channel=Channel.EMAIL, status=ConsentStatus.WITHDRAWN, source="配信停止")
    services.consent_record(
        contact=contact,
        channel=Channel.EMAIL,
        status=ConsentStatus.GRANTED,
        source="先月の展示会の取込",
        recorded_at=timezone.now() - dt.timedelta(days=30),
    )
    assert consent_status(contact=contact, channel=Channel.EMAIL) == ConsentStatus.WITHDRAWN


def test_consent_without_a_source_is_refused() -> None:
    with pytest.raises(DomainError):
        services.consent_record(
            contact=ContactFactory(), channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source=" "
        )


def test_points_are_spent_from_the_lot_expiring_first() -> None:
    contact = ContactFactory(company=None)
    now = timezone.now()
    later = services.points_grant(contact=contact, points=300, expires_at=now + dt.timedelta(days=90))
    sooner = services.points_grant(contact=contact, points=100, expires_at=now + dt.timedelta(days=10))
    remaining = services.points_use(contact=contact, points=150)
    assert remaining == 250
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert (sooner.remaining_points, sooner.state) == (0, PointLotState.USED)
    assert later.remaining_points == 250


def test_using_more_points_than_the_balance_changes_nothing() -> None:
    contact = ContactFactory(company=None)
    services.points_grant(contact=contact, points=100, expires_at=timezone.now() + dt.timedelta(days=30))
    with pytest.raises(DomainError):
        services.points_use(contact=contact, points=101)
    assert point_balance(contact=contact) == 100


def test_point_lots_expire_once_with_a_fact_each() -> None:
    contact = ContactFactory(company=None)
    now = timezone.now()
    services.points_grant(
        contact=contact, points=500, granted_at=now - dt.timedelta(days=400), expires_at=now - dt.timedelta(days=1)
    )
    services.points_grant(contact=contact, points=200, expires_at=now + dt.timedelta(days=5))
    assert point_balance(contact=contact) == 200
    assert services.points_expire_due(now=now) == 1
    assert services.points_expire_due(now=now) == 0
    assert PointLot.objects.filter(state=PointLotState.EXPIRED).count() == 1
    assert Event.objects.filter(contact=contact, type="points_expired").count() == 1
    assert point_balance(contact=contact, at=now + dt.timedelta(days=6)) == 0


def test_custom_fields_are_checked_against_their_definitions() -> None:
    CustomFieldDefinition.objects.create(
        entity=CustomFieldEntity.COMPANY, key="shops", label="店舗数", field_type=CustomFieldType.NUMBER
    )
    company = services.company_create(data=CompanyIn(name="チェーン店", custom_fields={"shops": "12"}))
    assert company.custom_fields == {"shops": "12"}
    with pytest.raises(DomainError) as error:
        services.company_create(data=CompanyIn(name="チェーン店2", custom_fields={"shops": "たくさん"}))
    assert "店舗数は数値" in error.value.message
    with pytest.raises(DomainError) as unknown:
        services.company_create(data=CompanyIn(name="チェーン店3", custom_fields={"nope": 1}))
    assert unknown.value.field == "custom_fields.nope"
