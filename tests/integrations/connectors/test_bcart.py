import datetime as dt
import json
import zoneinfo
from decimal import Decimal

import pytest

from tests.integrations.connectors.bcart_server import CUSTOMERS, ORDERS, TOKEN, bcart_server
from tokui.catalog.models import Category, Product
from tokui.commerce.enums import OrderStatus
from tokui.commerce.models import Favorite, Order
from tokui.customers.enums import ApprovalStatus, Channel, ConsentStatus
from tokui.customers.models import Company, ConsentChange, Contact
from tokui.customers.selectors import consent_status, point_balance
from tokui.customers.services import consent_record
from tokui.integrations.connectors.bcart.client import BcartClient, BcartError
from tokui.integrations.connectors.bcart.sync import (
    InvalidWebhookError,
    bcart_apply_webhook,
    bcart_receive_webhook,
    bcart_sync,
)
from tokui.integrations.connectors.bcart.webhooks import RecentEventIds, signature_header, webhook_is_authentic

pytestmark = pytest.mark.django_db
SOURCE = "bcart-demo"
JST = zoneinfo.ZoneInfo("Asia/Tokyo")


class FakeClock:
    """Time that only moves when the client sleeps: pacing is tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def _client(url: str, token: str = TOKEN, clock: FakeClock | None = None, page_size: int = 2) -> BcartClient:
    clock = clock or FakeClock()
    return BcartClient(access_token=token, base_url=url, page_size=page_size, sleep=clock.sleep, clock=clock)


def _webhook(event_id: str, order: dict[str, object], event_type: str = "order.created") -> dict[str, object]:
    return {"event_id": event_id, "event_type": event_type, "idempotency_key": None, "data": {"object": order}}


def test_sync_follows_pages_waits_out_the_rate_limit_and_stores_everything() -> None:
    clock = FakeClock()
    with bcart_server(throttle_once={"orders"}) as stub:
        report = bcart_sync(client=_client(stub.url, clock=clock), source=SOURCE)
    assert any("offset=2" in path for path in stub.requests), "the second page was never asked for"
    assert all("complete=1" in path for path in stub.requests if "/orders?" in path)
    assert 7.0 in clock.waits, "the client did not wait for Retry-After"

    shirts = Category.objects.get(source=SOURCE, external_id="2")
    assert shirts.parent == Category.objects.get(source=SOURCE, external_id="1")
    assert set(Product.objects.values_list("sku", flat=True)) == {"LS-NV-M", "LS-WH-M", "bcart-set-201"}
    navy = Product.objects.get(sku="LS-NV-M")
    assert navy.name == "リネンシャツ ネイビー / M" and navy.category == shirts and navy.stock == 12 and navy.is_new
    assert Product.objects.get(sku="bcart-set-201").status == "hidden"

    company = Company.objects.get(source=SOURCE, external_id="1001")
    assert (company.name, company.code, company.prefecture, company.rank) == (
        "株式会社サンプル商事",
        "C-0001",
        "13",
        "ゴールド会員",
    )
    assert company.address == "渋谷区神宮前 1-1-1 サンプルビル3F"
    tanto = Contact.objects.get(source=SOURCE, external_id="1001:tanto")
    assert (tanto.name, tanto.company, tanto.is_primary, tanto.department) == ("鈴木 花子", company, True, "仕入部")
    assert Company.objects.get(external_id="1002").approval_status == ApprovalStatus.PENDING
    assert point_balance(company=company) == 500
    assert report.counts["customers.created"] == 2 and report.counts["customers.error"] == 1

    order = Order.objects.get(source=SOURCE, external_id="5001")
    # Lines without tax: B-Cart's tax is added once, points used are a discount, the shipping row is no line.
    assert order.total == Decimal("14200") and order.tax_total == Decimal("1300")
    assert order.company == company and order.contact == tanto and order.channel == "web"
    assert [line.sku for line in order.lines.order_by("line_no")] == ["LS-NV-M", "LS-WH-M"]
    assert order.status == OrderStatus.SHIPPED
    assert order.shipped_at == dt.datetime(2026, 11, 22, tzinfo=JST)
    cancelled = Order.objects.get(external_id="5002")
    # A line with tax included: nothing added again, the total is B-Cart's final price.
    assert cancelled.status == OrderStatus.CANCELLED and cancelled.total == Decimal("3300")
    assert Company.objects.get(orders__external_id="5003").name == "新規取引先株式会社"
    assert report.counts["orders.created"] == 3 and report.counts["orders.error"] == 1

    assert set(Favorite.objects.values_list("contact__external_id", "product__sku")) == {
        ("1001:tanto", "LS-NV-M"),
        ("1002:tanto", "bcart-set-201"),
    }


def test_one_bad_record_is_reported_and_the_others_are_kept() -> None:
    with bcart_server() as stub:
        report = bcart_sync(client=_client(stub.url), source=SOURCE)
    errors = {(error["resource"], error["id"]) for error in report.errors}
    assert ("customers", "1003") in errors and ("orders", "5004") in errors
    assert any(error["field"] == "email" for error in report.errors if error["id"] == "1003")
    assert not Company.objects.filter(external_id="1003").exists(), "a failed member left half its records"
    assert Company.objects.filter(source=SOURCE).count() == 3  # 1001, 1002 and 1999 from its order


def test_consent_follows_mm_flag_and_a_second_sync_changes_nothing() -> None:
    with bcart_server() as stub:
        bcart_sync(client=_client(stub.url), source=SOURCE)
        history = ConsentChange.objects.count()
        again = bcart_sync(client=_client(stub.url), source=SOURCE)
    hanako = Contact.objects.get(email="hanako@sample.example.jp")
    taro = Contact.objects.get(email="taro@minami.example.jp")
    assert consent_status(contact=hanako, channel=Channel.EMAIL) == ConsentStatus.GRANTED
    assert consent_status(contact=taro, channel=Channel.EMAIL) == ConsentStatus.WITHDRAWN
    assert ConsentChange.objects.count() == history
    assert point_balance(company=hanako.company) == 500
    changed = {key for key, count in again.counts.items() if count and not key.endswith((".unchanged", ".error"))}
    assert changed == set(), f"a second sync changed {changed}"


def test_an_opt_out_made_in_tokui_stays_until_the_member_changes_the_flag_in_b_cart() -> None:
    with bcart_server() as stub:
        bcart_sync(client=_client(stub.url), source=SOURCE, resources=("customers",))
        hanako = Contact.objects.get(email="hanako@sample.example.jp")
        consent_record(contact=hanako, channel=Channel.EMAIL, status=ConsentStatus.WITHDRAWN, source="配信停止リンク")
        history = ConsentChange.objects.count()
        bcart_sync(client=_client(stub.url), source=SOURCE, resources=("customers",))
    assert consent_status(contact=hanako, channel=Channel.EMAIL) == ConsentStatus.WITHDRAWN
    assert ConsentChange.objects.count() == history


def test_points_follow_the_balance_b_cart_keeps() -> None:
    with bcart_server() as stub:
        bcart_sync(client=_client(stub.url), source=SOURCE, resources=("customers",))
    company = Company.objects.get(external_id="1001")
    assert point_balance(company=company) == 500
    spent = {**CUSTOMERS[0], "point": 320}
    bcart_apply_webhook(source=SOURCE, payload=_webhook("evt-p", spent, "customer.updated"), seen=RecentEventIds())
    assert point_balance(company=company) == 320
    company.refresh_from_db()
    assert company.rank == "ゴールド会員", "a webhook that cannot name the price group cleared the rank"


def test_a_wrong_token_is_a_clear_error_not_a_retry_loop() -> None:
    with bcart_server() as stub, pytest.raises(BcartError) as error:
        _client(stub.url, token="wrong").test_connection()
    assert error.value.status == 401 and "Unauthenticated" in error.value.message
    assert len(stub.requests) == 1


def test_test_connection_reads_one_member() -> None:
    with bcart_server() as stub:
        assert _client(stub.url).test_connection() == {"ok": True, "customers": 1}
    assert stub.requests == ["/api/v1/customers?limit=1&offset=0"]


def test_client_paces_itself_under_the_rate_limit() -> None:
    clock = FakeClock()
    with bcart_server() as stub:
        client = BcartClient(
            access_token=TOKEN,
            base_url=stub.url,
            requests_per_window=3,
            window_seconds=300.0,
            sleep=clock.sleep,
            clock=clock,
        )
        for _ in range(4):
            client.get("categories", {"limit": 1, "offset": 0})
    # Three requests at t=0 fill the window: the fourth waits until the first is 300 s old, and no 429 is met.
    assert clock.waits == [300.0]
    assert len(stub.requests) == 4


def test_webhook_signature_is_checked_on_the_raw_body() -> None:
    body = json.dumps(_webhook("evt-1", ORDERS[0])).encode()
    header = signature_header(secret="whsec", date="1767225600", body=body)
    assert webhook_is_authentic(secret="whsec", body=body, header=header)
    assert not webhook_is_authentic(secret="whsec", body=body + b" ", header=header)
    assert not webhook_is_authentic(secret="other", body=body, header=header)
    assert not webhook_is_authentic(secret="whsec", body=body, header=header.replace("1767225600", "1767225601"))
    assert not webhook_is_authentic(secret="whsec", body=body, header=None)
    with pytest.raises(InvalidWebhookError):
        bcart_receive_webhook(source=SOURCE, secret="other", body=body, signature=header, seen=RecentEventIds())
    assert not Order.objects.exists()


def test_webhook_duplicate_is_ignored() -> None:
    seen = RecentEventIds()
    body = json.dumps(_webhook("evt-1", ORDERS[0])).encode()
    header = signature_header(secret="whsec", date="1767225600", body=body)
    first = bcart_receive_webhook(source=SOURCE, secret="whsec", body=body, signature=header, seen=seen)
    again = bcart_receive_webhook(source=SOURCE, secret="whsec", body=body, signature=header, seen=seen)
    assert first.counts["orders.created"] == 1
    assert again.counts == {"duplicate": 1}
    assert Order.objects.filter(source=SOURCE).count() == 1
    # A new event about the same order (it was cancelled) is applied.
    cancelled = {**ORDERS[0], "status": "キャンセル"}
    report = bcart_apply_webhook(source=SOURCE, payload=_webhook("evt-2", cancelled, "order.updated"), seen=seen)
    assert report.counts["orders.updated"] == 1
    assert Order.objects.get(source=SOURCE).status == OrderStatus.CANCELLED


def test_a_failed_webhook_can_be_delivered_again() -> None:
    seen = RecentEventIds()
    broken = _webhook("evt-9", ORDERS[3])
    assert bcart_apply_webhook(source=SOURCE, payload=broken, seen=seen).counts["orders.error"] == 1
    assert "evt-9" not in seen


def test_polling_reconciles_a_missed_webhook() -> None:
    seen = RecentEventIds()
    bcart_apply_webhook(source=SOURCE, payload=_webhook("evt-1", ORDERS[0]), seen=seen)
    # The webhook for order 5003 never arrived; the next poll of orders changed since the last cursor finds it.
    last_cursor = dt.datetime(2026, 11, 23, 9, 20, tzinfo=JST)
    with bcart_server() as stub:
        report = bcart_sync(client=_client(stub.url), source=SOURCE, updated_since=last_cursor, resources=("orders",))
    assert any("updated_at_min=2026-11-23+09%3A05%3A00" in path for path in stub.requests), stub.requests
    assert Order.objects.filter(source=SOURCE, external_id="5003").exists()
    assert report.counts["orders.created"] == 1
    assert not Order.objects.filter(external_id="5002").exists(), "the poll pulled orders older than the window"


def test_unknown_webhook_events_are_ignored() -> None:
    report = bcart_apply_webhook(
        source=SOURCE, payload={"event_id": "x", "event_type": "estimate.created"}, seen=RecentEventIds()
    )
    assert report.counts == {"ignored.estimate.created": 1}
