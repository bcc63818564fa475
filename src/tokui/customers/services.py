"""Writes for companies, contacts, consent and points. Every change of a customer goes through here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.core.batches import RecordOutcome, keep_stored, records_apply, unknown_reference
from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError, ProtectedRecordError
from tokui.core.upserts import UpsertResult, upsert_by_key
from tokui.customers.custom_fields import custom_fields_clean
from tokui.customers.enums import Channel, ConsentStatus, CustomFieldEntity, PointLotState
from tokui.customers.models import RATE_RANGE_MESSAGE, Company, Consent, ConsentChange, Contact, PointLot, Tag
from tokui.customers.prefectures import prefecture_from_text
from tokui.customers.selectors import (
    companies_by_external_id,
    company_ids_by_external_id,
    company_tag_names,
    contacts_by_external_id,
    tag_ids_by_name,
)
from tokui.customers.types import CompanyIn, CompanyRecordIn, ContactIn, ContactRecordIn
from tokui.tracking.enums import EventType
from tokui.tracking.services import event_record


def _validated(instance: Company | Contact, *, exclude: Iterable[str] = ()) -> None:
    """Run model validation and turn it into one translated DomainError naming the first bad field."""
    try:
        instance.full_clean(exclude=[*exclude, "tags"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise DomainError(" ".join(messages), field=field) from error


def company_upsert(*, source: str, external_id: str, data: CompanyIn) -> UpsertResult[Company]:
    """Create or update the company known to ``source`` as ``external_id``. The same data twice changes nothing."""
    values = dataclasses.asdict(data)
    values["custom_fields"] = custom_fields_clean(entity=CustomFieldEntity.COMPANY, values=data.custom_fields)
    _validated(Company(source=source, external_id=external_id, **values))
    return upsert_by_key(Company, key={"source": source, "external_id": external_id}, values=values)


def company_create(*, data: CompanyIn, source: str = "tokui") -> Company:
    values = dataclasses.asdict(data)
    values["custom_fields"] = custom_fields_clean(entity=CustomFieldEntity.COMPANY, values=data.custom_fields)
    company = Company(source=source, **values)
    _validated(company)
    company.save()
    return company


def company_archive(*, company: Company) -> Company:
    """Hide a company from lists and sends while keeping its orders and history."""
    Company.objects.filter(pk=company.pk, archived_at__isnull=True).update(archived_at=timezone.now())
    company.refresh_from_db()
    return company


def company_delete(*, company: Company) -> None:
    """Delete a company that never ordered. One with orders is refused: archive it instead."""
    if company.orders.exists():
        raise ProtectedRecordError(
            _("%(name)s has orders and cannot be deleted. Archive it instead to keep its sales history.")
            % {"name": company.name}
        )
    if Contact.objects.filter(company=company).exists():
        raise ProtectedRecordError(
            _("%(name)s still has contacts. Move or delete its contacts first, or archive the company.")
            % {"name": company.name}
        )
    company.delete()


def company_set_tags(*, company: Company, tag_names: Iterable[str]) -> list[Tag]:
    tags = _tags_by_name(tag_names)
    company.tags.set(tags)
    return tags


def _tags_by_name(tag_names: Iterable[str]) -> list[Tag]:
    tags = []
    for name in sorted({n.strip() for n in tag_names if n.strip()}):
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    return sorted(tags, key=lambda tag: tag.name)


def contact_upsert(*, source: str, external_id: str, data: ContactIn) -> UpsertResult[Contact]:
    """Create or update the contact known to ``source`` as ``external_id``."""
    values = dataclasses.asdict(data)
    values["custom_fields"] = custom_fields_clean(entity=CustomFieldEntity.CONTACT, values=data.custom_fields)
    _validated(Contact(source=source, external_id=external_id, **values), exclude=["company"])
    return upsert_by_key(Contact, key={"source": source, "external_id": external_id}, values=values)


def contact_create(*, data: ContactIn, source: str = "tokui") -> Contact:
    values = dataclasses.asdict(data)
    values["custom_fields"] = custom_fields_clean(entity=CustomFieldEntity.CONTACT, values=data.custom_fields)
    contact = Contact(source=source, **values)
    _validated(contact, exclude=["company"])
    contact.save()
    return contact


@transaction.atomic
def consent_record(
    *,
    contact: Contact,
    channel: Channel,
    status: ConsentStatus,
    source: str,
    recorded_at: dt.datetime | None = None,
) -> Consent:
    """Record that ``contact`` opted in or out of ``channel``, where (``source``) and when.

    The current state is kept per channel; every change is kept in the history and on the timeline. An older
    record arriving late (an import of last month's sign-ups) never overwrites a newer decision.
    """
    if not source.strip():
        raise DomainError(_("Say where the consent came from (for example: sign-up form)."), field="source")
    at = recorded_at or timezone.now()
    ConsentChange.objects.create(contact=contact, channel=channel, status=status, source=source, recorded_at=at)
    consent, created = Consent.objects.select_for_update().get_or_create(
        contact=contact, channel=channel, defaults={"status": status, "source": source, "recorded_at": at}
    )
    if not created and consent.recorded_at <= at and (consent.status, consent.source) != (status, source):
        consent.status, consent.source, consent.recorded_at = status, source, at
        consent.save(update_fields=["status", "source", "recorded_at"])
    event_record(
        type=EventType.CONSENT_CHANGED,
        occurred_at=at,
        contact_id=contact.pk,
        company_id=contact.company_id,
        properties={"channel": channel, "status": status, "source": source},
    )
    return consent


@transaction.atomic
def points_grant(
    *,
    contact: Contact | None = None,
    company: Company | None = None,
    points: int,
    expires_at: dt.datetime | None,
    reason: str = "",
    granted_at: dt.datetime | None = None,
    source: str = "tokui",
    external_id: str | None = None,
) -> PointLot:
    """Grant a lot of points to a contact (B2C) or a company (B2B), expiring at ``expires_at``."""
    if points <= 0:
        raise DomainError(_("Points to grant must be a positive number."), field="points")
    if contact is None and company is None:
        raise DomainError(_("Choose who receives the points."), field="contact")
    at = granted_at or timezone.now()
    if expires_at is not None and expires_at <= at:
        raise DomainError(_("The expiry date must be after the grant date."), field="expires_at")
    lot = PointLot.objects.create(
        contact=contact,
        company=company,
        granted_points=points,
        remaining_points=points,
        granted_at=at,
        expires_at=expires_at,
        reason=reason,
        source=source,
        external_id=external_id,
    )
    event_record(
        type=EventType.POINTS_GRANTED,
        occurred_at=at,
        contact_id=contact.pk if contact else None,
        company_id=company.pk if company else (contact.company_id if contact else None),
        properties={"points": points, "expires_at": expires_at.isoformat() if expires_at else None, "reason": reason},
    )
    return lot


def _lot_owner_filter(*, contact: Contact | None, company: Company | None) -> dict[str, Any]:
    return {"contact": contact} if contact is not None else {"company": company}


@transaction.atomic
def points_use(*, contact: Contact | None = None, company: Company | None = None, points: int, reason: str = "") -> int:
    """Spend points from the lots that expire first. Refuses (changing nothing) when the balance is too small."""
    if points <= 0:
        raise DomainError(_("Points to use must be a positive number."), field="points")
    now = timezone.now()
    lots = list(
        PointLot.objects.select_for_update()
        .filter(**_lot_owner_filter(contact=contact, company=company), state=PointLotState.ACTIVE)
        .exclude(expires_at__lte=now)
        .order_by(F("expires_at").asc(nulls_last=True), "granted_at", "id")
    )
    balance = sum(lot.remaining_points for lot in lots)
    if balance < points:
        raise DomainError(
            _("Only %(balance)s points are available; %(points)s were asked for.")
            % {"balance": balance, "points": points},
            field="points",
        )
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot.remaining_points)
        PointLot.objects.filter(pk=lot.pk).update(
            remaining_points=F("remaining_points") - take,
            state=PointLotState.USED if take == lot.remaining_points else PointLotState.ACTIVE,
        )
        left -= take
    event_record(
        type=EventType.POINTS_USED,
        occurred_at=now,
        contact_id=contact.pk if contact else None,
        company_id=company.pk if company else None,
        properties={"points": points, "reason": reason},
    )
    return balance - points


@transaction.atomic
def points_expire_due(*, now: dt.datetime | None = None) -> int:
    """Expire every active lot whose expiry has passed, writing a fact per lot. Returns the lots expired."""
    at = now or timezone.now()
    due = list(
        PointLot.objects.select_for_update()
        .filter(state=PointLotState.ACTIVE, expires_at__lte=at)
        .values("id", "contact_id", "company_id", "remaining_points", "expires_at")
    )
    if not due:
        return 0
    PointLot.objects.filter(pk__in=[row["id"] for row in due]).update(state=PointLotState.EXPIRED, remaining_points=0)
    for row in due:
        event_record(
            type=EventType.POINTS_EXPIRED,
            occurred_at=row["expires_at"],
            contact_id=row["contact_id"],
            company_id=row["company_id"],
            properties={"points": row["remaining_points"], "lot_id": row["id"]},
            idempotency_key=f"point-lot:{row['id']}:expired",
        )
    return len(due)


# --- Batches from outside systems (API, imports, connectors) -----------------------------------------------------

# Company fields only Tokui sets (a sales rep, a price group, an agency): a record from outside never clears them.
TOKUI_COMPANY_FIELDS = frozenset({"assigned_rep_id", "price_group_id", "agency_id"})


def _prefecture_code(text: str) -> str:
    """A JIS code from '13', '東京都', '東京' or 'Tokyo'; a text that names no prefecture is refused."""
    if not text.strip():
        return ""
    prefecture = prefecture_from_text(text)
    if prefecture is None:
        raise DomainError(
            _("Unknown prefecture “%(value)s”. Send its JIS code (such as 13) or its name (such as 東京都).")
            % {"value": text},
            field="prefecture",
        )
    return str(prefecture.value)


TAG_NAME_MAX_LENGTH = 64


def tag_names_clean(names: Iterable[str]) -> list[str]:
    """Tag names trimmed, without blanks or repeats, sorted; a name longer than a tag can hold is refused."""
    cleaned = sorted({name.strip() for name in names if name.strip()})
    for name in cleaned:
        if len(name) > TAG_NAME_MAX_LENGTH:
            raise DomainError(
                _("The tag “%(name)s” is too long: a tag has at most %(max)s characters.")
                % {"name": name, "max": TAG_NAME_MAX_LENGTH},
                field="tags",
            )
    return cleaned


def _company_tags_replace(
    *, company: Company, names: list[str], stored: frozenset[str], tag_ids: dict[str, int]
) -> bool:
    """Give ``company`` exactly the tags ``names`` (making the tags that do not exist yet); ``True`` if they changed."""
    if frozenset(names) == stored:
        return False
    ids = []
    for name in names:
        tag_id = tag_ids.get(name)
        if tag_id is None:
            tag_id = Tag.objects.get_or_create(name=name)[0].pk
        ids.append(tag_id)
    company.tags.set(ids)
    # A change of tags is a change of the company: readers that sync by updated_since must see it.
    Company.objects.filter(pk=company.pk).update(updated_at=timezone.now())
    return True


def companies_upsert_batch(*, source: str, records: Sequence[CompanyRecordIn]) -> list[RecordOutcome]:
    """Upsert the companies of ``source``, each in its own savepoint: a bad one is reported, the others kept.

    Fields a record leaves out (``keep``) keep their stored values; the same batch twice changes nothing. A record
    with ``tags`` gives its company exactly those tags; a record without them leaves the company's tags alone.
    """
    stored = companies_by_external_id(source=source, external_ids=[record.external_id for record in records])
    stored_tags = company_tag_names(company_ids=[company.pk for company in stored.values()])
    tag_ids = tag_ids_by_name(names=[name.strip() for record in records for name in record.tags or ()])

    def apply(record: CompanyRecordIn) -> RecordOutcome:
        data = keep_stored(record.data, stored.get(record.external_id), record.keep | TOKUI_COMPANY_FIELDS)
        if data.price_rate is not None and not Decimal(0) < data.price_rate <= Decimal(2):
            raise DomainError(str(RATE_RANGE_MESSAGE), field="price_rate")
        data = dataclasses.replace(data, prefecture=_prefecture_code(data.prefecture))
        tag_names = tag_names_clean(record.tags) if record.tags is not None else None
        result = company_upsert(source=source, external_id=record.external_id, data=data)
        outcome = result.outcome
        if tag_names is not None:
            changed = _company_tags_replace(
                company=result.instance,
                names=tag_names,
                stored=stored_tags.get(result.instance.pk, frozenset()),
                tag_ids=tag_ids,
            )
            if changed and outcome == UpsertOutcome.UNCHANGED:
                outcome = UpsertOutcome.UPDATED
        return RecordOutcome(key=record.external_id, outcome=outcome.value, id=result.instance.pk)

    return records_apply(records, key=lambda record: record.external_id, apply=apply)


def contacts_upsert_batch(*, source: str, records: Sequence[ContactRecordIn]) -> list[RecordOutcome]:
    """Upsert the contacts of ``source``; their companies are named by the same source's external ids.

    References are resolved for the whole batch in one query; an unknown company refuses that contact only.
    """
    stored = contacts_by_external_id(source=source, external_ids=[record.external_id for record in records])
    company_ids = company_ids_by_external_id(
        source=source, external_ids=[r.company_external_id for r in records if r.company_external_id]
    )

    def apply(record: ContactRecordIn) -> RecordOutcome:
        data = keep_stored(record.data, stored.get(record.external_id), record.keep)
        if "company_id" not in record.keep:
            company_id = None
            if record.company_external_id:
                company_id = company_ids.get(record.company_external_id)
                if company_id is None:
                    raise unknown_reference(_("company"), record.company_external_id, field="company_external_id")
            data = dataclasses.replace(data, company_id=company_id)
        data = dataclasses.replace(data, prefecture=_prefecture_code(data.prefecture))
        return RecordOutcome.stored(
            record.external_id, contact_upsert(source=source, external_id=record.external_id, data=data)
        )

    return records_apply(records, key=lambda record: record.external_id, apply=apply)
