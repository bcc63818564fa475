"""The ingest server in front of Django: a real HTTP server, the same answers as the view, batches stored before the
answer, one statement for many requests, and clear JSON errors for bad input."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test.utils import override_settings
from django.urls import reverse

from tests.factories import ContactFactory, ProductFactory
from tests.tracking.conftest import SHOP_ORIGIN
from tests.tracking.ingest_server import IngestServer, ingest_server
from tests.tracking.tag_payloads import tag_batch, tag_event
from tokui.commerce.models import Cart
from tokui.tracking.models import AnonymousIdentity, Event, TrackingSite, TrackingSiteHour
from tokui.tracking.tag_server import TAG_BATCH_PATH
from tokui.tracking.tag_writer import TagBatchWriter

# The server answers from its own threads, with their own database connections: tests must commit.
pytestmark = pytest.mark.django_db(transaction=True)

TEXT = {"Origin": SHOP_ORIGIN, "Content-Type": "text/plain;charset=UTF-8"}


@pytest.fixture
def server() -> Iterator[IngestServer]:
    with ingest_server() as running:
        yield running


def post(server: IngestServer, site: TrackingSite, body: bytes, **headers: str) -> Any:
    return server.request("POST", f"{TAG_BATCH_PATH}?key={site.write_key}", body, headers={**TEXT, **headers})


def test_the_server_serves_the_path_django_routes_to_the_view() -> None:
    assert reverse("tracking:batch") == TAG_BATCH_PATH


def test_a_batch_is_stored_before_the_answer_and_once_when_sent_again(server: IngestServer, site: TrackingSite) -> None:
    body = tag_batch(tag_event("page_viewed", url="https://shop.example.jp/"), tag_event("searched", query="リネン"))
    first = post(server, site, body)
    assert first.status == 200
    assert first.json() == {"accepted": 2, "rejected": 0, "errors": []}
    assert first.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert "set-cookie" not in first.headers
    assert Event.objects.filter(source="tag").count() == 2  # queryable as soon as the answer is there

    assert post(server, site, body).status == 200
    stored = Event.objects.get(type="searched")
    assert (Event.objects.count(), stored.anonymous_id, stored.properties) == (
        2,
        "anon-0123456789",
        {"query": "リネン"},
    )


def test_other_requests_are_served_by_django(server: IngestServer) -> None:
    assert server.request("GET", "/healthz").status == 200


def test_bad_events_are_refused_one_by_one_like_the_view_does(server: IngestServer, site: TrackingSite) -> None:
    body = tag_batch(tag_event("page_viewed"), tag_event("order_shipped"), tag_event("cart_item_added"))
    answer = post(server, site, body).json()
    assert (answer["accepted"], answer["rejected"]) == (1, 2)
    assert [(e["index"], e["code"]) for e in answer["errors"]] == [(1, "unknown_type"), (2, "missing_product")]
    assert Event.objects.count() == 1


def test_an_unknown_write_key_is_refused_with_401(server: IngestServer) -> None:
    answer = server.request("POST", f"{TAG_BATCH_PATH}?key=tk_nope", tag_batch(tag_event()), headers=TEXT)
    assert answer.status == 401
    assert answer.json()["code"] == "invalid_write_key"
    assert "access-control-allow-origin" not in answer.headers


def test_an_unregistered_origin_is_refused_with_403_and_no_cors_headers(
    server: IngestServer, site: TrackingSite
) -> None:
    answer = post(server, site, tag_batch(tag_event()), Origin="https://evil.example.com")
    assert answer.status == 403
    assert answer.json()["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in answer.headers
    assert not Event.objects.exists()


def test_a_preflight_from_a_registered_origin_is_answered(server: IngestServer, site: TrackingSite) -> None:
    answer = server.request(
        "OPTIONS",
        f"{TAG_BATCH_PATH}?key={site.write_key}",
        headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert answer.status == 204
    assert answer.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert answer.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert answer.headers["access-control-allow-headers"] == "Content-Type"


def test_other_methods_are_refused_with_405(server: IngestServer, site: TrackingSite) -> None:
    answer = server.request("GET", f"{TAG_BATCH_PATH}?key={site.write_key}", headers={"Origin": SHOP_ORIGIN})
    assert (answer.status, answer.headers["allow"]) == (405, "POST, OPTIONS")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"anonymous_id": "anon-0123456789", "events": [', "invalid_json"),
        (b"\xff\xfe\x00garbage", "invalid_utf8"),
        (b"[1, 2, 3]", "invalid_batch"),
        (b"[" * 100_000, "invalid_json"),
    ],
    ids=["malformed-json", "invalid-utf8", "not-an-object", "deep"],
)
def test_an_unreadable_body_gets_a_400_json_error_in_japanese(
    server: IngestServer, site: TrackingSite, body: bytes, code: str
) -> None:
    answer = post(server, site, body)
    assert answer.status == 400
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert (error["code"], set(error)) == (code, {"code", "message", "field"})
    assert any("\u3040" <= char <= "\u30ff" for char in error["message"])  # kana: the site's language
    assert not Event.objects.exists()


def test_english_is_answered_to_a_browser_that_asks_for_it(server: IngestServer, site: TrackingSite) -> None:
    error = post(server, site, b"{", **{"Accept-Language": "en-US,en;q=0.8"}).json()
    assert error["message"] == "The request body is not valid JSON. Send an object with an events list."


def test_an_oversize_body_is_refused_with_413_whether_declared_or_streamed(
    server: IngestServer, site: TrackingSite
) -> None:
    big = tag_batch(tag_event(note="x" * (600 * 1024)))
    declared = post(server, site, big)
    assert declared.status == 413
    assert declared.json()["code"] == "body_too_large"
    streamed = server.request(
        "POST", f"{TAG_BATCH_PATH}?key={site.write_key}", big, headers=TEXT, chunked=True
    )  # no Content-Length: cut while reading
    assert (streamed.status, streamed.json()["code"]) == (413, "body_too_large")
    assert not Event.objects.exists()


def test_a_10000_event_batch_is_refused_with_413_and_a_json_error(server: IngestServer, site: TrackingSite) -> None:
    events = [{"id": f"e{n:07d}", "type": "page_viewed"} for n in range(10_000)]
    body = json.dumps({"anonymous_id": "anon-0123456789", "events": events}, separators=(",", ":")).encode()
    answer = post(server, site, body)
    assert answer.status == 413
    assert answer.json()["code"] == "batch_too_large"
    assert answer.json()["field"] == "events"
    assert not Event.objects.exists()


@override_settings(TAG_RATE_LIMIT_PER_IP=2, TAG_CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
def test_rate_limits_count_the_visitor_named_by_the_proxy(
    server: IngestServer, site: TrackingSite, rate_window: None
) -> None:
    statuses = [post(server, site, tag_batch(tag_event()), **{"X-Forwarded-For": "203.0.113.7"}).status for _ in "abc"]
    assert statuses == [200, 200, 429]
    limited = post(server, site, tag_batch(tag_event()), **{"X-Forwarded-For": "203.0.113.7"})
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert post(server, site, tag_batch(tag_event()), **{"X-Forwarded-For": "203.0.113.8"}).status == 200


def test_a_site_that_requires_consent_refuses_batches_without_it(server: IngestServer, site: TrackingSite) -> None:
    TrackingSite.objects.filter(pk=site.pk).update(require_consent=True)
    answer = post(server, site, tag_batch(tag_event(), consent=False))
    assert (answer.status, answer.json()["code"]) == (403, "consent_required")


def test_a_login_stitches_the_browser_and_cart_facts_reach_the_cart(server: IngestServer, site: TrackingSite) -> None:
    buyer = ContactFactory(email="sato@shop.example.jp")
    ProductFactory(sku="TS-001")
    browser = "anon-server-browser-1"
    assert post(server, site, tag_batch(tag_event("page_viewed"), anonymous_id=browser)).status == 200
    login = tag_batch(
        tag_event("cart_item_added", sku="TS-001", quantity=2),
        tag_event("logged_in", email="sato@shop.example.jp"),
        anonymous_id=browser,
    )
    assert post(server, site, login).status == 200
    assert post(server, site, tag_batch(tag_event("page_viewed"), anonymous_id=browser, identified=True)).status == 200

    assert AnonymousIdentity.objects.get(anonymous_id=browser).contact_id == buyer.pk
    assert set(Event.objects.filter(anonymous_id=browser).values_list("contact_id", "company_id")) == {
        (buyer.pk, buyer.company_id)
    }
    cart = Cart.objects.get(source="tag")  # the outbox handed the cart fact to commerce after commit
    assert cart.lines.get().quantity == 2
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


def test_requests_arriving_together_are_all_stored(server: IngestServer, site: TrackingSite) -> None:
    statuses: list[int] = []

    def send(n: int) -> None:
        body = tag_batch(*(tag_event() for _ in range(20)), anonymous_id=f"anon-together-{n:04d}")
        statuses.append(post(server, site, body).status)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 16
    assert Event.objects.count() == 16 * 20


def _failing_write(batches: list[Any]) -> None:
    raise RuntimeError("the database is away")


def test_a_batch_that_cannot_be_stored_is_answered_503_so_the_tag_sends_it_again(site: TrackingSite) -> None:
    with ingest_server(writer=TagBatchWriter(write=_failing_write)) as failing:
        answer = post(failing, site, tag_batch(tag_event()))
    assert answer.status == 503
    assert answer.json()["code"] == "ingest_unavailable"
    assert answer.json()["message"] == "現在イベントを保存できません。タグがしばらくしてから自動的に再送します。"
    assert answer.headers["retry-after"] == "1"
    assert answer.headers["access-control-allow-origin"] == SHOP_ORIGIN  # the tag can read it and retry


def test_a_full_writer_answers_503_instead_of_queueing_without_bound(site: TrackingSite) -> None:
    with ingest_server(writer=TagBatchWriter(max_waiting_events=0)) as full:
        answer = post(full, site, tag_batch(tag_event()))
    assert (answer.status, answer.json()["code"]) == (503, "ingest_unavailable")
    assert not Event.objects.exists()


def test_the_tag_screens_counts_reach_the_database_once_the_server_falls_quiet(
    server: IngestServer, site: TrackingSite
) -> None:
    for _ in range(3):  # within two seconds: the later counts wait in memory
        assert post(server, site, tag_batch(tag_event())).status == 200
    deadline = time.monotonic() + 5
    received = 0
    while time.monotonic() < deadline:
        received = sum(TrackingSiteHour.objects.filter(site=site).values_list("received", flat=True))
        if received == 3:
            break
        time.sleep(0.1)
    assert received == 3
