"""Segments and the tag's traffic: anonymous views wait for nobody, and a login brings the browser's earlier views
to the customer, who then enters the segments those views qualify them for."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import CompanyFactory, ContactFactory, ProductFactory
from tests.tracking.conftest import SHOP_ORIGIN, _fresh_limits_and_sites, site  # noqa: F401 - fixtures
from tests.tracking.tag_payloads import tag_batch, tag_event
from tokui.segments import services
from tokui.segments.enums import Subject
from tokui.segments.models import SegmentMember
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event, TrackingSite

pytestmark = pytest.mark.django_db

BROWSER = "anon-browser-000042"


def post(client: Client, tracking_site: TrackingSite, *events: dict[str, Any], identified: bool = False) -> None:
    response = client.post(
        f"/t/v1/batch?key={tracking_site.write_key}",
        data=tag_batch(*events, anonymous_id=BROWSER, identified=identified),
        content_type="text/plain",
        headers={"Origin": SHOP_ORIGIN},
    )
    assert response.status_code == 200, response.content


def test_views_before_a_login_put_the_customer_in_the_segment_when_they_log_in(
    client: Client,
    site: TrackingSite,  # noqa: F811 - the fixture imported above
    django_capture_on_commit_callbacks: Any,
) -> None:
    new = ProductFactory(is_new=True)
    company = CompanyFactory()
    buyer = ContactFactory(company=company, email="buyer@shop.example.jp")
    segment = services.segment_create(
        name="新商品を3回以上閲覧",
        subject=Subject.COMPANY,
        actor=None,
        rule={
            "version": 1,
            "root": {
                "kind": "group",
                "match": "all",
                "negate": False,
                "children": [
                    {
                        "kind": "condition",
                        "type": "viewed",
                        "config": {"target": "new_product", "min_count": 3, "period": {"kind": "this_week"}},
                    }
                ],
            },
        },
    )
    services.segment_refresh(segment=segment)

    with django_capture_on_commit_callbacks(execute=True):
        post(client, site, *(tag_event("product_viewed", sku=new.sku) for _ in range(3)))
    # Anonymous views can change no membership: they are written already dispatched, not queued for segments.
    assert not Event.objects.filter(type=EventType.PRODUCT_VIEWED, dispatched_at__isnull=True).exists()
    assert not SegmentMember.objects.filter(segment=segment).exists()

    with django_capture_on_commit_callbacks(execute=True):
        post(client, site, tag_event("logged_in", email="buyer@shop.example.jp"))

    views = Event.objects.filter(type=EventType.PRODUCT_VIEWED)
    assert views.filter(company_id=company.pk, contact_id=buyer.pk).count() == 3
    assert set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True)) == {company.pk}
    assert Event.objects.filter(type=EventType.SEGMENT_ENTERED, company_id=company.pk).exists()
