"""The compiled Liquid of a send gives exactly the engine's text, or hands the mail to the engine.

Random templates of the compiled forms (text, outputs with filters, for loops with forloop, if / elsif / else /
unless with comparisons) are rendered for random recipients both ways, in the HTML (escaping) and text environments.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from liquid.exceptions import LiquidError

from tokui.messaging.templating.environment import html_environment, text_environment
from tokui.messaging.templating.fast import FastRenderError, MailLiquid, compile_fast
from tokui.messaging.templating.fast_merge import compile_merge

pytestmark = pytest.mark.django_db(databases=[])

NAMES = ["contact", "company", "items", "item", "name", "price", "flag", "count", "missing"]
ROOTS = ["contact", "company", "items", "price", "flag", "count", "missing", "x"]
SEGMENTS = [".name", ".items", ".size", ".first", ".last", "[0]", "[2]", "[-1]", ".price", ".flag", ".url"]
FILTERS = [
    "", " | default: 'なし'", " | default: count", " | yen", " | date_ja", " | date_ja: 'weekday'", " | upcase",
    " | escape", " | size", " | append: '!'", " | prepend: name", " | downcase", " | strip", " | join: ', '",
    " | default: false, allow_false: true", " | plus: 1", " | first",
]  # fmt: skip
TEXT = ["<p>", "</p>", " ", "\n", "a & b", '<a href="https://shop.example.jp/?a=1&b=2">', "様、", "  \n  ", "'\""]
LITERALS = ["nil", "true", "false", "empty", "blank", "'a'", "'<b>'", "0", "2", "1.5", "''"]
OPERATORS = ["==", "!=", ">", "<", ">=", "<=", "contains"]


def paths(roots: list[str]) -> st.SearchStrategy[str]:
    tails = st.lists(st.sampled_from(SEGMENTS), max_size=2)
    return st.builds(lambda root, tail: root + "".join(tail), st.sampled_from(roots), tails)


def outputs(roots: list[str]) -> st.SearchStrategy[str]:
    left = st.one_of(paths(roots), st.sampled_from(["'文字'", "3", "nil", "true", "'<i>'"]))
    return st.builds(lambda value, filters: "{{ " + value + "".join(filters) + " }}", left,
                     st.lists(st.sampled_from(FILTERS), max_size=2))  # fmt: skip


def conditions(roots: list[str]) -> st.SearchStrategy[str]:
    operand = st.one_of(paths(roots), st.sampled_from(LITERALS))
    simple = st.one_of(
        paths(roots),
        st.builds(lambda a, op, b: f"{a} {op} {b}", operand, st.sampled_from(OPERATORS), operand),
    )
    joined = st.builds(lambda a, op, b: f"{a} {op} {b}", simple, st.sampled_from(["and", "or"]), simple)
    return st.one_of(simple, joined)


def templates(roots: list[str], depth: int = 2) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(TEXT), outputs(roots))
    if depth == 0:
        return st.lists(leaf, max_size=4).map("".join)
    inner_roots = [*roots, "forloop.index", "forloop.first", "forloop.last", "forloop.length", "forloop.rindex0", "v"]
    body = templates(inner_roots, depth - 1)
    same = templates(roots, depth - 1)
    loop = st.builds(
        lambda iterable, inside, other: "{% for v in " + iterable + " %}" + inside
        + ("{% else %}" + other if other is not None else "") + "{% endfor %}",
        st.sampled_from(["contact.items", "items", "v"]) | paths(roots), body, st.none() | same,
    )  # fmt: skip
    branch = st.builds(
        lambda tag, test, inside, alternatives, other: "{% " + tag + " " + test + " %}" + inside
        + "".join("{% elsif " + c + " %}" + b for c, b in alternatives)
        + ("{% else %}" + other if other is not None else "") + "{% end" + tag + " %}",
        st.sampled_from(["if", "unless"]), conditions(roots), same,
        st.lists(st.tuples(conditions(roots), same), max_size=2), st.none() | same,
    )  # fmt: skip
    return st.lists(st.one_of(leaf, loop, branch), max_size=4).map("".join)


markup_text = st.text(alphabet="ab<>&\"' 様日本", min_size=1, max_size=6)
scalars = st.one_of(
    markup_text,
    st.integers(-3, 5000),
    st.sampled_from([True, False, None, 1.5, Decimal("4900"), dt.date(2026, 4, 1), ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from([*NAMES, "url", "size"]), inner, max_size=4)
    ),
    max_leaves=12,
)
# Every recipient has some text at the top and one level down, where most outputs look.
recipients = st.builds(
    lambda text, nested, items, other: {
        "x": text,
        "contact": {"name": nested, "items": [nested, text]},
        **other,
        "items": items,
    },
    markup_text,
    markup_text,
    st.lists(values, max_size=3),
    st.dictionaries(st.sampled_from(ROOTS), values, max_size=5),
)


def engine_text(template: Any, recipient: dict[str, Any]) -> str | type[Exception]:
    """The text, or the kind of failure: the engine's own errors, and the odd Python error it lets through
    (``x contains blank`` over a mapping hashes ``blank``)."""
    try:
        return str(template.render(**recipient))
    except LiquidError:
        return LiquidError
    except Exception:  # noqa: BLE001 - any failure of the engine is the outcome compared
        return Exception


@pytest.mark.parametrize("environment", [html_environment, text_environment], ids=["html", "text"])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=templates(ROOTS), recipient=recipients)
def test_compiled_liquid_renders_what_the_engine_renders(
    environment: Any, source: str, recipient: dict[str, Any]
) -> None:
    template = environment().from_string(source)
    fast = compile_fast(template)
    assert fast is not None, source  # every generated form is one the fast path compiles
    expected = engine_text(template, recipient)
    try:
        got: str | type[Exception] = fast.render(recipient)
    except FastRenderError:
        got = "handed to the engine"
    if got != "handed to the engine":
        assert got == expected, source
    assert engine_text(MailLiquid(template), recipient) == expected
    # The merge form (an ESP batch call, ADR 32): fixed text with this recipient's fields put in is the same text.
    form = compile_merge(template, prefix="f")
    assert form is not None, source
    fields: dict[str, str] = {}
    try:
        form.fields(recipient, {}, fields)
    except FastRenderError:
        pass
    else:
        assert isinstance(expected, str) and form.fixed_text(fields.__getitem__) == expected, source
    # The UTF-8 form (an SMTP send's parts) gives the same text's bytes, or hands the mail to the engine too.
    fast_utf8 = compile_fast(template, utf8=True)
    assert fast_utf8 is not None, source
    try:
        got_utf8 = fast_utf8.render_utf8(recipient)
    except FastRenderError:
        return
    assert isinstance(expected, str) and got_utf8 == expected.encode(), source


def test_a_loop_over_a_cart_renders_fast_with_escaping() -> None:
    template = html_environment().from_string(
        "{% for item in cart.items %}<li>{{ forloop.index }}. {{ item.name }} {{ item.price | yen }}</li>"
        "{% else %}空{% endfor %}{{ contact.name | default: 'ご担当者' }}様"
    )
    fast = compile_fast(template)
    assert fast is not None
    recipient = {"cart": {"items": [{"name": "<シャツ>", "price": 4900}, {"name": "靴&", "price": 12000}]}}
    assert fast.render(recipient) == "<li>1. &lt;シャツ&gt; 4,900円</li><li>2. 靴&amp; 12,000円</li>ご担当者様"
    assert fast.render({}) == "空ご担当者様"


@pytest.mark.parametrize(
    "source",
    [
        "{% assign a = 1 %}{{ a }}",
        "{% capture c %}x{% endcapture %}{{ c }}",
        "{% case x %}{% when 1 %}one{% endcase %}",
        "{% for i in (1..3) %}{{ i }}{% endfor %}",
        "{% for i in items limit: 2 %}{{ i }}{% endfor %}",
        "{% for i in items %}{% break %}{% endfor %}",
        "{{ now | date: '%Y' }}",
        "{% cycle 'a', 'b' %}",
    ],
)
def test_forms_outside_the_compiled_ones_are_left_to_the_engine(source: str) -> None:
    template = html_environment().from_string(source)
    assert compile_fast(template) is None
    part = MailLiquid(template)
    assert part.render(items=[1, 2, 3], x=1) == template.render(items=[1, 2, 3], x=1)


def test_unusual_values_and_errors_are_rendered_by_the_engine() -> None:
    template = html_environment().from_string("{% for k in data %}[{{ k }}]{% endfor %}{{ n | plus: 'x' }}")
    fast = compile_fast(template)
    assert fast is not None
    with pytest.raises(FastRenderError):
        fast.render({"data": {"a": 1}})  # a mapping: the engine iterates its pairs
    part = MailLiquid(template)
    assert part.render(data={"a": 1}, n=1) == template.render(data={"a": 1}, n=1)


def test_slots_are_filled_in_place_as_the_engine_path_replaces_them() -> None:
    slots = ("\x00L\x01", "\x00P\x01")
    source = (
        '<a href="\x00L\x01abc">x</a>{% for i in items %}<a href="\x00L\x01{{ i }}">{{ i }}</a>{% endfor %}\x00P\x01'
    )
    part = MailLiquid(html_environment().from_string(source), slots=slots)
    assert part.fast is not None
    fills = {"\x00L\x01": "https://t.example.jp/m/c/tok.", "\x00P\x01": "<img>"}
    expected = html_environment().from_string(source).render(items=["p1", "p2"])
    for marker, fill in fills.items():
        expected = expected.replace(marker, fill)
    assert part.render_filled({"items": ["p1", "p2"]}, fills) == expected
    assert expected.count("https://t.example.jp/m/c/tok.") == 3 and expected.endswith("<img>")


SLOT_MARKERS = ("\x00L\x01", "\x00P\x01")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([*SLOT_MARKERS, "<p>様", '<a href="', '">', "{{ x }}", "{% for v in items %}", "{% endfor %}"]),
        max_size=12,
    ),
    st.booleans(),
)
def test_slots_among_text_and_outputs_are_filled_as_the_engine_path_replaces_them(
    pieces: list[str], utf8: bool
) -> None:
    # Text and slots of one marker are written with one join; runs of alternating markers must keep their order.
    opened = pieces.count("{% for v in items %}")
    assume(opened <= 3)  # deeper nesting meets the engine's context depth limit, not what this test is about
    source = "".join(pieces) + "{% endfor %}" * max(0, opened - pieces.count("{% endfor %}"))
    try:
        template = html_environment().from_string(source)
    except LiquidError:
        return  # an endfor before its for
    part = MailLiquid(template, slots=SLOT_MARKERS, utf8=utf8)
    fills = {SLOT_MARKERS[0]: "https://t.example.jp/m/c/tok.", SLOT_MARKERS[1]: "<img>"}
    values = {"x": "名前&", "items": ["a", "b"]}
    expected = template.render(**values)
    for marker, fill in fills.items():
        expected = expected.replace(marker, fill)
    assert part.render_filled(values, dict(fills)) == expected
    assert part.render_linked_utf8(values, dict(fills))[0] == expected.encode()
    assert (part.fast_utf8 is not None) == utf8
    form = compile_merge(template, prefix="f", slots={SLOT_MARKERS[0]: "l", SLOT_MARKERS[1]: "p"})
    assert form is not None
    fields = {"l": fills[SLOT_MARKERS[0]], "p": fills[SLOT_MARKERS[1]]}
    form.fields(values, dict(fills), fields)
    assert form.fixed_text(fields.__getitem__) == expected
