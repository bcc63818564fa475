import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.factories import CompanyFactory, ContactFactory, OrderFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.analytics.sales_models import SalesOrderDay
from tokui.commerce.enums import OrderStatus
from tokui.commerce.selectors import active_company_counts, monthly_revenue
from tokui.core.time import site_zone
from tokui.customers.models import Company
from tokui.tracking.services import event_record
from tokui.web.dashboard import dashboard_build

pytestmark = pytest.mark.django_db
JST = site_zone()


def test_pages_need_a_login(client: Client) -> None:
    for name in ("web:dashboard", "web:company_list", "web:outbox"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))


def test_healthz_answers_without_login(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_login_page_is_japanese_by_default_and_says_what_went_wrong(client: Client) -> None:
    UserFactory(username="hanako")
    response = client.post(reverse("web:login"), {"username": "hanako", "password": "wrong"})
    body = response.content.decode()
    assert "ユーザー名またはパスワードが違います" in body
    assert 'lang="ja"' in body


def test_pages_send_a_content_security_policy(marketer_client: Client) -> None:
    response = marketer_client.get(reverse("web:dashboard"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy


@time_machine.travel(dt.datetime(2026, 11, 25, 12, 0, tzinfo=JST), tick=False)
def test_dashboard_compares_this_month_to_date_with_the_same_days_of_last_month(marketer_client: Client) -> None:
    company = CompanyFactory()
    OrderFactory(company=company, placed_at=dt.datetime(2026, 11, 3, 10, tzinfo=JST), total=Decimal("120000"))
    OrderFactory(company=company, placed_at=dt.datetime(2026, 11, 20, 10, tzinfo=JST), total=Decimal("30000"))
    OrderFactory(
        company=company,
        placed_at=dt.datetime(2026, 11, 21, 10, tzinfo=JST),
        total=Decimal("99999"),
        status=OrderStatus.CANCELLED,
    )
    OrderFactory(company=company, placed_at=dt.datetime(2026, 10, 10, 10, tzinfo=JST), total=Decimal("100000"))
    # 23:30 JST on 31 October is still October in Japan although it is already... still 31 Oct in UTC (14:30).
    OrderFactory(company=company, placed_at=dt.datetime(2026, 10, 31, 23, 30, tzinfo=JST), total=Decimal("5000"))
    # 00:30 JST on 1 November is November in Japan although it is still 31 October in UTC.
    OrderFactory(company=company, placed_at=dt.datetime(2026, 11, 1, 0, 30, tzinfo=JST), total=Decimal("7000"))

    data = dashboard_build(now=dt.datetime(2026, 11, 25, 12, 0, tzinfo=JST))
    assert data.this_month.revenue == Decimal("157000")
    assert data.this_month.orders == 3
    assert data.same_period_last_month.revenue == Decimal("100000")
    assert data.last_month.revenue == Decimal("105000")
    assert data.active_companies == 1

    body = marketer_client.get(reverse("web:dashboard")).content.decode()
    assert "¥157,000" in body and "今月の売上" in body and "▲ 57.0%" in body


def test_active_companies_are_counted_per_90_day_window_from_one_read() -> None:
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=JST)
    since = now - dt.timedelta(days=90)
    both, current, before, cancelled, too_old = (CompanyFactory() for _ in range(5))
    OrderFactory(company=both, placed_at=since)  # the window's first instant
    OrderFactory(company=both, placed_at=since - dt.timedelta(days=90))  # the earlier window's first instant
    OrderFactory(company=current, placed_at=now - dt.timedelta(minutes=1))
    OrderFactory(company=before, placed_at=since - dt.timedelta(seconds=1))
    OrderFactory(company=before, placed_at=now)  # "now" itself is outside
    OrderFactory(company=cancelled, placed_at=now - dt.timedelta(days=1), status=OrderStatus.CANCELLED)
    OrderFactory(company=too_old, placed_at=since - dt.timedelta(days=90, seconds=1))
    OrderFactory(company=None, contact=ContactFactory(company=None), placed_at=now - dt.timedelta(days=1))

    data = dashboard_build(now=now)
    assert (data.active_companies, data.active_companies_before) == (2, 2)
    mine = Company.objects.filter(pk__in=[current.pk, before.pk]).values("pk")
    assert active_company_counts(windows=[(since, now), (since - dt.timedelta(days=90), since)], company_ids=mine) == [
        1,
        1,
    ]
    assert active_company_counts(windows=[]) == []


def test_company_search_finds_by_kana_and_by_contact_name(marketer_client: Client) -> None:
    wanted = CompanyFactory(name="株式会社ブティックさくら", name_kana="ブティックサクラ")
    ContactFactory(company=wanted, name="鈴木 花子")
    CompanyFactory(name="有限会社 山田洋品店", name_kana="ヤマダヨウヒンテン")
    by_kana = marketer_client.get(reverse("web:company_list"), {"q": "サクラ"}).content.decode()
    assert "ブティックさくら" in by_kana and "山田洋品店" not in by_kana
    by_contact = marketer_client.get(reverse("web:company_list"), {"q": "花子"}).content.decode()
    assert "ブティックさくら" in by_contact


def test_company_list_filters_and_paginates(marketer_client: Client) -> None:
    for n in range(30):
        CompanyFactory(name=f"大阪の店{n:02d}", name_kana=f"オオサカ{n:02d}", prefecture="27")
    CompanyFactory(name="東京の店", prefecture="13")
    first = marketer_client.get(reverse("web:company_list"), {"prefecture": "27"}).content.decode()
    assert "30件の取引先" in first and "東京の店" not in first and "1 / 2 ページ" in first
    second = marketer_client.get(reverse("web:company_list"), {"prefecture": "27", "page": 2}).content.decode()
    assert "大阪の店29" in second


def test_htmx_search_returns_only_the_results(marketer_client: Client) -> None:
    CompanyFactory(name="株式会社ブティックさくら")
    response = marketer_client.get(
        reverse("web:company_list"), {"q": "さくら"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="company-results"
    )
    body = response.content.decode()
    assert "ブティックさくら" in body and "<html" not in body


def test_a_sales_rep_sees_only_their_own_companies(client: Client) -> None:
    rep = UserFactory(username="sato", role=Role.SALES_REP)
    own = CompanyFactory(name="自分の担当先", assigned_rep=rep)
    other = CompanyFactory(name="他の人の担当先")
    client.force_login(rep)
    listing = client.get(reverse("web:company_list")).content.decode()
    assert "自分の担当先" in listing and "他の人の担当先" not in listing
    assert client.get(reverse("web:company_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("web:company_detail", args=[other.pk])).status_code == 404


def test_customer_page_shows_profile_contacts_orders_and_timeline_newest_first(marketer_client: Client) -> None:
    company = CompanyFactory(name="株式会社ブティックさくら")
    contact = ContactFactory(company=company, name="鈴木 花子")
    OrderFactory(company=company, contact=contact, number="TK-20261101-00001")
    now = dt.datetime.now(tz=dt.UTC)
    event_record(
        type="page_viewed",
        contact_id=contact.pk,
        occurred_at=now - dt.timedelta(days=1),
        properties={"title": "古い閲覧"},
    )
    event_record(type="product_viewed", contact_id=contact.pk, occurred_at=now, properties={"name": "新しい閲覧"})
    body = marketer_client.get(reverse("web:company_detail", args=[company.pk])).content.decode()
    assert "顧客カルテ" in body and "鈴木 花子" in body and "TK-20261101-00001" in body
    assert body.index("新しい閲覧") < body.index("古い閲覧")


def test_timeline_pages_load_older_facts(marketer_client: Client) -> None:
    contact = ContactFactory()
    now = dt.datetime.now(tz=dt.UTC)
    for n in range(25):
        event_record(
            type="searched",
            contact_id=contact.pk,
            occurred_at=now - dt.timedelta(hours=n),
            properties={"query": f"検索{n:02d}"},
        )
    first = marketer_client.get(reverse("web:company_detail", args=[contact.company_id])).content.decode()
    assert "検索00" in first and "検索19" in first and "検索20" not in first and "さらに表示" in first
    more = marketer_client.get(reverse("web:company_timeline", args=[contact.company_id]), {"page": 2}).content.decode()
    assert "検索20" in more and "検索24" in more and "さらに表示" not in more


def test_switching_to_english_translates_the_screens(marketer_client: Client) -> None:
    response = marketer_client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    body = response.content.decode()
    assert "Revenue this month" in body and 'lang="en"' in body


def test_screens_not_built_yet_say_so(marketer_client: Client) -> None:
    body = marketer_client.get(reverse("web:coming_soon", args=["scenarios"])).content.decode()
    assert "この画面はまだありません" in body
    assert marketer_client.get(reverse("web:coming_soon", args=["nonsense"])).status_code == 404


def test_the_settings_menu_is_shown_only_to_administrators(client: Client, marketer_client: Client) -> None:
    settings_link = f'href="{reverse("accounts:api_keys")}"'
    assert settings_link not in marketer_client.get(reverse("web:dashboard")).content.decode()
    client.force_login(UserFactory(username="boss", role=Role.ADMIN))
    assert settings_link in client.get(reverse("web:dashboard")).content.decode()


def test_the_dashboard_chart_from_the_day_sums_matches_the_orders() -> None:
    company = CompanyFactory()
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=JST)
    placed = [
        (dt.datetime(2025, 11, 1, 0, 10, tzinfo=JST), OrderStatus.DELIVERED, "JPY", "1000"),  # the chart's first day
        (dt.datetime(2025, 10, 31, 23, 50, tzinfo=JST), OrderStatus.DELIVERED, "JPY", "999"),  # before it
        (dt.datetime(2026, 3, 31, 23, 30, tzinfo=JST), OrderStatus.DELIVERED, "JPY", "2000"),  # March in Japan
        (dt.datetime(2026, 4, 1, 0, 30, tzinfo=JST), OrderStatus.DELIVERED, "JPY", "3000"),
        (dt.datetime(2026, 4, 2, 9, 0, tzinfo=JST), OrderStatus.CANCELLED, "JPY", "5000"),  # not counted
        (dt.datetime(2026, 7, 7, 9, 0, tzinfo=JST), OrderStatus.DELIVERED, "USD", "40"),  # added up as the orders are
        (dt.datetime(2026, 11, 24, 23, 59, tzinfo=JST), OrderStatus.DELIVERED, "JPY", "4000"),  # yesterday
        (dt.datetime(2026, 11, 25, 0, 1, tzinfo=JST), OrderStatus.DELIVERED, "JPY", "6000"),  # today, before now
        (dt.datetime(2026, 11, 25, 13, 0, tzinfo=JST), OrderStatus.DELIVERED, "JPY", "7000"),  # today, after now
    ]
    for at, status, currency, total in placed:
        OrderFactory(company=company, placed_at=at, status=status, currency=currency, total=Decimal(total))
    shopper = ContactFactory(company=None)  # a B2C customer
    OrderFactory(company=None, contact=shopper, placed_at=dt.datetime(2026, 5, 5, 5, 0, tzinfo=JST), total=Decimal(70))

    data = dashboard_build(now=now)

    chart_start = dt.datetime(2025, 11, 1, tzinfo=JST)
    expected = [(row.month, row.revenue, row.orders) for row in data.months]
    assert expected == monthly_revenue(start=chart_start, end=now)
    assert [(row.month, row.revenue) for row in data.months] == [
        (dt.date(2025, 11, 1), Decimal(1000)),
        (dt.date(2026, 3, 1), Decimal(2000)),
        (dt.date(2026, 4, 1), Decimal(3000)),
        (dt.date(2026, 5, 1), Decimal(70)),
        (dt.date(2026, 7, 1), Decimal(40)),
        (dt.date(2026, 11, 1), Decimal(10000)),
    ]
    assert SalesOrderDay.objects.exists()  # read from the sums
