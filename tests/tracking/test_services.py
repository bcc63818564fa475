import datetime as dt
from collections.abc import Sequence

import pytest
from django.utils import timezone

from tests.factories import ContactFactory
from tokui.core.facts import fact_consumers
from tokui.tracking import services
from tokui.tracking.models import Event
from tokui.tracking.selectors import timeline_for_company
from tokui.tracking.types import EventIn

pytestmark = pytest.mark.django_db


def test_timeline_is_newest_first_and_includes_every_contact_of_the_company() -> None:
    buyer = ContactFactory()
    colleague = ContactFactory(company=buyer.company)
    now = timezone.now()
    services.event_record(type="page_viewed", contact_id=buyer.pk, occurred_at=now - dt.timedelta(days=2))
    services.event_record(type="product_viewed", contact_id=colleague.pk, occurred_at=now - dt.timedelta(hours=1))
    services.event_record(type="searched", contact_id=buyer.pk, occurred_at=now - dt.timedelta(days=1))
    timeline = list(timeline_for_company(company_id=buyer.company_id).values_list("type", flat=True))
    assert timeline == ["product_viewed", "searched", "page_viewed"]


def test_a_fact_with_a_known_idempotency_key_is_stored_once() -> None:
    first = services.event_record(type="order_placed", idempotency_key="order:1:placed", source="api")
    second = services.event_record(type="order_placed", idempotency_key="order:1:placed", source="api")
    assert first.pk == second.pk
    assert Event.objects.count() == 1


def test_batch_append_skips_known_keys() -> None:
    now = timezone.now()
    events = [EventIn(type="page_viewed", occurred_at=now, idempotency_key=f"k{n}", source="tag") for n in range(3)]
    services.events_record_batch(events=events)
    services.events_record_batch(events=events)
    assert Event.objects.count() == 3


def test_facts_reach_registered_consumers_after_commit_and_are_marked_dispatched(
    django_capture_on_commit_callbacks: object,
) -> None:
    received: list[int] = []

    def consumer(event_ids: Sequence[int]) -> None:
        received.extend(event_ids)

    fact_consumers.register("order_placed")(consumer)
    try:
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            fact = services.event_record(type="order_placed", source="api", idempotency_key="o1")
            services.event_record(type="page_viewed", source="api")
        assert received == [fact.pk]
        assert Event.objects.filter(dispatched_at__isnull=True).count() == 0
    finally:
        fact_consumers.unregister(consumer)


def test_the_sweeper_dispatches_what_was_left_undispatched() -> None:
    received: list[int] = []

    def consumer(event_ids: Sequence[int]) -> None:
        received.extend(event_ids)

    fact_consumers.register("page_viewed")(consumer)
    try:
        services.events_record_batch(
            events=[EventIn(type="page_viewed", occurred_at=timezone.now(), source="tag") for _ in range(3)]
        )
        assert services.events_dispatch_pending() == 3
        assert len(received) == 3
        assert services.events_dispatch_pending() == 0
    finally:
        fact_consumers.unregister(consumer)


def test_a_consumer_of_known_customers_only_leaves_anonymous_facts_out_of_the_outbox() -> None:
    received: list[int] = []

    def consumer(event_ids: Sequence[int]) -> None:
        received.extend(event_ids)

    buyer = ContactFactory()
    fact_consumers.register("page_viewed", identified_only=True)(consumer)
    try:
        assert consumer not in fact_consumers.consumers_for("page_viewed", identified=False)
        assert consumer in fact_consumers.consumers_for("page_viewed")
        now = timezone.now()
        services.events_append_rows(
            events=[
                EventIn(type="page_viewed", occurred_at=now, source="tag", anonymous_id="anon-000001"),
                EventIn(type="page_viewed", occurred_at=now, source="tag", contact_id=buyer.pk),
            ]
        )
        assert Event.objects.get(anonymous_id="anon-000001").dispatched_at is not None  # written settled
        known = Event.objects.get(contact_id=buyer.pk)
        assert known.dispatched_at is None  # waits in the outbox for the consumer

        services.events_dispatch_pending()

        assert received == [known.pk]
    finally:
        fact_consumers.unregister(consumer)
