"""Bulk order upsert benchmark: orders with their lines through the service behind `POST /api/orders/bulk`.

Prints name=value lines with the data size. Run through `make bench` (PostgreSQL when reachable); `python
bench/order_upsert.py` works too (it migrates the configured database first).

What is measured (TOKUI_BENCH_ORDERS orders, 100,000 by default, of 5 lines each, in batches of 1,000 records as the
API receives them, through `commerce.services.orders_upsert_batch`; building the payloads is not timed):
- the first upsert: every order new (orders/s and lines/s);
- the same payloads again: every order must be unchanged (0 created, 0 updated), and the rate;
- the same orders changed (every order shipped, every other one with a line's quantity changed): every order
  updated, and the rate.
The companies, contacts and products the orders name are created first with bulk_create (not timed).
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from tokui.catalog.models import Product  # noqa: E402
from tokui.commerce.models import OrderLine  # noqa: E402
from tokui.commerce.services import orders_upsert_batch  # noqa: E402
from tokui.commerce.types import OrderLineRecordIn, OrderRecordIn  # noqa: E402
from tokui.customers.models import Company, Contact  # noqa: E402

ORDERS = int(os.environ.get("TOKUI_BENCH_ORDERS", "100000"))
BATCH = 1_000  # records per call, the API's limit
LINES_PER_ORDER = 5
COMPANIES = 2_000
CONTACTS_PER_COMPANY = 2
PRODUCTS = 500
CHANNELS = ("web", "sales_rep", "fax", "phone", "pos")
PLACED_FROM = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)


def create_customers_and_products(source: str, run: str) -> None:
    """The companies, contacts and products the orders name, known to ``source`` (bulk inserts, not timed)."""
    companies = Company.objects.bulk_create(
        [Company(source=source, external_id=f"C-{n}", name=f"株式会社ベンチ{n}") for n in range(COMPANIES)],
        batch_size=2000,
    )
    Contact.objects.bulk_create(
        [
            Contact(source=source, external_id=f"P-{n}-{k}", company=company, name=f"担当者 {n}-{k}")
            for n, company in enumerate(companies)
            for k in range(CONTACTS_PER_COMPANY)
        ],
        batch_size=2000,
    )
    Product.objects.bulk_create(
        [
            Product(source=source, external_id=f"PR-{n}", sku=f"{run}-SKU-{n}", name=f"商品 {n}", price=1000 + n)
            for n in range(PRODUCTS)
        ],
        batch_size=2000,
    )


def order_record(n: int, run: str, *, changed: bool = False) -> OrderRecordIn:
    """Order ``n``: its lines name products by the source's id (odd lines) or by SKU (even lines)."""
    company = n % COMPANIES
    lines = []
    for k in range(LINES_PER_ORDER):
        product = (n * 7 + k * 13) % PRODUCTS
        quantity = 1 + (n + k) % 6 + (1 if changed and k == 0 and n % 2 == 0 else 0)
        if k % 2:
            lines.append(
                OrderLineRecordIn(
                    product_external_id=f"PR-{product}", quantity=quantity, unit_price=Decimal(1000 + product)
                )
            )
        else:
            lines.append(
                OrderLineRecordIn(sku=f"{run}-SKU-{product}", quantity=quantity, unit_price=Decimal(1000 + product))
            )
    placed_at = PLACED_FROM + dt.timedelta(minutes=n)
    return OrderRecordIn(
        external_id=f"O-{n}",
        placed_at=placed_at,
        lines=lines,
        company_external_id=f"C-{company}",
        contact_external_id=f"P-{company}-{n % CONTACTS_PER_COMPANY}",
        number=f"TK-{n:07d}",
        channel=CHANNELS[n % len(CHANNELS)],
        status="shipped" if changed else "confirmed",
        tax_total=Decimal(500 + n % 300),
        shipping_fee=Decimal(800 if n % 3 else 0),
        shipped_at=placed_at + dt.timedelta(days=2) if changed else None,
    )


def batches(run: str, *, changed: bool = False) -> list[list[OrderRecordIn]]:
    return [
        [order_record(n, run, changed=changed) for n in range(start, min(start + BATCH, ORDERS))]
        for start in range(0, ORDERS, BATCH)
    ]


def upsert_all(source: str, payloads: Sequence[Sequence[OrderRecordIn]]) -> tuple[float, Counter[str]]:
    """Send every batch through the service; returns the seconds spent in it and the outcomes."""
    counts: Counter[str] = Counter()
    seconds = 0.0
    for records in payloads:
        start = time.perf_counter()
        outcomes = orders_upsert_batch(source=source, records=records)
        seconds += time.perf_counter() - start
        counts.update(outcome.outcome for outcome in outcomes)
        if counts["error"]:
            errors = [o.error for o in outcomes if o.error is not None]
            raise SystemExit(f"order upsert refused records: {errors[:3]}")
    return seconds, counts


def main() -> None:
    call_command("migrate", verbosity=0)
    run = uuid.uuid4().hex[:8]
    source = f"bench-{run}"
    print(f"database={connection.vendor}")
    print(
        f"orders={ORDERS} lines_per_order={LINES_PER_ORDER} batch_records={BATCH} companies={COMPANIES}"
        f" contacts={COMPANIES * CONTACTS_PER_COMPANY} products={PRODUCTS}"
    )
    start = time.perf_counter()
    create_customers_and_products(source, run)
    print(f"setup_seconds={time.perf_counter() - start:.1f}")

    payloads = batches(run)
    lines = ORDERS * LINES_PER_ORDER
    seconds, counts = upsert_all(source, payloads)
    assert counts["created"] == ORDERS, counts
    print(
        f"create_orders_per_second={ORDERS / seconds:.0f} create_lines_per_second={lines / seconds:.0f}"
        f" create_seconds={seconds:.1f} created={counts['created']}"
    )
    stored_lines = OrderLine.objects.filter(order__source=source).count()
    print(f"stored_order_lines={stored_lines}")

    seconds, counts = upsert_all(source, payloads)
    print(
        f"replay_created={counts['created']} replay_updated={counts['updated']}"
        f" replay_unchanged={counts['unchanged']} replay_errors={counts['error']}"
    )
    assert counts["unchanged"] == ORDERS, "the same payloads again must change nothing"
    print(
        f"replay_orders_per_second={ORDERS / seconds:.0f} replay_lines_per_second={lines / seconds:.0f}"
        f" replay_seconds={seconds:.1f}"
    )

    del payloads
    changed = batches(run, changed=True)
    seconds, counts = upsert_all(source, changed)
    assert counts["updated"] == ORDERS, counts
    print(
        f"update_orders_per_second={ORDERS / seconds:.0f} update_lines_per_second={lines / seconds:.0f}"
        f" update_seconds={seconds:.1f} updated={counts['updated']} orders_with_changed_lines={(ORDERS + 1) // 2}"
    )


if __name__ == "__main__":
    main()
