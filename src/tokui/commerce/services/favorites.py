"""Favourites (お気に入り): added and removed one by one, or in batches from outside systems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial

from django.db import transaction
from django.utils import timezone

from tokui.commerce.models import Favorite
from tokui.commerce.selectors import favorite_pairs
from tokui.commerce.services.source_refs import SourceRefs
from tokui.commerce.types import FavoriteRecordIn
from tokui.core.batches import RecordOutcome, duplicate_error, duplicated_keys, record_apply
from tokui.core.enums import UpsertOutcome
from tokui.customers.selectors import company_id_of_contact
from tokui.tracking.enums import EventType
from tokui.tracking.services import event_record


@transaction.atomic
def favorite_add(
    *, contact_id: int, product_id: int, added_at: dt.datetime | None = None, source: str = "tokui"
) -> Favorite:
    at = added_at or timezone.now()
    favorite, created = Favorite.objects.get_or_create(
        contact_id=contact_id,
        product_id=product_id,
        defaults={"added_at": at, "company_id": company_id_of_contact(contact_id=contact_id), "source": source},
    )
    if created:
        event_record(
            type=EventType.FAVORITE_ADDED,
            occurred_at=at,
            contact_id=contact_id,
            properties={"product_id": product_id},
            source=source,
        )
    return favorite


@transaction.atomic
def favorite_remove(
    *, contact_id: int, product_id: int, removed_at: dt.datetime | None = None, source: str = "tokui"
) -> bool:
    deleted, _rows = Favorite.objects.filter(contact_id=contact_id, product_id=product_id).delete()
    if deleted:
        event_record(
            type=EventType.FAVORITE_REMOVED,
            occurred_at=removed_at or timezone.now(),
            contact_id=contact_id,
            properties={"product_id": product_id},
            source=source,
        )
    return bool(deleted)


def favorites_apply_batch(*, source: str, records: Sequence[FavoriteRecordIn]) -> list[RecordOutcome]:
    """Add (or, with ``removed``, delete) favourites known by contact and product: ``created``/``unchanged``
    when added, ``updated``/``unchanged`` when removed. The same (contact, product) twice in a batch is refused.
    """
    refs = SourceRefs.load(
        source=source, company_keys=[], contact_keys=[r.contact_external_id for r in records], lines=records
    )
    keys = [f"{r.contact_external_id}/{r.product_external_id or r.sku}" for r in records]
    duplicates = duplicated_keys(keys)
    existing = favorite_pairs(
        contact_ids=[pair[0] for pair in refs.contacts.values()],
        product_ids=[ref.id for ref in [*refs.products.values(), *refs.skus.values()]],
    )

    def apply(record: FavoriteRecordIn) -> RecordOutcome:
        _company_id, contact_id = refs.customer(company_key=None, contact_key=record.contact_external_id)
        product = refs.product(record, field="", required=True)
        assert contact_id is not None and product is not None
        pair = (contact_id, product.id)
        if record.removed:
            removed = favorite_remove(
                contact_id=contact_id, product_id=product.id, removed_at=record.added_at, source=source
            )
            existing.discard(pair)
            return RecordOutcome(
                key=record.contact_external_id,
                outcome=UpsertOutcome.UPDATED.value if removed else UpsertOutcome.UNCHANGED.value,
            )
        favorite = favorite_add(contact_id=contact_id, product_id=product.id, added_at=record.added_at, source=source)
        outcome = UpsertOutcome.UNCHANGED if pair in existing else UpsertOutcome.CREATED
        existing.add(pair)
        return RecordOutcome(key=record.contact_external_id, outcome=outcome.value, id=favorite.pk)

    outcomes = []
    with transaction.atomic():
        for key, record in zip(keys, records, strict=True):
            if key in duplicates:
                outcomes.append(
                    RecordOutcome.failed(record.contact_external_id, duplicate_error(key, field="contact_external_id"))
                )
            else:
                outcomes.append(record_apply(record.contact_external_id, partial(apply, record)))
    return outcomes
