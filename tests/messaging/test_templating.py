"""Liquid in mail: checks at save with the line, filters, defaults, and the sandbox."""

from __future__ import annotations

import datetime as dt

import pytest
from liquid.exceptions import LiquidError

from tokui.core.errors import DomainError
from tokui.messaging.models import SenderIdentity
from tokui.messaging.services import mail_template_create, mail_template_save
from tokui.messaging.templating.check import template_check
from tokui.messaging.templating.environment import html_environment, text_environment
from tokui.messaging.templating.filters import date_ja, yen


def test_a_syntax_error_is_reported_with_its_line() -> None:
    [problem] = template_check(subject="ご案内", html="<p>こんにちは</p>\n<p>\n{{ contact.name | }}\n</p>", text="")
    assert (problem.part, problem.line) == ("html", 3)
    assert "行" in str(problem) or "line" in str(problem)


def test_an_unknown_variable_is_reported_with_its_line_even_inside_a_loop() -> None:
    problems = template_check(
        subject="{{ contcat.name }}様",
        html="<p>{{ contact.name }}</p>\n{% for item in cart.items %}\n{{ item.nmae }}{% endfor %}",
        text="",
    )
    assert [(p.part, p.line) for p in problems] == [("subject", 1), ("html", 3)]
    assert "contcat.name" in problems[0].message


def test_the_editor_variable_tree_passes_the_check() -> None:
    html = """{{ contact.name | default: "ご担当者" }} {{ company.name }} {{ cart.url }} {{ coupon.code }}
{% for i in cart.items %}{{ i.name }}{{ i.image_url }}{{ i.price | yen }}{{ i.quantity }}{{ i.url }}{% endfor %}
{% for r in recommendations %}{{ r.name }}{{ r.image_url }}{{ r.price | yen }}{{ r.url }}{% endfor %}
{% for r in ranking %}{{ r.rank }}{{ r.name }}{{ r.image_url }}{{ r.price }}{{ r.url }}{% endfor %}
{{ last_order.ordered_at | date_ja }}{{ last_order.total | yen }}{{ last_order.reorder_url }}
{% for l in last_order.lines %}{{ l.name }}{{ l.quantity }}{{ l.price }}{% endfor %}
{{ points.balance }}{{ points.expiring }}{{ points.expires_on | date_ja }}{{ unsubscribe_url }}{{ preferences_url }}
{{ sender.name }}{{ sender.company }}{{ sender.address }}{{ sender.email }}{{ cart.items.size }}"""
    assert template_check(subject="{{ contact.name }}様", html=html, text="") == []


def test_yen_and_japanese_dates() -> None:
    assert yen(4900) == "4,900円" and yen("12800.00") == "12,800円" and yen(None) == "" and yen("abc") == ""
    assert date_ja("2026-04-01") == "2026年4月1日"
    assert date_ja(dt.date(2026, 4, 1), "short") == "4月1日"
    assert date_ja(dt.date(2026, 4, 1), "weekday") == "2026年4月1日(水)"
    rendered = text_environment().from_string("{{ p | yen }} {{ d | date_ja }} {{ missing | default: 'ご担当者' }}")
    assert rendered.render(p=1000, d="2026-12-24") == "1,000円 2026年12月24日 ご担当者"


def test_values_are_html_escaped_in_html_but_not_in_the_subject() -> None:
    assert html_environment().from_string("{{ n }}").render(n="<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert text_environment().from_string("{{ n }}").render(n="A&B") == "A&B"


def test_an_endless_loop_is_stopped_with_an_error() -> None:
    template = html_environment().from_string("{% for i in (1..100000000) %}{{ i }}{% endfor %}")
    with pytest.raises(LiquidError, match="limit"):
        template.render()


def test_nested_loops_and_huge_output_are_stopped_too() -> None:
    nested = html_environment().from_string("{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}")
    with pytest.raises(LiquidError, match="limit"):
        nested.render()
    huge = html_environment().from_string("{% for i in (1..5000) %}{{ s }}{% endfor %}")
    with pytest.raises(LiquidError, match="limit"):
        huge.render(s="x" * 1000)


def test_a_template_cannot_read_files_or_other_templates() -> None:
    for source in ("{% include '/etc/passwd' %}", "{% render 'settings' %}"):
        with pytest.raises(LiquidError):
            html_environment().from_string(source).render()
    assert template_check(subject="x", html="{% include '/etc/passwd' %}", text="") != []


def test_a_template_sees_only_its_own_contact() -> None:
    # The context is plain data about one contact: there is no object to walk from to other customers or settings.
    template = html_environment().from_string(
        "{{ contact.company.contacts }}{{ settings.SECRET_KEY }}{{ contact.name }}"
    )
    assert template.render(contact={"name": "花子"}) == "花子"
    assert template_check(subject="x", html="{{ contact.company.contacts }}", text="")[0].line == 1


@pytest.mark.django_db
def test_a_broken_template_is_not_saved_and_the_last_good_version_stays(sender: SenderIdentity) -> None:
    template = mail_template_create(name="ニュース", subject="新商品のお知らせ", sender=sender)
    good = mail_template_save(template=template, html="<p>{{ contact.name }}様</p>")
    with pytest.raises(DomainError, match="2"):
        mail_template_save(template=template, html="<p>ok</p>\n{% for x in cart.items %}")
    template.refresh_from_db()
    assert template.current_version == good and template.versions.count() == 1


@pytest.mark.django_db
def test_saved_html_is_cleaned_but_liquid_survives(sender: SenderIdentity) -> None:
    template = mail_template_create(name="ニュース", subject="新商品", sender=sender)
    version = mail_template_save(
        template=template,
        html='<table><tr><td>x</td></tr>{% for i in cart.items %}<tr><td onclick="evil()"><a href="{{ i.url }}">'
        "{{ i.name }}</a>{% if i.price > 100 %}高{% endif %}</td></tr>{% endfor %}</table>"
        '<script>alert(1)</script><a href="javascript:alert(1)">x</a>',
    )
    assert "<script" not in version.html and "onclick" not in version.html and "javascript:" not in version.html
    assert '{% for i in cart.items %}<tr><td><a href="{{ i.url }}">' in version.html
    assert "{% if i.price > 100 %}" in version.html
    assert "{{ i.name }}" in version.text  # the text part is generated from the HTML
