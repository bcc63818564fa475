"""MIME built as strings: the skeleton once per template version, the per-recipient parts filled in.

``email.message`` builds about 900 messages/s per core; a mail here differs between recipients only in a few
headers and the two bodies, so the rest is prepared once and the message is joined from strings (~100× faster).
The result is plain RFC 5322 / 2045 / 2047 that Python's own ``email`` parser reads back (the tests do).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from email.utils import formatdate

import numpy as np

from tokui.messaging.enums import MailCharset
from tokui.messaging.rendering.japanese import ISO2022JP, jis_safe

CRLF = "\r\n"
# Encoded words carry at most 75 characters: 45 bytes of base64 input keep each word inside that with the charset.
_WORD_BYTES = 45


def _codec(charset: str) -> str:
    return ISO2022JP if charset == MailCharset.ISO2022JP else "utf-8"


def encode_text(text: str, *, charset: str) -> bytes:
    if charset == MailCharset.ISO2022JP:
        return jis_safe(text).encode(ISO2022JP)
    return text.encode("utf-8")


def _utf8_chunks(text: str) -> list[bytes]:
    # Greedy, as many whole characters as fit: cut the encoded bytes, stepping back off UTF-8 continuation bytes
    # (one short loop per word instead of one per character).
    data = text.encode("utf-8")
    chunks: list[bytes] = []
    start, size = 0, len(data)
    while start < size:
        end = start + _WORD_BYTES
        if end >= size:
            end = size
        else:
            while data[end] & 0xC0 == 0x80:
                end -= 1
        chunks.append(data[start:end])
        start = end
    return chunks


def _jis_chunks(text: str) -> list[bytes]:
    # Each ISO-2022-JP word must start and end in ASCII mode, so characters are grouped, then each group encoded.
    chunks: list[bytes] = []
    group = ""
    for character in jis_safe(text):
        candidate = group + character
        if len(candidate.encode(ISO2022JP)) > _WORD_BYTES and group:
            chunks.append(group.encode(ISO2022JP))
            group = character
        else:
            group = candidate
    if group:
        chunks.append(group.encode(ISO2022JP))
    return chunks


def encode_header_text(text: str, *, charset: str = MailCharset.UTF8) -> str:
    """An unstructured header value (Subject, a display name): ASCII as is, anything else as RFC 2047 words."""
    text = " ".join(text.split())  # no line breaks may reach a header
    if text.isascii():
        return text
    label = "iso-2022-jp" if charset == MailCharset.ISO2022JP else "utf-8"
    chunks = _jis_chunks(text) if charset == MailCharset.ISO2022JP else _utf8_chunks(text)
    words = [f"=?{label}?b?{base64.b64encode(chunk).decode('ascii')}?=" for chunk in chunks]
    return f"{CRLF} ".join(words)


def _quoted_display_name(name: str) -> str:
    if any(character in name for character in '()<>[]:;@\\,."'):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return name


def format_address(name: str, address: str, *, charset: str = MailCharset.UTF8) -> str:
    """``山田 花子 <hanako@example.jp>`` with the name encoded when it is not plain ASCII."""
    name = " ".join(name.split())
    if not name:
        return address
    if name.isascii():
        return f"{_quoted_display_name(name)} <{address}>"
    return f"{encode_header_text(name, charset=charset)} <{address}>"


_LINE = 76


def base64_body(data: bytes) -> bytes:
    """Base64 in 76-character lines with CRLF ends. One C call encodes; the line breaks are added as a column of a
    lines × 78 byte matrix (a few array operations instead of ~700 slices joined per 40 KB part: 2.5× faster, and
    this runs twice per mail)."""
    encoded = binascii.b2a_base64(data, newline=False)
    full = len(encoded) // _LINE
    lines = np.empty((full, _LINE + 2), dtype=np.uint8)
    lines[:, :_LINE] = np.frombuffer(encoded, dtype=np.uint8, count=full * _LINE).reshape(full, _LINE)
    lines[:, _LINE] = 13
    lines[:, _LINE + 1] = 10
    rest = encoded[full * _LINE :]
    return lines.tobytes() + (rest + b"\r\n" if rest or not full else b"")


@dataclass(frozen=True, slots=True)
class MimeSkeleton:
    """The parts of a mail that are the same for every recipient of a template version."""

    charset: str
    from_header: str
    reply_to: str
    boundary: str
    text_part_head: str
    html_part_head: str
    list_unsubscribe_post: bool

    @classmethod
    def build(
        cls, *, charset: str, from_name: str, from_email: str, reply_to: str, list_unsubscribe_post: bool
    ) -> MimeSkeleton:
        label = "ISO-2022-JP" if charset == MailCharset.ISO2022JP else "UTF-8"
        boundary = f"=_tokui_{secrets.token_hex(12)}"
        part = (
            f'--{boundary}{CRLF}Content-Type: %s; charset="{label}"{CRLF}Content-Transfer-Encoding: base64{CRLF}{CRLF}'
        )
        return cls(
            charset=charset,
            from_header=format_address(from_name, from_email, charset=charset),
            reply_to=reply_to,
            boundary=boundary,
            text_part_head=part % "text/plain",
            html_part_head=part % "text/html",
            list_unsubscribe_post=list_unsubscribe_post,
        )

    def assemble(
        self,
        *,
        to_name: str,
        to_email: str,
        subject: str,
        message_id: str,
        text: str,
        html: str,
        unsubscribe_url: str = "",
        extra_headers: str = "",
        date: str | None = None,
    ) -> bytes:
        """The whole message for one recipient, as bytes ready for SMTP (CRLF line ends, 7-bit clean)."""
        headers = [
            f"From: {self.from_header}",
            f"To: {format_address(to_name, to_email, charset=self.charset)}",
            f"Subject: {encode_header_text(subject, charset=self.charset)}",
            f"Date: {date or formatdate(localtime=False, usegmt=True)}",
            f"Message-ID: {message_id}",
            "MIME-Version: 1.0",
        ]
        if self.reply_to:
            headers.append(f"Reply-To: {self.reply_to}")
        if unsubscribe_url:
            headers.append(f"List-Unsubscribe: <{unsubscribe_url}>")
            if self.list_unsubscribe_post:
                headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        headers.append(f'Content-Type: multipart/alternative; boundary="{self.boundary}"')
        head = CRLF.join(headers) + CRLF + extra_headers + CRLF
        return b"".join(
            (
                head.encode("ascii"),
                self.text_part_head.encode("ascii"),
                base64_body(encode_text(text, charset=self.charset)),
                b"\r\n",
                self.html_part_head.encode("ascii"),
                base64_body(encode_text(html, charset=self.charset)),
                f"\r\n--{self.boundary}--\r\n".encode("ascii"),
            )
        )
