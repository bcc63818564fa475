"""Foundation benchmark: demo load, dashboard KPIs, customer timeline page, bulk order ingest.

Prints name=value lines with the data size. Run through `make bench` (PostgreSQL when reachable).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from tokui.catalog.models import Product  # noqa: E402
from tokui.commerce.models import Order  # noqa: E402
from tokui.commerce.services import orders_load_new  # noqa: E402
from tokui.commerce.types import OrderIn, OrderLineIn  # noqa: E402
from tokui.customers.models import Company  # noqa: E402
from tokui.demo.generator import load_demo_data  # noqa: E402
from tokui.tracking.models import Event  # noqa: E402
from tokui.tracking.selectors import timeline_for_company  # noqa: E402
from tokui.web.dashboard import dashboard_build  # noqa: E402


def median_ms(action: Callable[[], object], repeat: int = 20) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    print(f"database={connection.vendor}")
    start = time.perf_counter()
    summary = load_demo_data(seed=20261125)
    print(f"demo_load_seconds={time.perf_counter() - start:.1f}")
    print(f"demo_companies={summary.companies} demo_orders={summary.orders} demo_events={summary.events}")

    dashboard_ms = median_ms(lambda: dashboard_build(now=timezone.now()))
    print(f"dashboard_build_ms={dashboard_ms:.1f} orders={Order.objects.count()}")

    busiest = Company.objects.order_by("-events__occurred_at").values_list("pk", flat=True).first()
    page_ms = median_ms(lambda: list(timeline_for_company(company_id=busiest)[:20]))
    print(f"timeline_first_page_ms={page_ms:.2f} events={Event.objects.count()}")

    company_ids = list(Company.objects.values_list("pk", flat=True)[:200])
    products = list(Product.objects.values_list("pk", "sku", "name")[:50])
    batch_size, batches = 1000, 20
    placed = timezone.now()
    start = time.perf_counter()
    for batch in range(batches):
        orders = [
            (
                f"bench-{batch}-{n}",
                OrderIn(
                    company_id=company_ids[n % len(company_ids)],
                    placed_at=placed,
                    lines=[
                        OrderLineIn(sku=sku, product_id=pk, product_name=name, quantity=3, unit_price=Decimal(2900))
                        for pk, sku, name in products[n % 47 : n % 47 + 3]
                    ],
                ),
            )
            for n in range(batch_size)
        ]
        orders_load_new(source="bench", orders=orders)
    seconds = time.perf_counter() - start
    total = batch_size * batches
    print(f"orders_bulk_load_per_second={total / seconds:.0f} orders={total} lines_per_order=3")


if __name__ == "__main__":
    main()
