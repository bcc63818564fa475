"""Stitching: a browser's anonymous visits become the contact's once the visitor logs in or signs up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import ContactFactory
from tests.tracking.conftest import SHOP_ORIGIN
from tests.tracking.tag_payloads import tag_batch, tag_event
from tokui.tracking.models import AnonymousIdentity, Event, TrackingSite
from tokui.tracking.selectors import timeline_for_company

pytestmark = pytest.mark.django_db

BROWSER = "anon-browser-0001"


def send(
    client: Client,
    site: TrackingSite,
    *events: dict[str, object],
    anonymous_id: str = BROWSER,
    identified: bool = False,
) -> dict:
    response = client.post(
        f"/t/v1/batch?key={site.write_key}",
        data=tag_batch(*events, anonymous_id=anonymous_id, identified=identified),
        content_type="text/plain",
        headers={"Origin": SHOP_ORIGIN},
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_identify_stitches_earlier_anonymous_events_to_the_contact_and_its_company(
    client: Client, site: TrackingSite
) -> None:
    buyer = ContactFactory(email="tanaka@select-shop.example.jp")
    earlier = timezone.now() - dt.timedelta(hours=2)
    send(client, site, tag_event("page_viewed", at=earlier), tag_event("product_viewed", at=earlier, sku="TS-1"))
    assert Event.objects.filter(contact__isnull=True).count() == 2

    send(client, site, tag_event("logged_in", email="tanaka@select-shop.example.jp"))

    events = Event.objects.filter(anonymous_id=BROWSER)
    assert events.count() == 3
    assert set(events.values_list("contact_id", "company_id")) == {(buyer.pk, buyer.company_id)}
    timeline = list(timeline_for_company(company_id=buyer.company_id).values_list("type", flat=True))
    assert timeline == ["logged_in", "product_viewed", "page_viewed"]
    identity = AnonymousIdentity.objects.get(anonymous_id=BROWSER)
    assert identity.contact_id == buyer.pk


def test_later_events_of_an_identified_browser_get_the_contact_at_ingest(client: Client, site: TrackingSite) -> None:
    buyer = ContactFactory(source="bcart", external_id="C-1042")
    send(client, site, tag_event("signed_up", contact_external_id="C-1042"))
    send(client, site, tag_event("category_viewed", name="トップス"), identified=True)  # the tag's hint after a login
    viewed = Event.objects.get(type="category_viewed")
    assert (viewed.contact_id, viewed.company_id) == (buyer.pk, buyer.company_id)


def test_a_browser_that_claims_to_be_identified_gets_no_one_elses_contact(client: Client, site: TrackingSite) -> None:
    ContactFactory(email="someone@example.jp")
    send(client, site, tag_event("page_viewed"), identified=True)
    assert Event.objects.get().contact_id is None


def test_events_before_a_login_in_the_same_batch_are_stitched_too(client: Client, site: TrackingSite) -> None:
    buyer = ContactFactory(email="sato@example.jp")
    send(
        client,
        site,
        tag_event("page_viewed"),
        tag_event("logged_in", email="SATO@example.jp"),
        tag_event("product_viewed", sku="X-1"),
    )
    assert set(Event.objects.values_list("contact_id", flat=True)) == {buyer.pk}


def test_the_external_id_is_looked_up_in_the_source_the_site_names(client: Client, site: TrackingSite) -> None:
    TrackingSite.objects.filter(pk=site.pk).update(contact_source="bcart")
    ContactFactory(source="shopify", external_id="1001")
    wanted = ContactFactory(source="bcart", external_id="1001")
    send(client, site, tag_event("logged_in", contact_external_id="1001"))
    assert Event.objects.get().contact_id == wanted.pk


def test_a_login_nobody_matches_keeps_the_browser_anonymous(client: Client, site: TrackingSite) -> None:
    send(client, site, tag_event("page_viewed"), tag_event("logged_in", email="nobody@example.jp"))
    assert not Event.objects.filter(contact__isnull=False).exists()
    assert not AnonymousIdentity.objects.exists()


def test_a_shared_pc_that_logs_in_as_someone_else_keeps_the_first_persons_history(
    client: Client, site: TrackingSite
) -> None:
    first = ContactFactory(email="first@example.jp")
    second = ContactFactory(email="second@example.jp")
    send(client, site, tag_event("logged_in", email="first@example.jp"), tag_event("product_viewed", sku="A-1"))
    send(client, site, tag_event("logged_in", email="second@example.jp"), tag_event("product_viewed", sku="B-1"))
    owners = dict(Event.objects.filter(type="product_viewed").values_list("properties__sku", "contact_id"))
    assert owners == {"A-1": first.pk, "B-1": second.pk}
    assert AnonymousIdentity.objects.get().contact_id == second.pk


def test_another_browser_is_not_stitched(client: Client, site: TrackingSite) -> None:
    ContactFactory(email="tanaka@example.jp")
    send(client, site, tag_event("page_viewed"), anonymous_id="anon-other-browser")
    send(client, site, tag_event("logged_in", email="tanaka@example.jp"))
    assert Event.objects.get(anonymous_id="anon-other-browser").contact_id is None
