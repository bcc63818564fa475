"""UTF-8 parts as 8bit to servers offering 8BITMIME (RFC 6152), base64 to the others; short lines either way."""

from __future__ import annotations

import email
import re
from email import policy
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.messaging.conftest import make_template, running_smtp_server
from tokui.customers.models import Contact
from tokui.messaging.channels.smtp_pipeline import starts_a_line_with_dot
from tokui.messaging.delivery import messages_send_to_contacts
from tokui.messaging.enums import OutboxStatus
from tokui.messaging.models import OutboxMessage, SenderIdentity
from tokui.messaging.rendering.lines import break_long_lines
from tokui.messaging.rendering.mime import MimeSkeleton, eight_bit_body

LONG_HTML = (
    "<h1>{{ contact.name }}様</h1>"
    + "".join(
        f'<table class="row"><tr><td class="col" style="padding: 8px;"><a href="https://shop.example.jp/c/{n}">'
        f'<img src="https://shop.example.jp/m/{n}.jpg" width="280" alt="おすすめ {n}"></a>'
        "<p>春の新作が入荷しました。</p></td></tr></table>"
        for n in range(60)
    )
    + "<pre>一行目\n.整形済みの行\n</pre>"
)


def _raw_lines_are_rfc_5322(raw: bytes) -> None:
    lines = raw.split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)  # CRLF only
    assert max(map(len, lines)) <= 998


@pytest.mark.parametrize(
    ("pipelining", "chunking"),
    [(True, True), (True, False), (False, False)],
    ids=["bdat", "pipelining", "one-command-at-a-time"],
)
@pytest.mark.parametrize("eight_bit_mime", [True, False], ids=["8bitmime", "7bit"])
def test_parts_go_as_8bit_only_to_a_server_offering_8bitmime_and_read_back_the_same(
    settings: SettingsWrapper,
    sender: SenderIdentity,
    buyer: Contact,
    pipelining: bool,
    chunking: bool,
    eight_bit_mime: bool,
) -> None:
    _template, version = make_template(sender=sender, html=LONG_HTML)
    with running_smtp_server(
        settings, pipelining=pipelining, eight_bit_mime=eight_bit_mime, chunking=chunking
    ) as server:
        messages_send_to_contacts(template_version=version, contact_ids=[buyer.pk])

    assert OutboxMessage.objects.get().status == OutboxStatus.SENT
    [received] = server.received
    _raw_lines_are_rfc_5322(received.raw)
    assert ("BODY=8BITMIME" in received.mail_options) == eight_bit_mime
    text, html = received.message.get_payload()
    expected = "8bit" if eight_bit_mime else "base64"
    assert text["Content-Transfer-Encoding"] == html["Content-Transfer-Encoding"] == expected
    assert received.raw.isascii() != eight_bit_mime
    body = html.get_content()
    assert "山田 花子様" in body and "おすすめ 59" in body and body.count("https://tokui.example.jp/m/c/") == 60
    # The line starting with a dot arrives as written (stuffed on the wire with DATA; BDAT carries it as it is).
    assert "\n.整形済みの行\n" in body.replace("\r\n", "\n")
    assert "山田 花子様" in text.get_content()


def test_a_part_with_a_line_longer_than_998_octets_goes_as_base64_and_the_other_as_8bit() -> None:
    skeleton = MimeSkeleton.build(
        charset="utf-8",
        from_name="得意商事",
        from_email="shop@tokui.example.jp",
        reply_to="",
        list_unsubscribe_post=True,
    )
    text = "あ" * 400 + "\n次の行\n"  # 1,200 octets on one line: cannot be 8bit
    html = "<p>短い行</p>\n<p>もう一行</p>"
    mail = skeleton.assemble(
        to_name="山田",
        to_email="u@example.jp",
        subject="件名",
        message_id="<1@x>",
        text=text,
        html=html,
        eight_bit=True,
    )

    _raw_lines_are_rfc_5322(mail.raw)
    assert mail.eight_bit and not mail.dot_free  # an 8bit part is searched for leading dots only by DATA
    parsed = email.message_from_bytes(mail.raw, policy=policy.default)
    text_part, html_part = parsed.get_payload()  # type: ignore[misc]
    assert (text_part["Content-Transfer-Encoding"], html_part["Content-Transfer-Encoding"]) == ("base64", "8bit")
    assert text_part.get_content() == text
    assert html_part.get_content().replace("\r\n", "\n") == html  # the last line end is the delimiter's


def test_iso_2022_jp_mail_stays_7bit_even_when_8bit_is_allowed() -> None:
    skeleton = MimeSkeleton.build(
        charset="iso-2022-jp", from_name="得意商事", from_email="s@x.jp", reply_to="", list_unsubscribe_post=False
    )
    mail = skeleton.assemble(
        to_name="",
        to_email="u@x.jp",
        subject="件名",
        message_id="<1@x>",
        text="本文",
        html="<p>本文</p>",
        eight_bit=True,
    )
    assert not mail.eight_bit and mail.raw.isascii() and mail.raw.count(b"Content-Transfer-Encoding: base64") == 2


_BOUNDARY = b"--=_tokui_0123"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.lists(st.sampled_from(["a", ".", "あ", "\r", "\r\n", "\x00", " "]), max_size=12).map("".join),
            st.integers(min_value=990, max_value=1003).map(lambda n: "x" * n),
            st.just(_BOUNDARY.decode()),
        ),
        max_size=6,
    )
)
def test_a_body_is_8bit_exactly_when_every_line_allows_it(lines: list[str]) -> None:
    data = "\n".join(lines).encode()
    pieces = eight_bit_body(data, boundary=_BOUNDARY)
    found = None if pieces is None else b"".join(pieces)
    lf = data.replace(b"\r\n", b"\n")  # CRLF is a line end too; any other CR is not allowed
    split = lf.split(b"\n")
    allowed = not (b"\r" in lf or b"\x00" in data or _BOUNDARY in data or max(map(len, split)) > 998)
    assert (found is not None) == allowed
    if found is not None:
        assert found == lf.replace(b"\n", b"\r\n") + (b"" if lf.endswith(b"\n") else b"\r\n")
        assert starts_a_line_with_dot(found) == any(line.startswith(b".") for line in split)


class _Events(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[Any] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data))


def _events(source: str) -> list[Any]:
    parser = _Events()
    parser.feed(source)
    parser.close()
    return parser.events


def test_long_lines_are_broken_only_between_attributes_so_the_html_means_the_same() -> None:
    row = (
        '<td class="a b" style="padding: 8px; color: #333;" {% if x > 1 %}data-x="1"{% endif %}>'
        '<a href="{{ item.url | default: "https://a.example/x y" }}" title=\'テキスト "引用" です\'>'
        '本文 class="no" のテキスト</a></td>'
    )
    source = (
        "<table>" + row * 40 + "</table><style>.a { color: red; }" + " " * 900 + "</style><pre>" + "x " * 600 + "</pre>"
    )
    broken = break_long_lines(source, target=200)

    assert broken.replace("\n", " ") == source and broken.count("\n") > 20
    assert _events(broken) == _events(source)
    liquid = re.compile(r"\{%.*?%\}|\{\{.*?\}\}")
    assert liquid.findall(broken) == liquid.findall(source)  # Liquid markup untouched
    lines = broken.split("\n")
    assert all(len(line.encode()) < 200 + 200 for line in lines if "<pre>" not in line and "<style>" not in line)
