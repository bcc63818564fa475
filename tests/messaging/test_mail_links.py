"""Signed mail links: a click redirects only where Tokui signed it to, opens and clicks land on the timeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.asgi import get_asgi_application
from django.test import Client
from django.test.utils import override_settings

from tests.asgi_server import RunningServer, asgi_server
from tests.factories import CompanyFactory, ContactFactory
from tokui.core.errors import DomainError
from tokui.customers.models import Contact
from tokui.messaging.enums import MailLinkKind
from tokui.messaging.hit_server import MailHitFront
from tokui.messaging.links import mail_click_url, mail_link_read, mail_open_url
from tokui.tracking.models import Event
from tokui.tracking.tag_server import TagIngestFront

SITE = "https://tokui.example.jp"
SHOP_PAGE = "https://shop.example.jp/products/リネンシャツ?utm_source=tokui"
# As it travels in the Location header: ASCII, the Japanese path percent-encoded.
SHOP_PAGE_SENT = (
    "https://shop.example.jp/products/%E3%83%AA%E3%83%8D%E3%83%B3%E3%82%B7%E3%83%A3%E3%83%84?utm_source=tokui"
)


def path_of(url: str) -> str:
    assert url.startswith(SITE)
    return url.removeprefix(SITE)


@pytest.fixture(autouse=True)
def _site_url() -> Iterator[None]:
    with override_settings(SITE_URL=SITE):
        yield


@pytest.fixture
def buyer(db: None) -> Contact:
    contact: Contact = ContactFactory(company=CompanyFactory(name="山田商店"))
    return contact


BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.mark.django_db
def test_a_click_redirects_to_the_signed_address_and_lands_on_the_timeline(client: Client, buyer: Contact) -> None:
    url = mail_click_url(message_id=42, contact_id=buyer.pk, url=SHOP_PAGE)
    response = client.get(path_of(url), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert response["Location"] == SHOP_PAGE_SENT
    assert response["Cache-Control"] == "no-store, private"
    event = Event.objects.get()
    assert (event.type, event.source, event.contact_id, event.company_id) == (
        "mail_clicked",
        "mail",
        buyer.pk,
        buyer.company_id,
    )
    # No outbox row 42 exists: the template and campaign are unknown, the keys are there all the same.
    assert event.properties == {
        "message_id": 42,
        "url": SHOP_PAGE,
        "template_id": None,
        "campaign_id": "",
        "machine": False,
    }


@pytest.mark.django_db
def test_an_open_answers_a_transparent_image_and_every_open_is_a_fact(client: Client, buyer: Contact) -> None:
    url = mail_open_url(message_id=42, contact_id=buyer.pk)
    assert url.endswith(".gif")
    for _ in range(2):
        response = client.get(path_of(url))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/gif"
        assert response.content.startswith(b"GIF89a")
    assert list(Event.objects.values_list("type", "contact_id")) == [("mail_opened", buyer.pk)] * 2


@pytest.mark.django_db
def test_a_tampered_link_redirects_nowhere_and_says_so_in_japanese(client: Client, buyer: Contact) -> None:
    url = mail_click_url(message_id=42, contact_id=buyer.pk, url=SHOP_PAGE)
    payload, signature = path_of(url).removeprefix("/m/c/").rsplit(":", 1)
    forged = mail_click_url(message_id=42, contact_id=buyer.pk, url="https://evil.example.com/")
    forged_payload = path_of(forged).removeprefix("/m/c/").rsplit(":", 1)[0]
    for token in (f"{forged_payload}:{signature}", f"{payload}:{signature[:-2]}", "not-a-token", payload):
        response = client.get(f"/m/c/{token}")
        assert response.status_code == 400, token
        assert "Location" not in response
        assert "このリンクは使えません" in response.content.decode()
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_an_open_token_is_not_a_click_token(client: Client, buyer: Contact) -> None:
    token = path_of(mail_open_url(message_id=1, contact_id=buyer.pk)).removeprefix("/m/o/").removesuffix(".gif")
    assert mail_link_read(token=token, kind=MailLinkKind.CLICK) is None
    assert client.get(f"/m/c/{token}").status_code == 400


@pytest.mark.parametrize(
    "address",
    [
        "javascript:alert(1)",
        "mailto:someone@example.jp",
        "//evil.example.com/",
        "https://shop.example.jp/\r\nSet-Cookie: x=1",
    ],
)
def test_only_http_addresses_can_be_signed(address: str) -> None:
    with pytest.raises(DomainError):
        mail_click_url(message_id=1, contact_id=1, url=address)


@pytest.mark.django_db
def test_a_click_of_a_deleted_contact_still_redirects_but_is_not_counted(client: Client, buyer: Contact) -> None:
    url = mail_click_url(message_id=7, contact_id=buyer.pk, url=SHOP_PAGE)
    buyer.delete()
    response = client.get(path_of(url))
    assert response.status_code == 302
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_other_methods_are_refused(client: Client, buyer: Contact) -> None:
    url = mail_click_url(message_id=7, contact_id=buyer.pk, url=SHOP_PAGE)
    assert client.post(path_of(url)).status_code == 405
    assert not Event.objects.exists()


@pytest.fixture
def front_server() -> Iterator[tuple[RunningServer, MailHitFront]]:
    # As tokui.asgi composes them: the mail links' front around the tag's front around Django.
    tag_front = TagIngestFront(get_asgi_application())
    front = MailHitFront(tag_front)
    try:
        with asgi_server(front) as running:
            yield running, front
    finally:
        front.close()
        tag_front.close()


@pytest.mark.django_db(transaction=True)
def test_the_front_redirects_at_once_and_stores_the_hits_moments_later(
    front_server: tuple[RunningServer, MailHitFront], buyer: Contact
) -> None:
    server, front = front_server
    click = mail_click_url(message_id=9, contact_id=buyer.pk, url=SHOP_PAGE)
    opened = mail_open_url(message_id=9, contact_id=buyer.pk)
    answer = server.request("GET", path_of(click))
    assert answer.status == 302
    # The Location header is ASCII: the Japanese path is percent-encoded.
    assert (
        answer.headers["location"]
        == "https://shop.example.jp/products/%E3%83%AA%E3%83%8D%E3%83%B3%E3%82%B7%E3%83%A3%E3%83%84?utm_source=tokui"
    )
    image = server.request("GET", path_of(opened))
    assert (image.status, image.headers["content-type"], image.body[:6]) == (200, "image/gif", b"GIF89a")

    assert front.writer.drain()
    assert sorted(Event.objects.values_list("type", "company_id")) == [
        ("mail_clicked", buyer.company_id),
        ("mail_opened", buyer.company_id),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_front_hands_broken_links_to_django(front_server: tuple[RunningServer, MailHitFront]) -> None:
    server, _front = front_server
    answer = server.request("GET", "/m/c/broken:token", headers={"Accept-Language": "ja"})
    assert answer.status == 400
    assert "location" not in answer.headers
    assert server.request("GET", "/healthz").status == 200
    assert not Event.objects.exists()


def test_the_fast_signer_of_the_send_path_makes_exactly_djangos_tokens() -> None:
    from django.core import signing

    from tokui.messaging.links import _token

    payload = ["c", 12, 34, "https://shop.example.jp/products/1?a=1&b=日本"]
    assert _token(payload) == signing.Signer(salt="tokui.messaging.mail-link").sign_object(payload)
