import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from tests.integrations.connectors.eccube_server import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, TOKEN, eccube_server
from tokui.catalog.models import Category, Product
from tokui.commerce.enums import OrderStatus
from tokui.commerce.models import Favorite, Order
from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.models import Company, ConsentChange, Contact
from tokui.customers.selectors import consent_status, point_balance
from tokui.customers.services import consent_record
from tokui.integrations.connectors.eccube.client import EccubeClient, EccubeError
from tokui.integrations.connectors.eccube.mapping import UNLIMITED_STOCK
from tokui.integrations.connectors.eccube.sync import eccube_sync

pytestmark = pytest.mark.django_db
SOURCE = "eccube-demo"
JST = zoneinfo.ZoneInfo("Asia/Tokyo")


def _client(url: str, token: str = TOKEN, waits: list[float] | None = None, **options: object) -> EccubeClient:
    return EccubeClient(
        shop_url=url,
        access_token=token,
        page_size=2,
        mailmaga_field="mailmaga_flg",
        sleep=(waits.append if waits is not None else lambda _seconds: None),
        **options,  # type: ignore[arg-type]
    )


def test_sync_follows_pages_waits_out_the_rate_limit_and_stores_everything() -> None:
    waits: list[float] = []
    with eccube_server(throttle_once={"orders"}) as stub:
        report = eccube_sync(client=_client(stub.url, waits=waits), source=SOURCE)
    pages = [r["variables"].get("page") for r in stub.requests if r.get("roots") == ["orders"]]
    assert 3 in pages, "the third page of orders was never asked for"
    assert 3.0 in waits, "the client did not wait for Retry-After"

    shirts = Category.objects.get(source=SOURCE, external_id="3")
    assert shirts.parent == Category.objects.get(source=SOURCE, external_id="1")
    navy = Product.objects.get(sku="EC-LS-NV-M")
    assert (navy.name, navy.price, navy.stock, navy.category) == ("リネンシャツ ネイビー / M", 4000, 12, shirts)
    assert navy.url == f"{stub.url}/products/detail/1"
    tote = Product.objects.get(sku="eccube-class-21")
    assert (tote.status, tote.stock, tote.category) == ("hidden", UNLIMITED_STOCK, None)

    hanako = Contact.objects.get(source=SOURCE, external_id="101")
    assert hanako.company is not None and hanako.company.name == "セレクトショップ花"
    assert (hanako.name, hanako.prefecture, hanako.birthday) == ("鈴木 花子", "13", dt.date(1990, 4, 1))
    taro = Contact.objects.get(source=SOURCE, external_id="102")
    assert taro.company is None and taro.prefecture == "27"
    assert point_balance(contact=hanako) == 300

    order = Order.objects.get(source=SOURCE, external_id="1")
    # Lines are stored with tax, points used are a discount: the total is what the customer paid.
    assert order.total == Decimal("9700") and order.tax_total == 0
    assert [(line.sku, line.unit_price, line.quantity) for line in order.lines.all()] == [("EC-LS-NV-M", 4400, 2)]
    assert order.status == OrderStatus.SHIPPED and order.shipped_at == dt.datetime(2026, 11, 22, 10, tzinfo=JST)
    assert order.contact == hanako and order.company == hanako.company and order.channel == "web"
    guest = Order.objects.select_related("contact").get(external_id="2")
    assert guest.status == OrderStatus.CANCELLED
    assert guest.contact is not None and guest.contact.external_id == "guest:jiro@guest.example.jp"
    assert not Order.objects.filter(external_id="3").exists(), "a checkout in progress was stored as an order"
    assert Company.objects.get(orders__external_id="5").name == "田中商店"
    assert report.counts["orders.skipped"] == 1 and report.counts["orders.created"] == 3

    assert list(Favorite.objects.values_list("contact__external_id", "product__sku")) == [("101", "EC-LS-NV-M")]


def test_one_bad_record_is_reported_and_the_others_are_kept() -> None:
    with eccube_server() as stub:
        report = eccube_sync(client=_client(stub.url), source=SOURCE)
    errors = {(error["resource"], error["id"]) for error in report.errors}
    assert errors == {("products", "3"), ("customers", "103"), ("orders", "4")}
    assert any(e["field"] == "email" for e in report.errors if e["id"] == "103")
    assert not Contact.objects.filter(external_id="103").exists()
    assert report.counts["products.created"] == 2 and report.counts["customers.created"] == 2


def test_consent_follows_the_mail_magazine_flag_and_a_second_sync_changes_nothing() -> None:
    with eccube_server() as stub:
        eccube_sync(client=_client(stub.url), source=SOURCE)
        history = ConsentChange.objects.count()
        again = eccube_sync(client=_client(stub.url), source=SOURCE)
    assert consent_status(contact=Contact.objects.get(external_id="101"), channel=Channel.EMAIL) == (
        ConsentStatus.GRANTED
    )
    assert consent_status(contact=Contact.objects.get(external_id="102"), channel=Channel.EMAIL) == (
        ConsentStatus.WITHDRAWN
    )
    assert ConsentChange.objects.count() == history
    changed = {
        key for key, count in again.counts.items() if count and not key.endswith((".unchanged", ".error", ".skipped"))
    }
    assert changed == set(), f"a second sync changed {changed}"


def test_an_opt_out_made_in_tokui_stays_until_the_member_changes_the_flag_in_ec_cube() -> None:
    with eccube_server() as stub:
        eccube_sync(client=_client(stub.url), source=SOURCE, resources=("customers",))
        hanako = Contact.objects.get(external_id="101")
        consent_record(contact=hanako, channel=Channel.EMAIL, status=ConsentStatus.WITHDRAWN, source="配信停止リンク")
        history = ConsentChange.objects.count()
        eccube_sync(client=_client(stub.url), source=SOURCE, resources=("customers",))
    assert consent_status(contact=hanako, channel=Channel.EMAIL) == ConsentStatus.WITHDRAWN
    assert ConsentChange.objects.count() == history


def test_incremental_sync_asks_for_changes_since_the_cursor_with_an_overlap() -> None:
    with eccube_server() as stub:
        report = eccube_sync(
            client=_client(stub.url),
            source=SOURCE,
            updated_since=dt.datetime(2026, 11, 23, 9, 20, tzinfo=JST),
            resources=("orders",),
        )
    variables = [r["variables"] for r in stub.requests if r.get("roots") == ["orders"]]
    assert variables[0]["update_datetime_start"] == "2026-11-23T09:05:00+09:00"
    assert report.counts == {"orders.created": 1}
    assert list(Order.objects.values_list("external_id", flat=True)) == ["5"]


def test_a_wrong_token_is_a_clear_error_not_a_retry_loop() -> None:
    with eccube_server() as stub, pytest.raises(EccubeError) as error:
        _client(stub.url, token="wrong").test_connection()
    assert error.value.status == 401 and "access_denied" in error.value.message
    assert len(stub.requests) == 1


def test_an_expired_token_is_refreshed_once_and_kept() -> None:
    kept: list[tuple[str, str]] = []
    with eccube_server() as stub:
        stub.expire_token()
        client = _client(
            stub.url,
            refresh_token=REFRESH_TOKEN,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            on_tokens=lambda access, refresh: kept.append((access, refresh)),
        )
        assert client.test_connection() == {"ok": True, "customers": 3, "orders": 5}
    assert [r["path"] for r in stub.requests] == ["/api", "/token", "/api"]
    assert kept == [(client.access_token, client.refresh_token)] and client.access_token != TOKEN


def test_a_refused_refresh_is_a_clear_error() -> None:
    with eccube_server() as stub, pytest.raises(EccubeError) as error:
        stub.expire_token()
        _client(stub.url, refresh_token="revoked", client_id=CLIENT_ID, client_secret=CLIENT_SECRET).test_connection()
    assert error.value.status == 401 and "invalid_grant" in error.value.message
    assert [r["path"] for r in stub.requests] == ["/api", "/token"]


def test_a_missing_scope_is_a_clear_error() -> None:
    with eccube_server(denied={"customers"}) as stub, pytest.raises(EccubeError) as error:
        eccube_sync(client=_client(stub.url), source=SOURCE, resources=("customers",))
    assert 'Cannot query field "customers"' in error.value.message and "read:Customer" in error.value.message


def test_client_keeps_a_gap_between_requests() -> None:
    waits: list[float] = []
    with eccube_server() as stub:
        client = EccubeClient(
            shop_url=stub.url, access_token=TOKEN, min_interval=60.0, sleep=waits.append, clock=lambda: 100.0
        )
        client.test_connection()
        client.test_connection()
    assert waits == [60.0]
