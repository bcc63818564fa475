"""Sales analysis and ranking benchmark: the report selectors and the report pages on PostgreSQL.

Prints name=value lines with the data size. Needs PostgreSQL (TOKUI_DATABASE_URL); it migrates the database first.
Use a database of its own: the rows are written with source "bench-reports" and deleted again at the end
(TOKUI_BENCH_KEEP=1 keeps them; TOKUI_BENCH_REUSE=1 then measures them again without writing them anew, and
TOKUI_BENCH_REUSE_FACTS=1 also keeps the sales facts built by that run instead of rebuilding them).

Data (not timed, written by PostgreSQL itself with INSERT ... SELECT over generate_series, which is faster than
COPY because nothing leaves the server): TOKUI_BENCH_REPORT_ORDERS orders (1,000,000 by default) over the two years
before today, 2-5 lines each (3.5 on average), 5,000 products in 10 categories with 4 subcategories each, one
company per 5 orders (47 prefectures, 4 sizes, 20 sales reps), 10% of orders B2C (a contact without a company);
3% cancelled, 0.5% in USD; channels web / sales rep / FAX / phone / POS.

The reports read the sales facts (``analytics.sales_facts``, ADR 0015; the category facts and their day sums,
ADR 0024; the product day and month sums, ADR 0028). After the data is written the bench
rebuilds them as the nightly run does and prints ``sales_facts_rebuild_seconds`` (not a page cost: the nightly
job's), then ``sales_facts_refresh_1000_orders_seconds`` (what the order-fact consumer pays for a batch of 1,000
orders with the highest ids, placed anywhere in the two years, so inside their buyers' histories),
``sales_facts_refresh_1000_latest_orders_seconds`` (the same for the 1,000 latest orders, each its buyer's last,
as a new order is; the facts are there already, so each is taken out and written again),
``sales_facts_refresh_1000_new_orders_seconds`` (what the consumer pays for 1,000 orders just placed, of 1,000 buyers
picked at random, through their ``order_placed`` facts; removed again afterwards) and
``sales_facts_catch_up_seconds`` (what every report pays to check the watermark when nothing is new).

What is timed (each the best of TOKUI_BENCH_REPEAT runs, 3 by default, so a cold cache does not decide):
- sales_month_seconds: one year by month, compared with the year before, no breakdown;
- sales_month_channel_seconds: one year by month, compared with the year before, broken down by channel
  (``analytics.sales.sales_report``: every query of the page);
- sales_month_category_seconds: the same broken down by category (from the category facts and their day sums);
- sales_month_product_seconds: the same broken down by product (from the product sums);
- sales_month_product_category_seconds: the same with a top category filter (its products' sums);
- sales_month_product_channel_filter_seconds: the same within the web channel (the channel sums, ADR 0044);
- sales_month_product_prefecture_filter_seconds: the same for the largest prefecture, which no sum answers: sums
  over its buyers' line facts and the chains they carry (ADR 0040, 0041);
- sales_month_{prefecture,company_size,sales_rep}_filter_seconds: one year by month for one customer attribute's
  value (the largest prefecture, a quarter of the companies, one rep's), and sales_month_by_{prefecture,sales_rep,
  company_size}_seconds broken down by one: the customer day sums (ADR 0045);
  sales_month_{category,product}_company_size_filter_seconds: by category (the customer category months) and by
  product (the customer product months, ADR 0046) for a quarter of the companies, and
  sales_month_product_sales_rep_filter_seconds by product for one rep's companies (a rep's own page);
  sales_{category,product}_{company_size,sales_rep,prefecture}_filter_from_the_15th_seconds: the same from the
  15th (a prefecture by product: its buyers' line facts);
- sales_from_the_15th_seconds, sales_{channel,category,product}_from_the_15th_seconds: a year from the 15th by
  month, against the year before (the day sums, and the facts whose previous order lies in the first month before
  the start, read by index; ADR 0042); sales_week_seconds, sales_week_{channel,product}_seconds: a year by week
  (each week's buyers from the day sums' repeat counts, ADR 0043); sales_product_last_30_days_seconds: the last 30
  days by day and product, against the 30 before; sales_product_channel_filter_from_the_15th_seconds: by product
  within the web channel from the 15th (the channel sums and their gap, ADR 0044);
- sales_category_filter_seconds: the same with a top category filter (every figure from its lines);
- sales_subcategory_filter_seconds: the same with a subcategory filter (one category: sums over its facts);
- category_move_report_seconds: a report right after one product moved to another category (it re-derives the
  category facts of that product's buyers first);
- ranking_month_seconds: the monthly ranking by units with movement (``analytics.rankings.product_ranking``);
- sales_page_seconds / ranking_page_seconds / basket_page_seconds: the whole page through Django (selectors,
  template, middleware), the basket screen as it opens (the last year's pairs and sets), its past days read from
  their packs as the worker leaves them (basket_packs_fill_seconds: packing every day of the last 800 from none,
  ADR 0053); basket_page_unpacked_seconds: the same screen with no pack (between the nightly rebuild and its packing);
- {dashboard,repeat,prediction,rfm,company_list}_page_seconds: the pages that read the customers' stats and the
  nightly predictions, through Django, after the stats and predictions are made as the nightly run makes them
  (stats_and_predictions_nightly_seconds).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from tokui.accounts.enums import Role  # noqa: E402
from tokui.accounts.models import User  # noqa: E402
from tokui.analytics.basket_packs import basket_packs_fill  # noqa: E402
from tokui.analytics.models import BasketDayPack, CustomerPrediction, CustomerStats  # noqa: E402
from tokui.analytics.rankings import product_ranking, ranking_window  # noqa: E402
from tokui.analytics.report_types import SalesFilters  # noqa: E402
from tokui.analytics.sales import sales_report  # noqa: E402
from tokui.analytics.sales_facts import (  # noqa: E402
    sales_facts_catch_up,
    sales_facts_rebuild,
    sales_facts_refresh,
    sales_facts_refresh_for_facts,
)
from tokui.analytics.services import (  # noqa: E402
    prediction_calibration_store,
    predictions_store,
    stats_recompute_all,
)
from tokui.commerce.models import Order  # noqa: E402
from tokui.core.time import add_months, local_today  # noqa: E402
from tokui.tracking.enums import EventType  # noqa: E402
from tokui.tracking.models import Event  # noqa: E402

ORDERS = int(os.environ.get("TOKUI_BENCH_REPORT_ORDERS", "1000000"))
REPEAT = int(os.environ.get("TOKUI_BENCH_REPEAT", "3"))
SOURCE = "bench-reports"
PRODUCTS = 5_000
REPS = 20


def sql(statement: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def scalar(statement: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return int(cursor.fetchone()[0])


def clean() -> None:
    remove_new_orders()
    customers = (
        f"company_id IN (SELECT id FROM customers_company WHERE source = '{SOURCE}')"
        f" OR contact_id IN (SELECT id FROM customers_contact WHERE source = '{SOURCE}')"
    )
    for table in ("analytics_customerprediction", "analytics_customerstats"):
        sql(f"DELETE FROM {table} WHERE {customers}")
    for table in ("analytics_saleslinefact", "analytics_salesorderfact", "analytics_salescategoryfact"):
        sql(f"DELETE FROM {table} WHERE order_id IN (SELECT id FROM commerce_order WHERE source = '{SOURCE}')")
    sql(
        "DELETE FROM analytics_salescategoryproduct"
        f" WHERE product_id IN (SELECT id FROM catalog_product WHERE source = '{SOURCE}')"
    )
    sql(f"DELETE FROM commerce_orderline WHERE order_id IN (SELECT id FROM commerce_order WHERE source = '{SOURCE}')")
    for table in ("commerce_order", "customers_contact", "customers_company", "catalog_product"):
        sql(f"DELETE FROM {table} WHERE source = %s", [SOURCE])
    sql("DELETE FROM catalog_category WHERE source = %s AND parent_id IS NOT NULL", [SOURCE])
    sql("DELETE FROM catalog_category WHERE source = %s", [SOURCE])
    User.objects.filter(username__startswith="bench-reports-").delete()


def generate() -> None:
    """Every row in SQL; ids continue after what the tables hold. A hash of the row number stands in for chance."""
    reps = [
        User.objects.create_user(username=f"bench-reports-rep-{n}", role=Role.SALES_REP, display_name=f"営業{n}")
        for n in range(REPS)
    ]
    rep0 = min(rep.pk for rep in reps)
    companies, contacts = max(ORDERS // 5, 1), max(ORDERS // 20, 1)
    base = {
        t: scalar(f"SELECT COALESCE(MAX(id), 0) FROM {t}")
        for t in (
            "catalog_category",
            "catalog_product",
            "customers_company",
            "customers_contact",
            "commerce_order",
            "commerce_orderline",
        )
    }
    c0, p0, co0, ct0, o0, l0 = base.values()
    common = f"'{SOURCE}', NULL, now(), now()"
    sql(f"""INSERT INTO catalog_category (id, source, external_id, created_at, updated_at, name, slug, sort_order,
               parent_id)
        SELECT {c0} + i, {common}, 'カテゴリ' || i, 'bench-reports-' || ({c0} + i), i,
               CASE WHEN i > 10 THEN {c0} + 1 + (i - 11) % 10 END
        FROM generate_series(1, 50) i""")
    sql(f"""INSERT INTO catalog_product (id, source, external_id, created_at, updated_at, sku, name, description, price,
               currency, image, url, stock, is_new, launched_at, season, status, category_id)
        SELECT {p0} + i, {common}, 'BR-' || ({p0} + i), '商品' || i, '', 1000 + i % 50 * 100, 'JPY', '', '', 0, false,
               NULL, '', 'active', {c0} + 11 + i % 40
        FROM generate_series(1, {PRODUCTS}) i""")
    sql(f"""INSERT INTO customers_company (id, source, external_id, created_at, updated_at, name, name_kana, code,
               industry, size, prefecture, postal_code, address, phone, fax, website, rank, price_rate,
               approval_status, custom_fields, note, archived_at, agency_id, assigned_rep_id, price_group_id)
        SELECT {co0} + i, {common}, '株式会社ベンチ' || i, '', '', '',
               (ARRAY['micro','small','medium','large'])[1 + i % 4],
               lpad((1 + i % 47)::text, 2, '0'), '', '', '', '', '', '', NULL, 'approved', '{{}}', '', NULL, NULL,
               {rep0} + i % {REPS}, NULL
        FROM generate_series(1, {companies}) i""")
    sql(f"""INSERT INTO customers_contact (id, source, external_id, created_at, updated_at, name, name_kana, email,
               phone, department, title, birthday, prefecture, line_user_id, is_primary, custom_fields, archived_at,
               company_id)
        SELECT {ct0} + i, {common}, '個人' || i, '', '', '', '', '', NULL, lpad((1 + i % 47)::text, 2, '0'), NULL,
               false, '{{}}', NULL, NULL
        FROM generate_series(1, {contacts}) i""")
    # h is a cheap, well-spread hash of the order number.
    sql(f"""INSERT INTO commerce_order (id, source, external_id, created_at, updated_at, number, channel, status,
               placed_at, shipped_at, cancelled_at, currency, subtotal, discount_total, shipping_fee, tax_total, total,
               note, company_id, contact_id, sales_rep_id, ship_to_id)
        SELECT {o0} + i, {common}, 'BR-' || i,
               (ARRAY['web','web','sales_rep','fax','phone','pos'])[1 + h % 6],
               CASE WHEN h % 100 < 3 THEN 'cancelled' ELSE 'delivered' END,
               now() - make_interval(secs => (h % (730 * 86400))::double precision), NULL, NULL,
               CASE WHEN h % 200 = 7 THEN 'USD' ELSE 'JPY' END,
               2000 + h % 80000, 0, 0, 0, 2000 + h % 80000, '',
               CASE WHEN h % 10 = 0 THEN NULL ELSE {co0} + 1 + h % {companies} END,
               CASE WHEN h % 10 = 0 THEN {ct0} + 1 + h % {contacts} END, NULL, NULL
        FROM (SELECT i, (i::bigint * 2654435761 % 4294967291) AS h FROM generate_series(1, {ORDERS}) i) o""")
    sql(f"""INSERT INTO commerce_orderline (id, line_no, sku, product_name, quantity, unit_price, amount, order_id,
               product_id)
        SELECT {l0} + row_number() OVER (), l, 'BR-' || ({p0} + p), '商品' || p, q, 1000 + p % 50 * 100,
               q * (1000 + p % 50 * 100), {o0} + i, {p0} + p
        FROM (SELECT i, l, 1 + (h + l * 7919) % {PRODUCTS} AS p, 1 + (h + l) % 6 AS q
              FROM (SELECT i, (i::bigint * 2654435761 % 4294967291) AS h FROM generate_series(1, {ORDERS}) i) o,
                   generate_series(1, 2 + (h % 4)::int) l) x""")
    # Vacuumed as well as analysed: autovacuum would have done it on an install (it is off on the development
    # machine), and until then no read of the orders is index-only.
    for table in ("commerce_order", "commerce_orderline", "customers_company", "customers_contact", "catalog_product"):
        sql(f"VACUUM (ANALYZE) {table}")


NEW_SOURCE = "bench-reports-new"


def new_orders() -> float:
    """1,000 orders placed now (copies of 1,000 orders picked at random, of distinct buyers, with their lines) and their
    ``order_placed`` facts, written without sales facts (not timed); then the order-fact consumer's refresh of them,
    as the worker runs it for new orders (timed). The orders, their facts and sales facts go again afterwards."""
    remove_new_orders()
    o0 = scalar("SELECT COALESCE(MAX(id), 0) FROM commerce_order")
    l0 = scalar("SELECT COALESCE(MAX(id), 0) FROM commerce_orderline")
    sql(f"""CREATE TEMPORARY TABLE bench_new_orders AS
        SELECT {o0} + row_number() OVER (ORDER BY id) AS id, id AS copied FROM (
            SELECT id FROM (
                SELECT DISTINCT ON (COALESCE(company_id, -contact_id)) id FROM (
                    SELECT id, company_id, contact_id FROM commerce_order
                    WHERE source = '{SOURCE}' AND status <> 'cancelled' AND currency = 'JPY'
                    ORDER BY md5(id::text) LIMIT 1100) sample
                ORDER BY COALESCE(company_id, -contact_id), id) distinct_buyers
            ORDER BY md5(id::text) LIMIT 1000) picked""")
    sql(f"""INSERT INTO commerce_order (id, source, external_id, created_at, updated_at, number, channel, status,
               placed_at, shipped_at, cancelled_at, currency, subtotal, discount_total, shipping_fee, tax_total, total,
               note, company_id, contact_id, sales_rep_id, ship_to_id)
        SELECT n.id, '{NEW_SOURCE}', 'BN-' || n.id, now(), now(), 'BN-' || n.id, o.channel, 'new', now(), NULL, NULL,
               o.currency, o.subtotal, 0, 0, 0, o.total, '', o.company_id, o.contact_id, NULL, NULL
        FROM bench_new_orders n JOIN commerce_order o ON o.id = n.copied""")
    sql(f"""INSERT INTO commerce_orderline (id, line_no, sku, product_name, quantity, unit_price, amount, order_id,
               product_id)
        SELECT {l0} + row_number() OVER (ORDER BY l.id), l.line_no, l.sku, l.product_name, l.quantity, l.unit_price,
               l.amount, n.id, l.product_id
        FROM bench_new_orders n JOIN commerce_orderline l ON l.order_id = n.copied""")
    sql("DROP TABLE bench_new_orders")
    placed = dt.datetime.now(dt.UTC)
    events = Event.objects.bulk_create(
        Event(
            type=EventType.ORDER_PLACED,
            occurred_at=placed,
            company_id=company_id,
            contact_id=contact_id,
            properties={"order_id": order_id},
            source=NEW_SOURCE,
            dispatched_at=placed,
        )
        for order_id, company_id, contact_id in Order.objects.filter(source=NEW_SOURCE).values_list(
            "id", "company_id", "contact_id"
        )
    )
    started = time.perf_counter()
    sales_facts_refresh_for_facts(event_ids=[event.pk for event in events])
    seconds = time.perf_counter() - started
    remove_new_orders()
    return seconds


def remove_new_orders() -> None:
    """The new orders of ``new_orders`` (also an interrupted run's) gone, with their sales facts."""
    ids = list(Order.objects.filter(source=NEW_SOURCE).values_list("id", flat=True))
    Event.objects.filter(source=NEW_SOURCE).delete()
    if ids:
        sql(f"DELETE FROM commerce_orderline WHERE order_id IN ({', '.join(map(str, ids))})")
        sql("DELETE FROM commerce_order WHERE source = %s", [NEW_SOURCE])
        sales_facts_refresh(order_ids=ids)  # an order gone loses its facts and leaves its buyers' chains as before


def customer_pages(client: Client, today: dt.date) -> None:
    """The pages that read the customers' stats and the nightly predictions: those first, as the nightly run makes
    them (timed apart: the nightly job's, not a page's; kept from an earlier run with TOKUI_BENCH_REUSE_FACTS=1)."""
    if not (os.environ.get("TOKUI_BENCH_REUSE_FACTS") and CustomerPrediction.objects.exists()):
        started = time.perf_counter()
        stats_recompute_all()
        predictions_store(today=today)
        prediction_calibration_store(today=today)
        print(f"stats_and_predictions_nightly_seconds={time.perf_counter() - started:.1f}")
    print(f"customer_stats={CustomerStats.objects.count()} customer_predictions={CustomerPrediction.objects.count()}")
    for name, url in (
        ("dashboard", "web:dashboard"),
        ("repeat", "analytics:repeat"),
        ("prediction", "analytics:prediction"),
        ("rfm", "analytics:rfm"),
        ("company_list", "web:company_list"),
    ):
        print(f"{name}_page_seconds={best(lambda: client.get(reverse(url))):.3f}")  # noqa: B023


def best(run: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("bench/analytics_reports.py needs PostgreSQL: set TOKUI_DATABASE_URL")
    call_command("migrate", verbosity=0)
    if os.environ.get("TOKUI_BENCH_REUSE") and scalar(f"SELECT COUNT(*) FROM commerce_order WHERE source = '{SOURCE}'"):
        print("generate_seconds=reused")  # the data of an earlier run kept with TOKUI_BENCH_KEEP
    else:
        clean()
        started = time.perf_counter()
        generate()
        print(f"generate_seconds={time.perf_counter() - started:.1f}")
    print(f"orders={scalar(f"SELECT COUNT(*) FROM commerce_order WHERE source = '{SOURCE}'")}")
    joined = "commerce_orderline l JOIN commerce_order o ON o.id = l.order_id"
    print(f"lines={scalar(f"SELECT COUNT(*) FROM {joined} WHERE o.source = '{SOURCE}'")}")
    print(f"companies={scalar(f"SELECT COUNT(*) FROM customers_company WHERE source = '{SOURCE}'")}")
    print(f"products={PRODUCTS}")
    if os.environ.get("TOKUI_BENCH_REUSE_FACTS") and scalar("SELECT COUNT(*) FROM analytics_salescategoryfact"):
        print("sales_facts_rebuild_seconds=reused")  # the facts of an earlier run (for measuring the reads again)
        print(f"sales_order_facts={scalar('SELECT COUNT(*) FROM analytics_salesorderfact')}")
    else:
        started = time.perf_counter()
        facts = sales_facts_rebuild()
        print(f"sales_facts_rebuild_seconds={time.perf_counter() - started:.1f}")
        print(f"sales_order_facts={facts}")
    print(f"sales_line_facts={scalar('SELECT COUNT(*) FROM analytics_saleslinefact')}")
    print(f"sales_category_facts={scalar('SELECT COUNT(*) FROM analytics_salescategoryfact')}")
    print(f"sales_product_days={scalar('SELECT COUNT(*) FROM analytics_salesproductday')}")
    print(f"sales_product_months={scalar('SELECT COUNT(*) FROM analytics_salesproductmonth')}")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM commerce_order WHERE source = '{SOURCE}' ORDER BY id DESC LIMIT 1000")
        recent = [row[0] for row in cursor.fetchall()]
    print(f"sales_facts_refresh_1000_orders_seconds={best(lambda: sales_facts_refresh(order_ids=recent)):.3f}")
    # The ids above lie anywhere in their buyers' histories (placed_at is random): each rewrites its buyers' chains
    # from its day on. An order just placed is its buyer's latest, like these.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM commerce_order WHERE source = '{SOURCE}' ORDER BY placed_at DESC LIMIT 1000")
        latest = [row[0] for row in cursor.fetchall()]
    print(f"sales_facts_refresh_1000_latest_orders_seconds={best(lambda: sales_facts_refresh(order_ids=latest)):.3f}")
    print(f"sales_facts_catch_up_seconds={best(sales_facts_catch_up):.4f}")
    # Timed inside: placing the orders and removing them again are not the consumer's.
    print(f"sales_facts_refresh_1000_new_orders_seconds={min(new_orders() for _ in range(REPEAT)):.3f}")
    admin, _ = User.objects.get_or_create(username="bench-reports-admin", defaults={"role": Role.ADMIN})
    today = local_today()
    start = add_months(today.replace(day=1), -12)
    top = scalar(f"SELECT MIN(id) FROM catalog_category WHERE source = '{SOURCE}'")
    year = {"user": admin, "start": start, "end": today, "granularity": "month", "comparison": "year"}
    report = sales_report(**year, breakdown="channel")
    print(f"year_orders_counted={report.totals.current.orders}")
    print(f"sales_month_seconds={best(lambda: sales_report(**year)):.3f}")
    print(f"sales_month_channel_seconds={best(lambda: sales_report(**year, breakdown='channel')):.3f}")
    print(f"sales_month_category_seconds={best(lambda: sales_report(**year, breakdown='category')):.3f}")
    print(f"sales_month_product_seconds={best(lambda: sales_report(**year, breakdown='product')):.3f}")
    filters = SalesFilters(category_id=top)
    print(
        "sales_month_product_category_seconds="
        f"{best(lambda: sales_report(**year, filters=filters, breakdown='product')):.3f}"
    )
    print(
        f"sales_category_filter_seconds={best(lambda: sales_report(**year, filters=filters, breakdown='channel')):.3f}"
    )
    # Within one channel (the channel sums, ADR 44) and for one prefecture (the line facts).
    by_channel = SalesFilters(channel="web")
    print(
        "sales_month_product_channel_filter_seconds="
        f"{best(lambda: sales_report(**year, filters=by_channel, breakdown='product')):.3f}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT prefecture FROM customers_company WHERE source = '{SOURCE}' "
            "GROUP BY prefecture ORDER BY COUNT(*) DESC, prefecture LIMIT 1"
        )
        by_prefecture = SalesFilters(prefecture=cursor.fetchone()[0])
    print(
        f"sales_month_product_prefecture_filter_seconds="
        f"{best(lambda: sales_report(**year, filters=by_prefecture, breakdown='product')):.3f} (the largest prefecture)"
    )
    # One customer attribute, and a breakdown by one: the customer day sums (ADR 45); by product still the lines.
    by_size = SalesFilters(company_size="small")  # a quarter of the companies
    rep_id = scalar(f"SELECT MIN(assigned_rep_id) FROM customers_company WHERE source = '{SOURCE}'")
    for name, customer_filters in (
        ("prefecture", by_prefecture),
        ("company_size", by_size),
        ("sales_rep", SalesFilters(sales_rep_id=rep_id)),
    ):
        seconds = best(lambda: sales_report(**year, filters=customer_filters))  # noqa: B023
        print(f"sales_month_{name}_filter_seconds={seconds:.3f}")
    by_rep = SalesFilters(sales_rep_id=rep_id)
    for breakdown in ("category", "product"):
        seconds = best(lambda: sales_report(**year, filters=by_size, breakdown=breakdown))  # noqa: B023
        print(f"sales_month_{breakdown}_company_size_filter_seconds={seconds:.3f}")
    # By product for one rep's companies (a rep's own page): the customer product months (ADR 46).
    seconds = best(lambda: sales_report(**year, filters=by_rep, breakdown="product"))
    print(f"sales_month_product_sales_rep_filter_seconds={seconds:.3f}")
    for breakdown in ("prefecture", "sales_rep", "company_size"):
        seconds = best(lambda: sales_report(**year, breakdown=breakdown))  # noqa: B023
        print(f"sales_month_by_{breakdown}_seconds={seconds:.3f}")
    # A year from the 15th: the day sums with the facts whose previous order lies between the 1st and the 14th of
    # the first month (ADR 42); and the last 30 days against the 30 before.
    mid_month = {**year, "start": start.replace(day=15)}
    print(f"sales_from_the_15th_seconds={best(lambda: sales_report(**mid_month)):.3f}")
    for breakdown in ("channel", "category", "product"):
        seconds = best(lambda: sales_report(**mid_month, breakdown=breakdown))  # noqa: B023
        print(f"sales_{breakdown}_from_the_15th_seconds={seconds:.3f}")
    seconds = best(lambda: sales_report(**mid_month, filters=by_channel, breakdown="product"))
    print(f"sales_product_channel_filter_from_the_15th_seconds={seconds:.3f}")
    # One customer attribute from the 15th: its sums' whole months, its buyers' facts of the first month's days.
    for name, customer_filters in (("company_size", by_size), ("sales_rep", by_rep), ("prefecture", by_prefecture)):
        for breakdown in ("category", "product"):
            seconds = best(lambda: sales_report(**mid_month, filters=customer_filters, breakdown=breakdown))  # noqa: B023
            print(f"sales_{breakdown}_{name}_filter_from_the_15th_seconds={seconds:.3f}")
    # A year by week: each week's buyers from the order day sums' repeats (ADR 0043).
    weekly = {**year, "granularity": "week"}
    for breakdown in ("", "channel", "product"):
        seconds = best(lambda: sales_report(**weekly, breakdown=breakdown))  # noqa: B023
        print(f"sales_week{'_' + breakdown if breakdown else ''}_seconds={seconds:.3f}")
    days_30 = {**year, "start": today - dt.timedelta(days=29), "granularity": "day", "comparison": "previous"}
    print(f"sales_product_last_30_days_seconds={best(lambda: sales_report(**days_30, breakdown='product')):.3f}")
    leaf = scalar(f"SELECT MIN(id) FROM catalog_category WHERE source = '{SOURCE}' AND parent_id IS NOT NULL")
    leaf_filters = SalesFilters(category_id=leaf)
    print(
        "sales_subcategory_filter_seconds="
        f"{best(lambda: sales_report(**year, filters=leaf_filters, breakdown='channel')):.3f}"
    )
    moved = scalar(f"SELECT MIN(id) FROM catalog_product WHERE source = '{SOURCE}'")
    started = time.perf_counter()
    # To another subcategory (the next one if an earlier run of the same data moved it already).
    sql(
        "UPDATE catalog_product SET category_id = CASE WHEN category_id = %s THEN %s ELSE %s END WHERE id = %s",
        [leaf, leaf + 1, leaf, moved],
    )
    sales_report(**year, breakdown="category")
    print(f"category_move_report_seconds={time.perf_counter() - started:.3f}")
    month_start, month_end, previous = ranking_window(period="month", day=add_months(today, -1))
    ranking = lambda: product_ranking(start=month_start, end=month_end, previous_start=previous)  # noqa: E731
    print(f"ranking_month_seconds={best(ranking):.3f}")
    client = Client()
    client.force_login(admin)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"sales_page_seconds={best(lambda: client.get(reverse('analytics:sales'), {'breakdown': 'channel'})):.3f}")
    print(f"ranking_page_seconds={best(lambda: client.get(reverse('analytics:rankings'))):.3f}")
    # The basket screen as it opens: the pairs and sets of the last year's orders, counted when the page is read;
    # the past days read from their packs as the worker leaves them (ADR 53), today's lines from the facts. Then
    # without packs, as between the nightly rebuild and its packing of the days.
    BasketDayPack.objects.all().delete()
    started = time.perf_counter()
    packed = basket_packs_fill()
    print(f"basket_packs_fill_seconds={time.perf_counter() - started:.3f} basket_packed_days={packed}")
    print(f"basket_page_seconds={best(lambda: client.get(reverse('analytics:basket'))):.3f}")
    BasketDayPack.objects.all().delete()
    print(f"basket_page_unpacked_seconds={best(lambda: client.get(reverse('analytics:basket'))):.3f}")
    basket_packs_fill()
    customer_pages(client, today)
    if not os.environ.get("TOKUI_BENCH_KEEP"):
        clean()


if __name__ == "__main__":
    main()
