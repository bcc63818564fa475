"""The tag screens: register a site, copy its snippet, see what its pages sent and what was refused and why."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.tracking.conftest import SHOP_ORIGIN
from tests.tracking.tag_payloads import tag_batch, tag_event
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.core.models import AuditLogEntry
from tokui.tracking.models import TrackingSite, TrackingSiteHour
from tokui.tracking.tag_ingest import tag_site_hours_flush

pytestmark = pytest.mark.django_db

BATCH_URL = "/t/v1/batch"


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory(username="owner", role=Role.ADMIN)


@pytest.fixture
def owner_client(client: Client, owner: User) -> Client:
    client.force_login(owner)
    return client


def send(client: Client, site: TrackingSite, body: bytes, *, origin: str = SHOP_ORIGIN, key: str | None = None) -> int:
    response = client.post(
        f"{BATCH_URL}?key={key or site.write_key}",
        data=body,
        content_type="text/plain;charset=UTF-8",
        headers={"Origin": origin},
    )
    return int(response.status_code)


def test_an_administrator_registers_a_site_and_gets_its_snippet(owner_client: Client, owner: User) -> None:
    response = owner_client.post(
        "/data/tag/new/",
        {"name": "本店オンラインショップ", "allowed_origins": "https://Shop.example.jp/\nhttps://shop.example.jp"},
    )
    site = TrackingSite.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/data/tag/{site.pk}/"
    assert site.origins == ["https://shop.example.jp"]
    assert site.write_key.startswith("tk_")
    page = owner_client.get(response["Location"]).content.decode()
    assert f"data-key=&quot;{site.write_key}&quot;" in page  # in a textarea, escaped
    assert "tokui/tracker/tokui.js" in page
    assert "まだ何も届いていません" in page
    entry = AuditLogEntry.objects.get(target_type="tracking.TrackingSite")
    assert (entry.actor, entry.action) == (owner, "create")


def test_an_origin_with_a_path_is_refused_in_japanese_and_nothing_is_stored(owner_client: Client) -> None:
    response = owner_client.post(
        "/data/tag/new/", {"name": "本店", "allowed_origins": "https://shop.example.jp/products/"}
    )
    assert response.status_code == 400
    assert "オリジンではありません" in response.content.decode()
    assert not TrackingSite.objects.exists()


def test_a_site_without_origins_is_refused(owner_client: Client) -> None:
    response = owner_client.post("/data/tag/new/", {"name": "本店", "allowed_origins": "  \n "})
    assert response.status_code == 400
    assert not TrackingSite.objects.exists()


def test_only_administrators_see_the_tag_screens(client: Client, site: TrackingSite) -> None:
    client.force_login(UserFactory(username="marketer", role=Role.MARKETER))
    for url in ("/data/tag/", "/data/tag/new/", f"/data/tag/{site.pk}/", f"/data/tag/{site.pk}/edit/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/data/tag/{site.pk}/rotate-key/").status_code == 403


def test_the_screen_shows_what_the_pages_sent_per_hour(
    owner_client: Client, client: Client, site: TrackingSite
) -> None:
    assert send(client, site, tag_batch(tag_event(url="https://shop.example.jp/", path="/"), tag_event())) == 200
    assert send(client, site, tag_batch(tag_event(path="/items/TS-001"))) == 200
    tag_site_hours_flush()  # counts within two seconds of the last write wait in memory

    hour = TrackingSiteHour.objects.get(site=site)
    assert hour.received == 3
    listing = owner_client.get("/data/tag/").content.decode()
    assert f'data-testid="site-{site.pk}"' in listing
    detail = owner_client.get(f"/data/tag/{site.pk}/").content.decode()
    assert "24時間に受け取ったイベント: 3" in detail
    assert "/items/TS-001" in detail


def test_a_snippet_without_consent_on_a_site_that_requires_it_is_explained(
    owner_client: Client, client: Client, site: TrackingSite
) -> None:
    site.require_consent = True
    site.save()
    assert send(client, site, tag_batch(tag_event())) == 403
    assert send(client, site, tag_batch(tag_event()), origin="https://evil.example.com") == 403

    detail = owner_client.get(f"/data/tag/{site.pk}/").content.decode()
    assert 'data-testid="refusal-consent_required"' in detail
    assert "data-require-consent" in detail
    assert 'data-testid="refusal-origin_not_allowed"' in detail
    assert "https://evil.example.com" in detail
    assert not TrackingSiteHour.objects.exists()


def test_refused_events_are_counted_by_reason(owner_client: Client, client: Client, site: TrackingSite) -> None:
    bad = {"id": "x1", "type": "no_such_event", "occurred_at": "2026-01-01T00:00:00Z", "properties": {}}
    assert send(client, site, tag_batch(bad, tag_event())) == 200

    detail = owner_client.get(f"/data/tag/{site.pk}/").content.decode()
    assert "event:" in detail
    assert "1回" in detail


def test_editing_origins_takes_effect_for_the_endpoint(
    owner_client: Client, client: Client, site: TrackingSite
) -> None:
    other = "https://other.example.jp"
    assert send(client, site, tag_batch(tag_event()), origin=other) == 403
    response = owner_client.post(
        f"/data/tag/{site.pk}/edit/",
        {"name": site.name, "allowed_origins": f"{SHOP_ORIGIN}\n{other}", "is_active": "on"},
    )
    assert response.status_code == 302
    assert send(client, site, tag_batch(tag_event()), origin=other) == 200
    entry = AuditLogEntry.objects.get(target_type="tracking.TrackingSite", action="update")
    assert "allowed_origins" in entry.changes


def test_a_stopped_site_is_refused(owner_client: Client, client: Client, site: TrackingSite) -> None:
    owner_client.post(f"/data/tag/{site.pk}/edit/", {"name": site.name, "allowed_origins": SHOP_ORIGIN})
    site.refresh_from_db()
    assert site.is_active is False
    assert send(client, site, tag_batch(tag_event())) == 401


def test_a_new_write_key_refuses_the_old_snippet(owner_client: Client, client: Client, site: TrackingSite) -> None:
    old_key = site.write_key
    assert send(client, site, tag_batch(tag_event())) == 200
    response = owner_client.post(f"/data/tag/{site.pk}/rotate-key/")
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.write_key != old_key
    assert send(client, site, tag_batch(tag_event()), key=old_key) == 401
    assert send(client, site, tag_batch(tag_event())) == 200
