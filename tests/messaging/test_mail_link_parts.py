"""Click links of sent mail: one signature per mail plus a signed address half per template version and address."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import Client
from django.test.utils import override_settings
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import CompanyFactory, ContactFactory
from tests.messaging.conftest import make_template
from tokui.customers.models import Contact
from tokui.messaging.enums import MailLinkKind
from tokui.messaging.hand_over import sender_data
from tokui.messaging.links import (
    click_link_part,
    compact_json,
    mail_click_prefix,
    mail_click_url,
    mail_click_url_of_version,
    mail_link_from_path,
    mail_link_read,
)
from tokui.messaging.models import MailTemplateVersion, SenderIdentity
from tokui.messaging.rendering.compiled import (
    LINK_SLOT,
    PIXEL_SLOT,
    compile_version,
    prepare_tracking,
    render_tracked,
    render_tracked_utf8,
)
from tokui.tracking.models import Event

SITE = "https://tokui.example.jp"
SHOP_PAGE = "https://shop.example.jp/products/リネンシャツ?utm_source=tokui"


@pytest.fixture(autouse=True)
def _site_url() -> Iterator[None]:
    with override_settings(SITE_URL=SITE):
        yield


def token_of(url: str) -> str:
    assert url.startswith(f"{SITE}/m/c/")
    return url.removeprefix(f"{SITE}/m/c/")


def test_a_two_part_link_reads_back_to_its_mail_contact_and_address() -> None:
    for url in (SHOP_PAGE, "http://shop.example.jp/", "https://s.example.jp/" + "p" * 300):
        tracked = mail_click_url_of_version(message_id=7, contact_id=123, version_id=5, url=url)
        link = mail_link_read(token=token_of(tracked), kind=MailLinkKind.CLICK)
        assert link is not None
        assert (link.kind, link.message_id, link.contact_id, link.url) == (MailLinkKind.CLICK, 7, 123, url)
    assert click_link_part(version_id=5, url="javascript:alert(1)") is None


def test_the_address_half_is_signed_once_per_version_and_shared_by_every_mail() -> None:
    part = click_link_part(version_id=5, url=SHOP_PAGE)
    assert part is not None and click_link_part(version_id=5, url=SHOP_PAGE) == part
    first = mail_click_prefix(message_id=1, contact_id=10, version_id=5)
    second = mail_click_prefix(message_id=2, contact_id=11, version_id=5)
    assert first != second
    readers = [mail_link_read(token=token_of(prefix + part), kind=MailLinkKind.CLICK) for prefix in (first, second)]
    assert [(link.message_id, link.contact_id) for link in readers if link] == [(1, 10), (2, 11)]


def test_tampered_or_mixed_two_part_links_are_refused() -> None:
    prefix = mail_click_prefix(message_id=1, contact_id=10, version_id=5)
    part = click_link_part(version_id=5, url=SHOP_PAGE)
    other_version_part = click_link_part(version_id=6, url="https://evil.example.com/")
    assert part is not None and other_version_part is not None
    mail_token = token_of(prefix).removesuffix(".")
    value, signature = part.split(":")
    forged_value = click_link_part(version_id=5, url="https://evil.example.com/")
    assert forged_value is not None
    refused = [
        f"{mail_token}.{forged_value.split(':')[0]}:{signature}",  # another address under this address's signature
        f"{mail_token}.{value}:{signature[:-2]}",  # a cut signature
        f"{mail_token}.{other_version_part}",  # an address of another version's mail
        f"{mail_token[:-2]}.{part}",  # a broken mail half
        f"{mail_token}.",
        f".{part}",
        part,  # the address half alone
        f"{part}.{mail_token}",  # the halves swapped
    ]
    for token in refused:
        assert mail_link_read(token=token, kind=MailLinkKind.CLICK) is None, token
    # An open pixel never reads a click token, in either form.
    assert mail_link_read(token=f"{mail_token}.{part}", kind=MailLinkKind.OPEN) is None


@pytest.mark.django_db
def test_a_tampered_two_part_link_redirects_nowhere(client: Client) -> None:
    buyer: Contact = ContactFactory(company=CompanyFactory(name="山田商店"))
    url = mail_click_url_of_version(message_id=42, contact_id=buyer.pk, version_id=3, url=SHOP_PAGE)
    other = click_link_part(version_id=4, url="https://evil.example.com/")
    forged = url.rsplit(".", 1)[0] + f".{other}"
    response = client.get(forged.removeprefix(SITE))
    assert response.status_code == 400
    assert "Location" not in response
    assert not Event.objects.exists()
    response = client.get(url.removeprefix(SITE))
    assert response.status_code == 302
    assert Event.objects.get().contact_id == buyer.pk


def test_old_single_token_links_still_work() -> None:
    link = mail_link_from_path(mail_click_url(message_id=9, contact_id=8, url=SHOP_PAGE).removeprefix(SITE))
    assert link is not None and (link.message_id, link.contact_id, link.url) == (9, 8, SHOP_PAGE)


def test_fixed_links_are_signed_when_the_version_is_prepared_and_liquid_ones_are_left() -> None:
    source = (
        '<html><body><a href="https://shop.example.jp/a?x=1&amp;y=2">A</a>'
        '{% for item in items %}<a href="{{ item.url }}">{{ item.name }}</a>{% endfor %}'
        '<a href="https://shop.example.jp/p/{{ id }}">P</a>'
        '<a href="{{ unsubscribe_url }}">stop</a><a href="https://tokui.example.jp/m/u/abc">stop</a>'
        '{{ "<a href=\\"https://in.liquid.example.jp/\\">" }}</body></html>'
    )
    prepared, has_pixel = prepare_tracking(source, version_id=5)
    assert has_pixel and prepared.count(PIXEL_SLOT) == 1 and prepared.index(PIXEL_SLOT) < prepared.index("</body>")
    assert prepared.count(LINK_SLOT) == 1
    fixed = prepared.split(LINK_SLOT, 1)[1].split('"', 1)[0]
    assert fixed == click_link_part(version_id=5, url="https://shop.example.jp/a?x=1&y=2")
    for untouched in (
        'href="{{ item.url }}"',
        'href="https://shop.example.jp/p/{{ id }}"',
        'href="{{ unsubscribe_url }}"',
        'href="https://tokui.example.jp/m/u/abc"',
        "https://in.liquid.example.jp/",
    ):
        assert untouched in prepared


def test_the_pixel_slot_is_not_put_inside_liquid_markup() -> None:
    prepared, has_pixel = prepare_tracking('<p>x</p>{{ "</body>" }}', version_id=1)
    assert not has_pixel and PIXEL_SLOT not in prepared


def test_links_signed_before_a_key_rotation_still_work_and_unknown_keys_do_not() -> None:
    old_key, new_key = "old-" + "k" * 60, "new-" + "k" * 60
    with override_settings(SECRET_KEY=old_key):
        token = token_of(mail_click_url_of_version(message_id=3, contact_id=4, version_id=5, url=SHOP_PAGE))
    with override_settings(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key]):
        link = mail_link_read(token=token, kind=MailLinkKind.CLICK)
        assert link is not None and (link.message_id, link.contact_id, link.url) == (3, 4, SHOP_PAGE)
        fresh = token_of(mail_click_url_of_version(message_id=3, contact_id=4, version_id=5, url=SHOP_PAGE))
        assert fresh != token and mail_link_read(token=fresh, kind=MailLinkKind.CLICK) is not None
    with override_settings(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[]):
        assert mail_link_read(token=token, kind=MailLinkKind.CLICK) is None


@given(
    st.lists(
        st.one_of(st.integers(), st.text(max_size=12), st.sampled_from(["c", "https://shop.example.jp/a?b=1&c=%20"])),
        max_size=5,
    )
)
def test_link_payloads_are_written_as_json_writes_them(payload: list[object]) -> None:
    assert compact_json(payload) == json.dumps(payload, separators=(",", ":"))


@pytest.mark.parametrize(
    "html",
    [
        '<p>{{ contact.name }}</p>{% for u in urls %}<a href="{{ u }}">x</a>{% endfor %}<a href="https://a.example.jp/">',
        # a link only partly written by Liquid: the regex pass over the bytes' text
        '<p>{{ contact.name }}</p><a href="https://shop.example.jp/p/{{ id }}">P</a><a href="https://a.example.jp/">',
    ],
)
def test_a_send_rendered_as_utf8_bytes_is_the_text_render_encoded(html: str, sender: SenderIdentity) -> None:
    template, _version = make_template(sender=sender)
    # Not saved: the template checks would refuse the made-up variables; compiling needs none of the checks.
    version = MailTemplateVersion(pk=99, template=template, subject="{{ contact.name }}様", html=html, text="{{ id }}")
    compiled = compile_version(version=version, sender=sender_data(sender))
    context = {
        "contact": {"name": "山田 & 花子"},
        "urls": ["https://shop.example.jp/p/1?a=1&b=2", "mailto:a@example.jp"],
        "id": "シャツ",
        "unsubscribe_url": f"{SITE}/m/u/tok",
    }
    text = render_tracked(compiled, context=context, message_pk=3, contact_id=4)
    data = render_tracked_utf8(compiled, context=context, message_pk=3, contact_id=4)
    assert (data.subject, data.html, data.text) == (text.subject, text.html.encode(), text.text.encode())
    assert data.html.count(f"{SITE}/m/c/".encode()) == 2 and f"{SITE}/m/o/".encode() in data.html
    fast = compiled.tracked_html.fast_utf8
    assert fast is not None and fast.links_complete == ("{{ u }}" in html)
