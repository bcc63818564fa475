"""The demo's marketing set-up: a sender identity, mail templates built from the editor's blocks and segments a
wholesaler's marketer would keep, so the mail and segment screens show real work on the first start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from tokui.analytics.enums import CustomerLevel
from tokui.analytics.selectors import rfm_rules
from tokui.messaging.enums import MailKind, MailTopic
from tokui.messaging.models import MailTemplate
from tokui.messaging.services import mail_template_create, mail_template_save, sender_identity_save
from tokui.segments.enums import SegmentKind, Subject
from tokui.segments.models import Segment
from tokui.segments.services import segment_create

FOOTER = """
<table width="100%" cellpadding="0" cellspacing="0" role="presentation"><tr><td class="footer">
<p>{{ sender.company }}<br>{{ sender.address }}<br>{{ sender.email }}</p>
<p><a href="{{ unsubscribe_url }}">配信停止</a> ｜ <a href="{{ preferences_url }}">配信設定</a></p>
</td></tr></table>
"""

CART_REMINDER = (
    """
<table width="100%" cellpadding="0" cellspacing="0" role="presentation"><tr><td class="content">
<h1>{{ contact.name | default: "ご担当者" }}様</h1>
<p>{{ company.name | default: "" }} カートに商品が残っています。
在庫が少なくなっている商品もございますので、お早めにご検討ください。</p>
<table width="100%" cellpadding="8" cellspacing="0" role="presentation">
{% for item in cart.items %}<tr>
<td width="96"><img src="{{ item.image_url }}" alt="{{ item.name }}" width="88"></td>
<td><a href="{{ item.url }}">{{ item.name }}</a><br>{{ item.price | yen }} × {{ item.quantity }}</td>
</tr>{% endfor %}
</table>
<p class="center"><a class="button" href="{{ cart.url }}">カートに戻る</a></p>
{% if recommendations.size > 0 %}<h2>こちらもよく一緒にご購入いただいています</h2>
<table width="100%" cellpadding="8" cellspacing="0" role="presentation"><tr>
{% for item in recommendations %}<td width="25%">
<a href="{{ item.url }}"><img src="{{ item.image_url }}" alt="{{ item.name }}" width="120"></a>
<br>{{ item.name }}<br>{{ item.price | yen }}</td>{% endfor %}
</tr></table>{% endif %}
</td></tr></table>
"""
    + FOOTER
)

SECOND_ORDER = (
    """
<table width="100%" cellpadding="0" cellspacing="0" role="presentation"><tr><td class="content">
<h1>{{ company.name | default: contact.name }}様、先日はご注文ありがとうございました</h1>
<p>{{ last_order.ordered_at | date_ja }}にご注文いただいた商品の追加発注は、下のボタンから前回と同じ内容で承ります。</p>
<table width="100%" cellpadding="6" cellspacing="0" role="presentation">
{% for line in last_order.lines %}<tr>
<td>{{ line.name }}</td><td>{{ line.quantity }}点</td><td>{{ line.price | yen }}</td>
</tr>{% endfor %}
</table>
<p class="center"><a class="button" href="{{ last_order.reorder_url }}">前回と同じ内容で注文する</a></p>
<h2>今週の人気ランキング</h2>
<ol>{% for item in ranking %}
<li><a href="{{ item.url }}">{{ item.name }}</a> {{ item.price | yen }}</li>
{% endfor %}</ol>
</td></tr></table>
"""
    + FOOTER
)

POINTS = (
    """
<table width="100%" cellpadding="0" cellspacing="0" role="presentation"><tr><td class="content">
<h1>{{ contact.name | default: "ご担当者" }}様のポイントの有効期限が近づいています</h1>
<p>保有ポイント：{{ points.balance }}pt<br>
{{ points.expires_on | date_ja }}に {{ points.expiring }}pt が失効します。</p>
<p>クーポンコード <strong>{{ coupon.code | default: "SPRING10" }}</strong> と合わせて、お得にご利用ください。</p>
</td></tr></table>
"""
    + FOOTER
)

CSS = """
body { background: #f4f1ec; }
.content { background: #ffffff; padding: 24px; font-family: sans-serif; color: #2b2b2b; }
.footer { padding: 16px; font-size: 12px; color: #777777; text-align: center; }
h1 { font-size: 20px; color: #8a1c1c; }
h2 { font-size: 16px; margin-top: 24px; }
.center { text-align: center; }
.button { display: inline-block; background: #c2410c; color: #ffffff; padding: 12px 24px; text-decoration: none;
          border-radius: 4px; }
"""


@dataclass(frozen=True, slots=True)
class DemoMarketing:
    templates: int
    segments: int


def _condition(type: str, **config: Any) -> dict[str, Any]:
    return {"kind": "condition", "type": type, "config": config}


def _rule(*children: dict[str, Any], match: str = "all") -> dict[str, Any]:
    return {"version": 1, "root": {"kind": "group", "match": match, "negate": False, "children": list(children)}}


def _loyal_group() -> str:
    """The name of the default RFM group of the best cell (R5 × F5), in the language it was stored in."""
    groups = rfm_rules(level=CustomerLevel.COMPANY).groups
    return next((group.name for group in groups if (5, 5) in group.cells), groups[0].name)


def demo_marketing_load() -> DemoMarketing:
    """Create the demo's sender, templates and segments once (a second call leaves them as they are)."""
    if MailTemplate.objects.exists() or Segment.objects.exists():
        return DemoMarketing(templates=0, segments=0)
    with transaction.atomic():
        sender = sender_identity_save(
            name="得意アパレル",
            email="shop@tokui-apparel.example.jp",
            company_name="得意アパレル株式会社",
            postal_address="東京都渋谷区神南1-2-3 得意ビル5F",
            phone="03-1234-5678",
            is_default=True,
        )
        templates = [
            ("カート落ちリマインド", "{{ contact.name }}様、カートに商品が残っています", CART_REMINDER, MailTopic.CART),
            (
                "初回購入後：2回目のご注文のご案内",
                "前回と同じ内容で、すぐにご注文いただけます",
                SECOND_ORDER,
                MailTopic.NEWS,
            ),
            ("ポイント失効のお知らせ", "{{ points.expiring }}ptの有効期限が近づいています", POINTS, MailTopic.POINTS),
        ]
        for name, subject, html, topic in templates:
            template = mail_template_create(
                name=name, subject=subject, kind=MailKind.MARKETING, topic=topic, sender=sender
            )
            mail_template_save(template=template, html=html, css=CSS)
        segments = [
            (
                "新商品に関心・60日注文なし",
                "今週、新商品を3回以上見たのに、60日間注文していない取引先。営業のフォローと新商品のご案内に。",
                _rule(
                    _condition("viewed", target="new_product", min_count=3, period={"kind": "this_week"}),
                    _condition("purchased", op="not_bought", period={"kind": "last_days", "days": 60}),
                ),
            ),
            (
                "優良顧客（RFM）",
                "最近よく、たくさん買ってくださる取引先。新作の先行案内や特別価格の対象に。",
                _rule(_condition("rfm", group=_loyal_group())),
            ),
            (
                "発注遅延予備軍",
                "いつもの発注間隔を過ぎても注文がない取引先。担当営業からの連絡で離脱を防ぎます。",
                _rule(_condition("order_delay_risk", op="is_true")),
            ),
            (
                "東京都・大阪府の取引先",
                "展示会や訪問のご案内用。",
                _rule(_condition("company_field", field="prefecture", op="in", value=["13", "27"])),
            ),
        ]
        for name, description, rule in segments:
            segment_create(
                name=name,
                subject=Subject.COMPANY,
                actor=None,
                description=description,
                kind=SegmentKind.DYNAMIC,
                rule=rule,
            )
    return DemoMarketing(templates=len(templates), segments=len(segments))
