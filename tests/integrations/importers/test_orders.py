import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import CompanyFactory, ContactFactory, ProductFactory, UserFactory
from tests.integrations.importers.conftest import (
    Upload,
    counts,
    csv_bytes,
    dry_run,
    import_file,
    messages_by_row,
    run_import,
    xlsx_bytes,
)
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.commerce.models import Order
from tokui.core.time import local_date, site_zone
from tokui.customers.models import Company
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db
JST = site_zone()

HEADER = "受注番号,受注日,得意先コード,品番,商品名,数量,単価,受注区分"
ORDERS = (
    "F-1001,2026/11/25,C001,SHIRT-01,リネンシャツ,2,4900,FAX",
    "F-1001,2026/11/25,C001,PANTS-01,ワイドパンツ,1,6900,FAX",
    "T-2001,2026/11/26,C002,SHIRT-01,リネンシャツ,5,4500,電話",
    "S-3001,令和8年11月27日,C001,KNIT-01,ニット,3,8000,営業",
    "S-3001,令和8年11月27日,C001,SHIRT-01,リネンシャツ,1,4900,営業",
    "S-3001,令和8年11月27日,C001,PANTS-01,ワイドパンツ,4,6000,営業",
)


@pytest.fixture
def customers(db: None) -> dict[str, Company]:
    for sku, name in (("SHIRT-01", "リネンシャツ"), ("PANTS-01", "ワイドパンツ"), ("KNIT-01", "ニット")):
        ProductFactory(sku=sku, name=name)
    return {
        "C001": CompanyFactory(source="import", external_id="C001", code="C001", name="株式会社さくら"),
        "C002": CompanyFactory(source="kikan", external_id="9002", code="C002", name="山﨑洋品店"),
    }


def test_offline_orders_are_grouped_by_order_number_into_orders_with_lines(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    job = import_file(upload, importer_user, csv_bytes(HEADER, *ORDERS, encoding="cp932"), object_type="orders")
    assert counts(job) == {"created": 6, "updated": 0, "unchanged": 0, "rejected": 0}
    orders = {order.number: order for order in Order.objects.prefetch_related("lines")}
    assert set(orders) == {"F-1001", "T-2001", "S-3001"}
    fax, phone, visit = orders["F-1001"], orders["T-2001"], orders["S-3001"]
    assert (fax.channel, phone.channel, visit.channel) == ("fax", "phone", "sales_rep")
    assert [(line.line_no, line.sku, line.quantity) for line in fax.lines.all()] == [
        (1, "SHIRT-01", 2),
        (2, "PANTS-01", 1),
    ]
    assert fax.subtotal == Decimal(2 * 4900 + 6900)
    assert all(line.product_id is not None for line in visit.lines.all())
    assert len(visit.lines.all()) == 3
    # The customer code finds a company from another source by its customer code.
    assert phone.company == customers["C002"]
    assert local_date(visit.placed_at) == dt.date(2026, 11, 27)
    placed_facts = Event.objects.filter(type=EventType.ORDER_PLACED, source="import")
    assert placed_facts.count() == 3


def test_the_channel_chosen_for_the_file_applies_to_orders_without_one(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    content = csv_bytes("受注番号,受注日,得意先コード,品番,数量,単価", "P-1,2026/11/25,C001,SHIRT-01,1,4900")
    import_file(upload, importer_user, content, object_type="orders", options={"channel": "phone"})
    assert Order.objects.get().channel == "phone"


def test_order_dates_with_times_are_read_in_the_site_zone(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    content = csv_bytes("受注番号,受注日時,得意先コード,品番,数量,単価", "P-1,2026/11/30 23:30,C001,SHIRT-01,1,4900")
    import_file(upload, importer_user, content, object_type="orders")
    placed = Order.objects.get().placed_at
    assert placed == dt.datetime(2026, 11, 30, 23, 30, tzinfo=JST)
    assert local_date(placed) == dt.date(2026, 11, 30)


def test_importing_the_same_orders_again_changes_nothing(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    import_file(upload, importer_user, csv_bytes(HEADER, *ORDERS), object_type="orders")
    again = import_file(upload, importer_user, csv_bytes(HEADER, *ORDERS), object_type="orders")
    assert counts(again) == {"created": 0, "updated": 0, "unchanged": 6, "rejected": 0}
    assert Order.objects.count() == 3
    assert Event.objects.filter(type=EventType.ORDER_PLACED).count() == 3


def test_a_changed_quantity_updates_the_order_and_keeps_what_the_file_leaves_out(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    import_file(upload, importer_user, csv_bytes(HEADER, *ORDERS[:2]), object_type="orders")
    Order.objects.update(status="shipped", note="出荷済み")
    changed = ORDERS[1].replace("ワイドパンツ,1,", "ワイドパンツ,3,")
    job = dry_run(upload(csv_bytes(HEADER, ORDERS[0], changed), object_type="orders"))
    assert counts(job)["updated"] == 2
    run_import(job, importer_user)
    order = Order.objects.get()
    assert [line.quantity for line in order.lines.all()] == [2, 3]
    assert (order.status, order.note) == ("shipped", "出荷済み")


def test_a_bad_line_rejects_its_whole_order_and_the_other_orders_are_stored(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    bad_line = ORDERS[4].replace(",1,4900,", ",いっこ,4900,")
    content = csv_bytes(HEADER, *ORDERS[:3], ORDERS[3], bad_line, ORDERS[5])
    job = import_file(upload, importer_user, content, object_type="orders")
    assert counts(job) == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 3}
    reasons = messages_by_row(job)
    assert set(reasons) == {5, 6, 7}
    assert reasons[6].startswith("数量:")
    assert "6" in reasons[5] and "6" in reasons[7]
    assert set(Order.objects.values_list("number", flat=True)) == {"F-1001", "T-2001"}


def test_an_order_number_in_two_places_is_rejected_with_its_rows(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    content = csv_bytes(HEADER, ORDERS[0], ORDERS[2], ORDERS[1])
    job = import_file(upload, importer_user, content, object_type="orders")
    assert counts(job) == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 2}
    reasons = messages_by_row(job)
    assert set(reasons) == {2, 4}
    assert "F-1001" in reasons[2] and "2, 4" in reasons[2]
    assert list(Order.objects.values_list("number", flat=True)) == ["T-2001"]


def test_lines_that_disagree_on_the_customer_reject_the_order(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    content = csv_bytes(HEADER, ORDERS[0], ORDERS[1].replace(",C001,", ",C002,"))
    job = import_file(upload, importer_user, content, object_type="orders")
    assert counts(job)["rejected"] == 2
    assert "C001" in messages_by_row(job)[2] and "C002" in messages_by_row(job)[2]


def test_an_unknown_customer_code_says_to_import_the_companies_first(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    job = dry_run(upload(csv_bytes(HEADER, ORDERS[0].replace(",C001,", ",C999,")), object_type="orders"))
    assert "C999" in messages_by_row(job)[2]
    assert counts(job)["rejected"] == 1


def test_orders_can_name_the_buyer_by_email(upload: Upload, importer_user: User, customers: dict[str, Company]) -> None:
    buyer = ContactFactory(company=customers["C001"], email="buyer@sakura.example.jp")
    content = csv_bytes(
        "受注番号,受注日,メールアドレス,品番,数量,単価", "W-1,2026/11/25,Buyer@Sakura.example.jp,SHIRT-01,1,4900"
    )
    import_file(upload, importer_user, content, object_type="orders")
    order = Order.objects.get()
    assert (order.contact, order.company) == (buyer, customers["C001"])


def test_lines_with_an_unknown_sku_are_kept_with_their_name(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    content = csv_bytes(HEADER, "F-9,2026/11/25,C001,OLD-99,旧商品,1,1000,FAX")
    import_file(upload, importer_user, content, object_type="orders")
    line = Order.objects.get().lines.get()
    assert (line.sku, line.product_name, line.product_id) == ("OLD-99", "旧商品", None)


def test_orders_from_an_excel_sheet_with_date_cells(
    upload: Upload, importer_user: User, customers: dict[str, Company]
) -> None:
    content = xlsx_bytes(
        [
            ["受注番号", "受注日", "得意先コード", "品番", "数量", "単価", "受注区分"],
            [5001, dt.datetime(2026, 11, 25), "C001", "SHIRT-01", 2, 4900, "FAX"],
            [5001, dt.datetime(2026, 11, 25), "C001", "KNIT-01", 1, 8000.0, "FAX"],
        ]
    )
    job = import_file(upload, importer_user, content, name="受注.xlsx", object_type="orders")
    assert counts(job)["created"] == 2
    order = Order.objects.get()
    assert (order.number, order.channel, order.total) == ("5001", "fax", Decimal(17800))
    assert order.placed_at == dt.datetime(2026, 11, 25, tzinfo=JST)


def test_a_sales_rep_cannot_import_orders_of_another_reps_customer(
    upload: Upload, customers: dict[str, Company]
) -> None:
    rep = UserFactory(username="sato", role=Role.SALES_REP)
    Company.objects.filter(pk=customers["C001"].pk).update(assigned_rep=rep)
    job = run_import(dry_run(upload(csv_bytes(HEADER, ORDERS[0], ORDERS[2]), object_type="orders", user=rep)), rep)
    assert counts(job) == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert list(Order.objects.values_list("number", flat=True)) == ["F-1001"]
