"""Basket analysis benchmark: pairs bought together over every order, and one product's partners, on PostgreSQL.

Uses the data of bench/analytics_reports.py (TOKUI_BENCH_REPORT_ORDERS orders, 1,000,000 by default, 2-5 lines
each, 3.5 on average, over 5,000 products; written by PostgreSQL itself and deleted at the end). Prints name=value
lines: the data size, basket_pairs_seconds (every pair of two years of whole days bought together in at least
TOKUI_BENCH_BASKET_MIN orders, 2 by default, read from the sales facts as the screen does; the facts are built first
and their build time printed), basket_pairs_from_order_lines_seconds (the same over two instants, from the order lines),
bought_together_ms (one product's partners counted from the orders; and from the lines the screen has read already),
basket_page_seconds (what the screen computes: one read of the period, its pairs, sets and one product's partners),
its split (basket_split_*: the read of the rows, their dense ids and sort, the pairs, the sets, one product's
partners), basket_default_page_seconds (the screen as it opens: the last 365 days, pairs and sets in 3 orders),
basket_partners_rebuild_seconds (the nightly
build of every product's 20 partners over the last year) and product_partners_ms (one product's partners read from
that build, as mails and product pages read them). TOKUI_BENCH_KEEP=1 keeps the data; running this file again on
that database with TOKUI_BENCH_REUSE=1 measures it again without writing it or its sales facts anew.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from analytics_reports import PRODUCTS, SOURCE, best, clean, generate, scalar  # the same data and timing
from tokui.analytics.basket import (
    _facts_scope_sql,
    _site_days,
    basket_pairs,
    basket_scope,
    basket_sets,
    products_bought_together,
)
from tokui.analytics.basket_counts import basket_lines, pair_counts, scope_rows, triple_counts
from tokui.analytics.basket_partner_counts import partner_counts
from tokui.analytics.sales_facts import sales_facts_rebuild
from tokui.analytics.selectors import product_partners
from tokui.analytics.services import basket_partners_rebuild
from tokui.core.time import start_of_local_day

MIN_TOGETHER = int(os.environ.get("TOKUI_BENCH_BASKET_MIN", "2"))


def timed_once(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def split(start: dt.datetime, end: dt.datetime, product: int) -> None:
    """Where the page's time goes: the read of the period's rows, their dense ids and sort, the pairs, the sets."""
    days = _site_days(start, end)
    assert days is not None
    sql, params = _facts_scope_sql(start_day=days[0], end_day=days[1], category_ids=None)
    read = best(lambda: scope_rows(sql, params))
    orders, products = scope_rows(sql, params)
    lines = basket_lines(orders, products)
    pairs = pair_counts(lines, floor=MIN_TOGETHER)
    partners = best(lambda: partner_counts(lines, product_id=product, floor=2, limit=10))
    print(
        f"basket_split_read_seconds={read:.2f} "
        f"basket_split_lines_seconds={best(lambda: basket_lines(orders, products)):.2f} "
        f"basket_split_pairs_seconds={best(lambda: pair_counts(lines, floor=MIN_TOGETHER)):.2f} "
        f"basket_split_sets_seconds={best(lambda: triple_counts(lines, pairs, floor=MIN_TOGETHER, limit=20)):.2f} "
        f"basket_split_partners_ms={partners * 1000:.1f}"
    )


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("bench/analytics_basket.py needs PostgreSQL: set TOKUI_DATABASE_URL")
    call_command("migrate", verbosity=0)
    # TOKUI_BENCH_REUSE=1 (running this file on a database kept by TOKUI_BENCH_KEEP=1) measures that data and its
    # sales facts again without writing them anew.
    reuse = bool(os.environ.get("TOKUI_BENCH_REUSE")) and bool(
        scalar(f"SELECT COUNT(*) FROM commerce_order WHERE source = '{SOURCE}'")
    )
    if not reuse:
        clean()
        generate()
    orders = scalar(f"SELECT COUNT(*) FROM commerce_order WHERE source = '{SOURCE}'")
    lines = scalar(
        "SELECT COUNT(*) FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id "
        f"WHERE o.source = '{SOURCE}'"
    )
    print(f"basket_orders={orders} basket_lines={lines} basket_products={PRODUCTS}")
    # Whole site-zone days, as the screen asks: read from the sales facts (written by the first, untimed call).
    today = timezone.localdate()
    start, end = start_of_local_day(today - dt.timedelta(days=731)), start_of_local_day(today + dt.timedelta(days=1))
    # The orders were written straight into the database: their sales facts come from a rebuild (the nightly job,
    # or the worker when a page notices a bulk load).
    facts = 0.0 if reuse else timed_once(sales_facts_rebuild)
    found = basket_pairs(start=start, end=end, min_orders_together=MIN_TOGETHER, limit=100)
    print(f"basket_orders_counted={found.orders_total} basket_min_orders_together={found.min_orders_together} "
          f"sales_facts_build_seconds={facts:.1f}")  # fmt: skip
    seconds = best(lambda: basket_pairs(start=start, end=end, min_orders_together=MIN_TOGETHER, limit=100))
    print(f"basket_pairs_seconds={seconds:.2f}")
    # Any two instants (not whole days): from the order lines joined with their orders.
    shifted = (start + dt.timedelta(seconds=1), end)
    raw = best(lambda: basket_pairs(start=shifted[0], end=shifted[1], min_orders_together=MIN_TOGETHER, limit=100))
    print(f"basket_pairs_from_order_lines_seconds={raw:.2f}")
    product = found.pairs[0].product_a_id if found.pairs else scalar("SELECT MIN(id) FROM catalog_product")
    together = best(lambda: products_bought_together(product_id=product, start=start, end=end, limit=5))
    scope = basket_scope(start=start, end=end)
    on_page = best(lambda: products_bought_together(product_id=product, start=start, end=end, limit=10, scope=scope))
    print(f"bought_together_ms={together * 1000:.1f} bought_together_from_page_scope_ms={on_page * 1000:.1f}")

    def page() -> None:  # what the screen computes: one read of the period, its pairs, its sets, one product
        read = basket_scope(start=start, end=end)
        basket_pairs(scope=read, start=start, end=end, min_orders_together=MIN_TOGETHER, limit=100)
        basket_sets(scope=read, start=start, end=end, min_orders_together=MIN_TOGETHER, limit=20)
        products_bought_together(product_id=product, start=start, end=end, limit=10, scope=read)

    print(f"basket_page_seconds={best(page):.2f}")
    split(start, end, product)
    # The screen as it opens: the last 365 days, all categories, pairs and sets in at least 3 orders.
    year_start = start_of_local_day(today - dt.timedelta(days=365))

    def default_page() -> None:
        read = basket_scope(start=year_start, end=end)
        read.pairs(3)
        basket_pairs(scope=read, start=year_start, end=end, min_orders_together=3, limit=100)
        basket_sets(scope=read, start=year_start, end=end, min_orders_together=3, limit=20)

    print(f"basket_default_page_seconds={best(default_page):.2f}")
    rebuild = timed_once(basket_partners_rebuild)
    partner_rows = scalar("SELECT COUNT(*) FROM analytics_basketpartner")
    print(f"basket_partners_rebuild_seconds={rebuild:.2f} basket_partner_rows={partner_rows}")
    lookup = min(timed_once(lambda: product_partners(product_ids=[product], limit=5)) for _ in range(200))
    print(f"product_partners_ms={lookup * 1000:.3f}")
    if not os.environ.get("TOKUI_BENCH_KEEP"):
        clean()


if __name__ == "__main__":
    main()
