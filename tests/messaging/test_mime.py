"""The string-built MIME parts: base64 bodies in 76-character CRLF lines, byte for byte what ``email`` writes."""

from __future__ import annotations

import base64

import pytest

from tokui.messaging.rendering.mime import base64_body


@pytest.mark.parametrize("size", [1, 2, 56, 57, 58, 113, 114, 1000, 40_000])
def test_base64_bodies_are_the_standard_encoding_in_crlf_lines(size: int) -> None:
    data = (bytes(range(256)) * 200)[:size]
    assert base64_body(data) == base64.encodebytes(data).replace(b"\n", b"\r\n")


def test_an_empty_body_is_one_empty_line() -> None:
    assert base64_body(b"") == b"\r\n"
