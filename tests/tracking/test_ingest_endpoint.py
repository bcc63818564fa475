"""The tag's ingest endpoint: keys, origins, limits, bad input, idempotency."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from tests.tracking.conftest import SHOP_ORIGIN
from tests.tracking.tag_payloads import tag_batch, tag_event
from tokui.tracking.models import Event, TrackingSite
from tokui.tracking.tag_batches import MAX_PROPERTIES_BYTES

pytestmark = pytest.mark.django_db

URL = "/t/v1/batch"


def post(
    client: Client,
    site: TrackingSite,
    body: bytes,
    *,
    origin: str | None = SHOP_ORIGIN,
    key: str | None = None,
    content_type: str = "text/plain;charset=UTF-8",
    **extra: Any,
) -> Any:
    headers = {"Origin": origin} if origin else {}
    return client.post(
        f"{URL}?key={key or site.write_key}", data=body, content_type=content_type, headers=headers, **extra
    )


def test_a_valid_batch_is_stored_once_even_when_sent_again(client: Client, site: TrackingSite) -> None:
    body = tag_batch(
        tag_event("page_viewed", url="https://shop.example.jp/", title="トップ"),
        tag_event("product_viewed", sku="TS-001", product_id="TS-001", name="リネンシャツ"),
        tag_event("searched", query="リネン", results=12),
    )
    first = post(client, site, body)
    assert first.status_code == 200
    assert first.json() == {"accepted": 3, "rejected": 0, "errors": []}
    assert first["Access-Control-Allow-Origin"] == SHOP_ORIGIN

    again = post(client, site, body)  # a retry, or a beacon after a fetch that did arrive
    assert again.status_code == 200
    assert Event.objects.count() == 3
    stored = Event.objects.get(type="product_viewed")
    assert stored.source == "tag"
    assert stored.anonymous_id == "anon-0123456789"
    assert stored.properties["sku"] == "TS-001"
    assert stored.contact_id is None


def test_a_json_content_type_is_accepted_like_the_beacons_text_plain(client: Client, site: TrackingSite) -> None:
    response = post(client, site, tag_batch(tag_event()), content_type="application/json")
    assert response.status_code == 200
    assert Event.objects.count() == 1


def test_a_wrong_write_key_is_refused_with_401(client: Client, site: TrackingSite) -> None:
    response = post(client, site, tag_batch(tag_event()), key="tk_not-a-key")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_write_key"
    assert "Access-Control-Allow-Origin" not in response
    assert not Event.objects.exists()


def test_an_inactive_site_is_refused_with_401(client: Client, site: TrackingSite) -> None:
    TrackingSite.objects.filter(pk=site.pk).update(is_active=False)
    response = post(client, site, tag_batch(tag_event()))
    assert response.status_code == 401


def test_an_unregistered_origin_is_refused_with_403_and_no_cors_headers(client: Client, site: TrackingSite) -> None:
    response = post(client, site, tag_batch(tag_event()), origin="https://evil.example.com")
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert not Event.objects.exists()


def test_a_request_without_an_origin_is_refused(client: Client, site: TrackingSite) -> None:
    response = post(client, site, tag_batch(tag_event()), origin=None)
    assert response.status_code == 403


def test_a_preflight_from_a_registered_origin_is_answered(client: Client, site: TrackingSite) -> None:
    response = client.options(
        f"{URL}?key={site.write_key}",
        headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Headers"] == "Content-Type"


def test_a_preflight_from_another_origin_is_refused(client: Client, site: TrackingSite) -> None:
    response = client.options(f"{URL}?key={site.write_key}", headers={"Origin": "https://evil.example.com"})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_the_endpoint_needs_no_csrf_token_and_sets_no_cookies(site: TrackingSite) -> None:
    client = Client(enforce_csrf_checks=True)
    response = post(client, site, tag_batch(tag_event()))
    assert response.status_code == 200
    assert not response.cookies


def test_a_10_mb_body_is_refused_with_413(client: Client, site: TrackingSite) -> None:
    big = tag_event(note="x" * (10 * 1024 * 1024))
    response = post(client, site, tag_batch(big))
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert not Event.objects.exists()


def test_a_body_longer_than_it_declares_is_still_cut_at_the_limit(client: Client, site: TrackingSite) -> None:
    body = tag_batch(tag_event(note="x" * (600 * 1024)))
    response = post(client, site, body, CONTENT_LENGTH="100")
    assert response.status_code in (400, 413)  # read only as far as declared, never past the limit
    assert not Event.objects.exists()


def test_a_10000_event_batch_is_refused_with_413_and_a_json_error(client: Client, site: TrackingSite) -> None:
    events = [{"id": f"e{n:07d}", "type": "page_viewed"} for n in range(10_000)]
    body = json.dumps({"anonymous_id": "anon-0123456789", "events": events}, separators=(",", ":")).encode()
    assert len(body) < 512 * 1024  # under the body limit: it is the event count that is refused
    response = post(client, site, body)
    assert response.status_code == 413
    assert response.json() == {
        "code": "batch_too_large",
        "message": response.json()["message"],
        "field": "events",
    }
    assert "500" in response.json()["message"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"anonymous_id": "anon-0123456789", "events": [', "invalid_json"),
        (b"\xff\xfe\x00garbage", "invalid_utf8"),
        ('{"anonymous_id": "anon-0123456789", "events": []}'.encode("utf-16"), "invalid_utf8"),
        (
            b'{"anonymous_id": "anon-0123456789", "events": [{"id": "abcdefgh1", "properties": {"x": NaN}}]}',
            "invalid_json",
        ),
        (b"[1, 2, 3]", "invalid_batch"),
        (b'{"anonymous_id": "anon-0123456789"}', "invalid_batch"),
        (b'{"anonymous_id": "a b", "events": []}', "invalid_anonymous_id"),
        (b"[" * 100_000, "invalid_json"),
    ],
    ids=["truncated", "invalid-utf8", "utf16", "nan", "not-an-object", "no-events", "bad-anonymous-id", "deep"],
)
def test_an_unreadable_batch_is_refused_with_400_and_a_json_error(
    client: Client, site: TrackingSite, body: bytes, code: str
) -> None:
    response = post(client, site, body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == code
    assert error["message"]
    assert set(error) == {"code", "message", "field"}
    assert not Event.objects.exists()


def test_bad_events_are_rejected_one_by_one_and_the_good_ones_kept(client: Client, site: TrackingSite) -> None:
    now = timezone.now()
    good = tag_event("product_viewed", sku="TS-001")
    body = tag_batch(
        good,
        tag_event("mail_sent"),  # a fact of Tokui's own, not something a page may claim
        tag_event("made_up_type"),
        {**tag_event(), "occurred_at": "yesterday"},
        tag_event(at=now - dt.timedelta(days=30)),
        {**tag_event(), "id": "x"},
        {**tag_event(), "properties": ["not", "an", "object"]},
        tag_event(blob="y" * (MAX_PROPERTIES_BYTES + 10)),
        tag_event("cart_item_added", quantity=2),  # which product?
        tag_event("cart_item_added", sku="TS-001", quantity=-1),
        tag_event("logged_in"),  # who?
        tag_event(text="a\u0000b"),
        "not an event",
        tag_event("cart_item_added", sku="TS-001", quantity=1),
    )
    response = post(client, site, body)
    assert response.status_code == 200
    result = response.json()
    assert result["accepted"] == 2
    assert result["rejected"] == 12
    codes = {error["index"]: error["code"] for error in result["errors"]}
    assert codes == {
        1: "unknown_type",
        2: "unknown_type",
        3: "invalid_occurred_at",
        4: "occurred_at_out_of_range",
        5: "invalid_id",
        6: "invalid_properties",
        7: "properties_too_large",
        8: "missing_product",
        9: "invalid_quantity",
        10: "missing_identity",
        11: "invalid_properties",
        12: "invalid_event",
    }
    assert result["errors"][0]["field"] == "events[1].type"
    assert all(error["message"] for error in result["errors"])
    assert sorted(Event.objects.values_list("type", flat=True)) == ["cart_item_added", "product_viewed"]


def test_error_messages_are_japanese_by_default(client: Client, site: TrackingSite) -> None:
    response = post(client, site, b"{", HTTP_ACCEPT_LANGUAGE="ja")
    assert (
        response.json()["message"]
        == "リクエスト本文が正しいJSONではありません。events の配列を持つオブジェクトを送ってください。"
    )


def test_the_browsers_clock_is_corrected_by_the_time_it_says_it_sent_the_batch(
    client: Client, site: TrackingSite
) -> None:
    now = timezone.now()
    browser_now = now + dt.timedelta(hours=3)  # a PC whose clock is three hours fast
    body = json.dumps(
        {
            "anonymous_id": "anon-0123456789",
            "sent_at": browser_now.isoformat(),
            "events": [{**tag_event(at=browser_now - dt.timedelta(seconds=30))}],
        }
    ).encode()
    assert post(client, site, body).json()["accepted"] == 1
    stored = Event.objects.get()
    assert abs(stored.occurred_at - (now - dt.timedelta(seconds=30))) < dt.timedelta(seconds=5)


@override_settings(TAG_RATE_LIMIT_PER_IP=3)
def test_too_many_requests_from_one_address_get_429_with_retry_after(
    client: Client, site: TrackingSite, rate_window: None
) -> None:
    statuses = [post(client, site, tag_batch(tag_event())).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = post(client, site, tag_batch(tag_event()))
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    # Another address is counted on its own.
    assert post(client, site, tag_batch(tag_event()), REMOTE_ADDR="192.0.2.10").status_code == 200
    assert Event.objects.count() == 4


@override_settings(TAG_RATE_LIMIT_PER_KEY=2, TAG_RATE_LIMIT_PER_IP=0)
def test_too_many_requests_for_one_write_key_get_429(client: Client, site: TrackingSite, rate_window: None) -> None:
    addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    statuses = [post(client, site, tag_batch(tag_event()), REMOTE_ADDR=ip).status_code for ip in addresses]
    assert statuses == [200, 200, 429]


@override_settings(TAG_RATE_LIMIT_PER_IP=1, TAG_CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
def test_behind_a_proxy_the_visitors_address_is_read_from_the_configured_header(
    client: Client, site: TrackingSite, rate_window: None
) -> None:
    first = post(client, site, tag_batch(tag_event()), HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1")
    second = post(client, site, tag_batch(tag_event()), HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert (first.status_code, second.status_code) == (200, 200)


def test_a_site_that_requires_consent_refuses_batches_sent_without_it(client: Client, site: TrackingSite) -> None:
    TrackingSite.objects.filter(pk=site.pk).update(require_consent=True)
    refused = post(client, site, tag_batch(tag_event(), consent=False))
    assert refused.status_code == 403
    assert refused.json()["code"] == "consent_required"
    assert not Event.objects.exists()
    assert post(client, site, tag_batch(tag_event(), consent=True)).status_code == 200
    assert Event.objects.count() == 1


def test_other_methods_are_refused(client: Client, site: TrackingSite) -> None:
    response = client.get(f"{URL}?key={site.write_key}", headers={"Origin": SHOP_ORIGIN})
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"


def test_page_views_are_written_dispatched_and_cart_facts_wait_for_their_consumer(
    client: Client, site: TrackingSite
) -> None:
    post(client, site, tag_batch(tag_event("page_viewed"), tag_event("cart_item_added", sku="NOPE-1")))
    dispatched = dict(Event.objects.values_list("type", "dispatched_at"))
    assert dispatched["page_viewed"] is not None
    assert dispatched["cart_item_added"] is None  # in the outbox: the commerce app keeps carts from it


# A Redis database of its own per test database: `make test` runs the SQLite and PostgreSQL suites at once, and
# this test empties the Redis database it uses.
_REDIS_DB = 15 if os.environ.get("TOKUI_DATABASE_URL", "").startswith("postgres") else 14
REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:6379/{_REDIS_DB}",
    }
}


@override_settings(TAG_RATE_LIMIT_PER_IP=2, CACHES=REDIS_CACHE)
def test_with_redis_the_limit_is_counted_in_redis_for_every_process(
    client: Client, site: TrackingSite, rate_window: None
) -> None:
    from django.core.cache import caches

    redis = caches["default"]
    try:
        redis.clear()
    except Exception:  # noqa: BLE001 - no Redis on this machine
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    statuses = [post(client, site, tag_batch(tag_event())).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert redis._cache.get_client().keys(":1:tokui:rl:ip:*")  # type: ignore[attr-defined]
    redis.clear()
