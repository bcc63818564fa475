"""Links written by Liquid are rewritten while rendering exactly as the regex over the finished HTML rewrites them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from liquid.exceptions import LiquidError

from tokui.messaging.rendering.compiled import LINK_SLOT, link_rewrite, prepare_tracking, rewrite_links
from tokui.messaging.templating.environment import html_environment
from tokui.messaging.templating.fast import MailLiquid

pytestmark = pytest.mark.django_db(databases=[])

PREFIX = "https://tokui.example.jp/m/c/mail-token."
FRAGMENTS = [
    '<a href="', '">', '"', " ", 'href="https://fixed.example.jp/a?b=1&amp;c=2"', 'href="', "https://", "ref=\"",
    'f="https://x.example.jp/', "{{ u }}", "{{ v }}", "{{ m }}", "{{ u | append: 'x' }}", "{% for i in items %}",
    "{{ i }}", "{% endfor %}", "{% if flag %}", "{% endif %}", 'href="#', "<p>テキスト</p>", '" alt="',
]  # fmt: skip
VALUES = [
    "https://shop.example.jp/p/1?a=1&b=2", "http://x.example.jp", "https://tokui.example.jp/m/u/opt-out",
    "https://tokui.example.jp/m/c/already", "mailto:a@example.jp", "", "https://", "href=", "h", 'a"b',
    'x" href="https://evil.example.jp', "https://ex.example.jp/a b", "ref=",
]  # fmt: skip


def _render_both(source: str, values: dict[str, Any]) -> tuple[str, str, bool]:
    environment = html_environment()
    try:
        # As a version is prepared for sending: fixed links signed first (their slot filled per mail).
        template = environment.from_string(prepare_tracking(source, version_id=7)[0])
    except LiquidError:
        assume(False)
        raise
    plain = MailLiquid(template, slots=(LINK_SLOT,))
    linked = MailLiquid(template, slots=(LINK_SLOT,), link=link_rewrite(7))
    expected = rewrite_links(
        plain.render_filled(values, {LINK_SLOT: PREFIX}), message_id=1, contact_id=2, version_id=7, prefix=PREFIX
    )
    html, complete = linked.render_linked(values, {LINK_SLOT: PREFIX})
    # The UTF-8 form of an SMTP send: the same bytes, and the same answer about the regex pass.
    linked_utf8 = MailLiquid(template, slots=(LINK_SLOT,), link=link_rewrite(7), utf8=True)
    assert linked_utf8.render_linked_utf8(values, {LINK_SLOT: PREFIX}) == (html.encode(), complete)
    if not complete:
        html = rewrite_links(html, message_id=1, contact_id=2, version_id=7, prefix=PREFIX)
    return expected, html, complete


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
@given(
    fragments=st.lists(st.sampled_from(FRAGMENTS), max_size=12),
    u=st.sampled_from(VALUES),
    v=st.sampled_from(VALUES),
    items=st.lists(st.sampled_from(VALUES), max_size=3),
    flag=st.booleans(),
)
def test_links_rewritten_while_rendering_equal_the_regex_over_the_result(
    fragments: list[str], u: str, v: str, items: list[str], flag: bool, settings: Any
) -> None:
    from markupsafe import Markup

    settings.SITE_URL = "https://tokui.example.jp"
    values = {"u": u, "v": v, "m": Markup(v), "items": items, "flag": flag}
    expected, html, _complete = _render_both("".join(fragments), values)
    assert html == expected


def test_a_cart_link_is_rewritten_while_rendering_without_the_regex_pass(settings: Any) -> None:
    settings.SITE_URL = "https://tokui.example.jp"
    source = '{% for item in items %}<a href="{{ item }}">{{ item }}</a>{% endfor %}<a href="https://a.example.jp/">'
    items = ["https://shop.example.jp/p/1?a=1&b=2", "https://tokui.example.jp/m/u/x", "mailto:a@example.jp"]
    expected, html, complete = _render_both(source, {"items": items})

    assert complete and html == expected
    # The shop address and the fixed link; the opt-out and mailto links stay as they are.
    assert html.count(f'href="{PREFIX}') == 2 and 'href="https://tokui.example.jp/m/u/x"' in html


def test_an_unclosed_link_leaves_every_link_to_the_regex_pass(settings: Any) -> None:
    # The regex takes the first href up to the second link's quote, so the second link stays as it is: an output
    # rewritten while rendering would have been rewritten where the regex does not (found by the property above).
    settings.SITE_URL = "https://tokui.example.jp"
    url = "https://shop.example.jp/p/1?a=1&b=2"
    expected, html, complete = _render_both('<a href="{{ u }}<a href="{{ u }}">', {"u": url})
    assert not complete
    assert html == expected
    assert html.endswith('"https://shop.example.jp/p/1?a=1&amp;b=2">')
