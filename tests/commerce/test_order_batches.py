"""The batched order upsert behind `POST /api/orders/bulk`: per-order results, bulk writes, the error path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CompanyFactory, ContactFactory, ProductFactory
from tokui.commerce.models import Order, OrderLine
from tokui.commerce.services import order_batches, orders_upsert_batch
from tokui.commerce.types import OrderLineRecordIn, OrderRecordIn
from tokui.core.batches import RecordOutcome
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db

SOURCE = "erp"
PLACED_AT = dt.datetime(2026, 4, 1, 14, 30, tzinfo=dt.UTC)


@pytest.fixture
def shop() -> None:
    """Two companies with a buyer each and three products, known to the source "erp"."""
    for n in (1, 2):
        company = CompanyFactory(source=SOURCE, external_id=f"C-{n}")
        ContactFactory(source=SOURCE, external_id=f"P-{n}", company=company)
    for n, sku in enumerate(["LINEN-S", "LINEN-M", "LINEN-L"], start=1):
        ProductFactory(source=SOURCE, external_id=f"PR-{n}", sku=sku, name=f"リネンシャツ {sku[-1]}", price=4900)


def order(external_id: str, **fields: Any) -> OrderRecordIn:
    values: dict[str, Any] = {
        "external_id": external_id,
        "placed_at": PLACED_AT,
        "company_external_id": "C-1",
        "contact_external_id": "P-1",
        "number": f"TK-{external_id}",
        "tax_total": Decimal(980),
        "lines": [
            OrderLineRecordIn(sku="LINEN-M", quantity=2, unit_price=Decimal(4900)),
            OrderLineRecordIn(product_external_id="PR-3", quantity=1, unit_price=Decimal(5200)),
        ],
    }
    return OrderRecordIn(**(values | fields))


def outcomes(results: list[RecordOutcome]) -> list[str]:
    return [result.outcome for result in results]


def writes(queries: CaptureQueriesContext) -> list[str]:
    """The writing statements; ``executemany`` is logged once as "<n> times: <sql>"."""
    statements = [q["sql"].split(" times: ", 1)[-1] for q in queries.captured_queries]
    return [sql for sql in statements if sql.startswith(("INSERT", "UPDATE", "DELETE"))]


def test_a_mixed_batch_reports_every_order_and_stores_exactly_the_good_ones(shop: None) -> None:
    orders_upsert_batch(source=SOURCE, records=[order("same"), order("to-cancel"), order("new-lines")])
    before = Order.objects.get(external_id="new-lines").updated_at
    results = orders_upsert_batch(
        source=SOURCE,
        records=[
            order("new-1"),
            order("same"),
            order("to-cancel", status="cancelled"),
            order("unknown-company", company_external_id="C-404"),
            order("new-lines", lines=[OrderLineRecordIn(sku="LINEN-S", quantity=5, unit_price=Decimal(4500))]),
            order("twice"),
            order("bad-quantity", lines=[OrderLineRecordIn(sku="LINEN-M", quantity=0, unit_price=Decimal(1))]),
            order("twice", number="other"),
            order("new-2", contact_external_id="P-2", company_external_id=None),
        ],
    )
    assert outcomes(results) == [
        "created",
        "unchanged",
        "updated",
        "error",
        "updated",
        "error",
        "error",
        "error",
        "created",
    ]
    errors = [(r.key, r.error.code, r.error.field) for r in results if r.error is not None]
    assert errors == [
        ("unknown-company", "unknown_reference", "company_external_id"),
        ("twice", "duplicate", "external_id"),
        ("bad-quantity", "invalid", "lines[0].quantity"),
        ("twice", "duplicate", "external_id"),
    ]
    stored = {o.external_id: o for o in Order.objects.all()}
    assert set(stored) == {"same", "to-cancel", "new-lines", "new-1", "new-2"}
    assert [r.id for r in results if r.outcome != "error"] == [
        stored[key].pk for key in ("new-1", "same", "to-cancel", "new-lines", "new-2")
    ]
    assert stored["to-cancel"].status == "cancelled"
    assert stored["new-2"].company is not None and stored["new-2"].company.external_id == "C-2"
    rewritten = stored["new-lines"]
    assert [(ln.sku, ln.quantity, ln.amount) for ln in rewritten.lines.all()] == [("LINEN-S", 5, Decimal(22500))]
    assert rewritten.subtotal == Decimal(22500) and rewritten.total == Decimal(23480)
    assert rewritten.updated_at > before  # only its lines changed, yet a sync by updated_since sees it
    assert OrderLine.objects.filter(order=stored["new-1"]).count() == 2
    placed = Event.objects.filter(type="order_placed").values_list("properties__number", flat=True)
    assert sorted(placed) == ["TK-new-1", "TK-new-2", "TK-new-lines", "TK-same", "TK-to-cancel"]
    assert list(Event.objects.filter(type="order_cancelled").values_list("properties__order_id", flat=True)) == [
        stored["to-cancel"].pk
    ]


def test_the_same_batch_again_reports_every_order_unchanged_and_writes_nothing(shop: None) -> None:
    records = [order(f"O-{n}", status="cancelled" if n % 5 == 0 else "confirmed") for n in range(30)]
    assert set(outcomes(orders_upsert_batch(source=SOURCE, records=records))) == {"created"}
    facts = Event.objects.count()
    with CaptureQueriesContext(connection) as queries:
        assert set(outcomes(orders_upsert_batch(source=SOURCE, records=records))) == {"unchanged"}
    assert writes(queries) == []
    assert Event.objects.count() == facts


def test_changed_orders_are_updated_in_bulk_and_a_cancellation_is_one_fact(shop: None) -> None:
    records = [order(f"O-{n}") for n in range(40)]
    orders_upsert_batch(source=SOURCE, records=records)
    changed = [order(f"O-{n}", status="cancelled", note="返品") for n in range(40)]
    with CaptureQueriesContext(connection) as queries:
        assert set(outcomes(orders_upsert_batch(source=SOURCE, records=changed))) == {"updated"}
    assert len([sql for sql in writes(queries) if sql.startswith("UPDATE")]) == 1  # 40 updates in one executemany
    assert set(Order.objects.values_list("status", "note")) == {("cancelled", "返品")}
    assert outcomes(orders_upsert_batch(source=SOURCE, records=changed)) == ["unchanged"] * 40
    assert Event.objects.filter(type="order_cancelled").count() == 40


@pytest.mark.parametrize("kind", ["new", "changed", "unchanged"])
def test_the_queries_of_a_batch_do_not_grow_with_its_orders(
    shop: None, kind: str, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    # Lines by the source's product id, by a known SKU and by a SKU Tokui does not know (kept unlinked).
    lines = [
        OrderLineRecordIn(product_external_id="PR-1", quantity=1, unit_price=Decimal(4900)),
        OrderLineRecordIn(sku="LINEN-M", quantity=2, unit_price=Decimal(4900)),
        OrderLineRecordIn(sku="OLD-ITEM", quantity=1, unit_price=Decimal(1000)),
    ]
    records = [order(f"O-{n}", lines=lines, contact_external_id=f"P-{n % 2 + 1}") for n in range(300)]
    if kind != "new":
        orders_upsert_batch(source=SOURCE, records=records)
    if kind == "changed":
        records = [order(f"O-{n}", lines=lines[:2], status="shipped") for n in range(300)]
    # Reads: customers, contacts, products by id and by SKU, the SKUs not found, stored orders and their lines;
    # then a few bulk statements and savepoints. (On PostgreSQL the rows go in with COPY, not in this count.)
    with django_assert_max_num_queries(15):
        results = orders_upsert_batch(source=SOURCE, records=records)
    assert set(outcomes(results)) == {{"new": "created", "changed": "updated", "unchanged": "unchanged"}[kind]}
    unlinked = OrderLine.objects.filter(sku="OLD-ITEM")
    assert unlinked.exists() == (kind != "changed") and not unlinked.filter(product__isnull=False).exists()


def test_an_order_stored_by_another_writer_meanwhile_is_updated_and_the_others_created(
    shop: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders_upsert_batch(source=SOURCE, records=[order("raced")])
    # The batch read the stored orders before the other writer's commit: it believes "raced" is new.
    monkeypatch.setattr(order_batches, "orders_by_external_id", lambda **_kwargs: {})
    results = orders_upsert_batch(
        source=SOURCE, records=[order("a"), order("raced", status="shipped"), order("b"), order("c")]
    )
    assert outcomes(results) == ["created", "updated", "created", "created"]
    assert Order.objects.filter(external_id="raced").get().status == "shipped"
    assert Order.objects.count() == 4
    assert Event.objects.filter(type="order_placed").count() == 4
    assert OrderLine.objects.count() == 8


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite stores any number; PostgreSQL refuses an overflow")
def test_an_order_the_database_refuses_is_reported_alone_and_the_good_ones_are_kept(shop: None) -> None:
    huge = [OrderLineRecordIn(sku="LINEN-M", quantity=2**31 - 1, unit_price=Decimal(10**11))]
    orders_upsert_batch(source=SOURCE, records=[order(f"stored-{n}") for n in range(4)])
    results = orders_upsert_batch(
        source=SOURCE,
        records=[
            *[order(f"new-{n}") for n in range(5)],
            order("new-huge", lines=huge),
            order("stored-0", status="shipped"),
            order("stored-1", lines=huge),
            order("stored-2", status="shipped"),
            order("stored-3"),
        ],
    )
    assert outcomes(results) == [*["created"] * 5, "error", "updated", "error", "updated", "unchanged"]
    refused = [r.error for r in results if r.error is not None]
    assert [error.code for error in refused] == ["refused", "refused"]
    assert not Order.objects.filter(external_id="new-huge").exists()
    assert Order.objects.filter(external_id__startswith="new-").count() == 5
    assert Order.objects.get(external_id="stored-1").lines.get(sku="LINEN-M").quantity == 2
    assert set(Order.objects.filter(status="shipped").values_list("external_id", flat=True)) == {
        "stored-0",
        "stored-2",
    }
    assert Event.objects.filter(type="order_placed").count() == 9
