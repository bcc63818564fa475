"""Customer stats and RFM benchmark: full recompute from the order lines, RFM from the stats, incremental refresh.

Prints name=value lines with the data size. Run through `make bench` (PostgreSQL when reachable); `python
bench/analytics_stats.py` works too (it migrates the configured database first).

Data (not timed; it stays in the database, and running this file on it again with TOKUI_BENCH_REUSE=1 measures it
again, DuckDB regenerating the same rows): TOKUI_BENCH_CUSTOMERS companies (1,000,000 by default), each with 1-5
orders over two years and TOKUI_BENCH_LINES_PER_CUSTOMER order lines (10) spread over them, 5,000 products in 50
categories; 3% of orders cancelled and 0.5% in USD (both left out of the figures). DuckDB generates the rows in
memory and writes them as CSV, which PostgreSQL loads with COPY (foreign-key triggers off while loading: the rows
are consistent by construction); SQLite gets them with executemany. What is timed:
- full_recompute_seconds: ``analytics.services.stats_recompute_all`` (every customer's stats from the lines; on
  PostgreSQL the orders and lines are read as packed arrays on two connections, computed in NumPy and copied into a
  twin table swapped in: ADR 0023, 0030); the median of TOKUI_BENCH_REPEAT runs (1 by default), each printed;
- rfm_grid_seconds: the R×F grid (ranks from the maintained stats, default fixed boundaries) and
  rfm_grid_quintile_seconds the same with quintiles on all three axes;
- stats_plus_rfm_seconds: the two together (the issue's "full recompute of stats + RFM");
- rfm_snapshot_seconds: writing every customer's ranks as this month's snapshot;
- incremental_seconds: 1,000 new orders for 1,000 customers, then ``stats_refresh_for_facts`` over their facts;
- duckdb_seconds: DuckDB computing the same stats and the same R×F grid on the same rows, and the ratio.
"""

from __future__ import annotations

import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django.setup()

import duckdb  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.utils import timezone  # noqa: E402

from tokui.analytics.enums import CustomerLevel, RankMethod  # noqa: E402
from tokui.analytics.models import CustomerStats, RfmSettings  # noqa: E402
from tokui.analytics.rfm_defaults import default_rules  # noqa: E402
from tokui.analytics.selectors import rfm_grid  # noqa: E402
from tokui.analytics.services import (  # noqa: E402
    rfm_snapshot_take,
    stats_recompute_all,
    stats_refresh_for_facts,
)
from tokui.catalog.models import Category, Product  # noqa: E402
from tokui.commerce.models import Order, OrderLine  # noqa: E402
from tokui.core.time import local_today  # noqa: E402
from tokui.customers.models import Company  # noqa: E402
from tokui.tracking.enums import EventType  # noqa: E402
from tokui.tracking.models import Event  # noqa: E402

CUSTOMERS = int(os.environ.get("TOKUI_BENCH_CUSTOMERS", "1000000"))
LINES_PER_CUSTOMER = int(os.environ.get("TOKUI_BENCH_LINES_PER_CUSTOMER", "10"))
PRODUCTS = 5_000
CATEGORIES = 50
INCREMENTAL_ORDERS = 1_000
START = "2024-12-01 00:00:00+00"
SPAN_SECONDS = 730 * 86_400


def _base(model: type[django.db.models.Model]) -> int:
    return int(model.objects.aggregate(top=Max("pk"))["top"] or 0)


def _bases() -> tuple[int, int, int, int, int] | None:
    """With TOKUI_BENCH_REUSE, the ids just before the rows an earlier run left (None: generate and load anew)."""
    companies = Company.objects.filter(source="bench")
    if not os.environ.get("TOKUI_BENCH_REUSE") or not companies.exists():
        return None
    # The timed incremental refresh of an earlier run added orders: gone, so that DuckDB reads the same rows.
    OrderLine.objects.filter(order__source="bench-new").delete()
    Order.objects.filter(source="bench-new").delete()
    first = [
        int(query.order_by("pk").values_list("pk", flat=True).first() or 1) - 1
        for query in (
            companies,
            Order.objects.filter(source="bench"),
            OrderLine.objects.filter(order__source="bench"),
            Product.objects.filter(source="bench"),
            Category.objects.filter(slug__startswith="bench-cat-"),
        )
    ]
    return first[0], first[1], first[2], first[3], first[4]


def generate(db: duckdb.DuckDBPyConnection, bases: tuple[int, int, int, int, int] | None) -> dict[str, str]:
    """Build the rows in DuckDB, with ids past what the database already holds (or, reused, the ids the kept rows
    have: the rows depend on nothing else); returns the SELECT per table."""
    company0, order0, line0, product0, category0 = bases or (
        _base(Company),
        _base(Order),
        _base(OrderLine),
        _base(Product),
        _base(Category),
    )
    db.execute("SET TimeZone = 'UTC'")
    db.execute(f"""
        CREATE TABLE cust AS
        SELECT {company0} + i AS company_id, CAST(1 + hash(i) % 5 AS INTEGER) AS k FROM range(1, {CUSTOMERS} + 1) t(i)
    """)
    db.execute(f"""
        CREATE TABLE ord0 AS
        SELECT {order0} + row_number() OVER (ORDER BY company_id, j) AS id, company_id, j,
               TIMESTAMPTZ '{START}' + to_seconds(CAST(hash(company_id * 16 + j) % {SPAN_SECONDS} AS BIGINT))
                   AS placed_at,
               CASE WHEN hash(company_id * 16 + j + 1) % 100 < 3 THEN 'cancelled' ELSE 'delivered' END AS status,
               CASE WHEN hash(company_id * 16 + j + 2) % 200 = 0 THEN 'USD' ELSE 'JPY' END AS currency
        FROM (SELECT company_id, unnest(range(k)) AS j FROM cust)
    """)
    db.execute(f"""
        CREATE TABLE line AS
        SELECT {line0} + row_number() OVER (ORDER BY o.id, l) AS id, o.id AS order_id,
               CAST(l // c.k + 1 AS INTEGER) AS line_no, p AS product_id, q AS quantity,
               CAST(500 + (p % 50) * 100 AS DECIMAL(14, 2)) AS unit_price,
               CAST(q * (500 + (p % 50) * 100) AS DECIMAL(14, 2)) AS amount
        FROM (SELECT company_id, k, l, {product0} + 1 + CAST(hash(company_id * 10 + l) % {PRODUCTS} AS BIGINT) AS p,
                     CAST(1 + hash(company_id * 10 + l + 7) % 10 AS INTEGER) AS q
              FROM cust, range({LINES_PER_CUSTOMER}) r(l)) c
        JOIN ord0 o ON o.company_id = c.company_id AND o.j = c.l % c.k
    """)
    db.execute("""
        CREATE TABLE ord AS
        SELECT o.*, COALESCE(s.subtotal, 0) AS total FROM ord0 o
        LEFT JOIN (SELECT order_id, SUM(amount) AS subtotal FROM line GROUP BY order_id) s ON s.order_id = o.id
    """)
    db.execute(f"""
        CREATE TABLE product AS
        SELECT {product0} + i AS id, {category0} + 1 + (i % {CATEGORIES}) AS category_id
        FROM range(1, {PRODUCTS} + 1) t(i)
    """)
    now = "'2026-12-01 00:00:00+00'"
    return {
        Category._meta.db_table: f"""SELECT {category0} + i AS id, 'bench' AS source, 'CAT-' || ({category0} + i)
            AS external_id, {now} AS created_at, {now} AS updated_at, 'カテゴリ' || i AS name,
            'bench-cat-' || ({category0} + i) AS slug, NULL AS parent_id, i AS sort_order
            FROM range(1, {CATEGORIES} + 1) t(i)""",
        Product._meta.db_table: f"""SELECT id, 'bench' AS source, 'PR-' || id AS external_id, {now} AS created_at,
            {now} AS updated_at, 'BENCH-' || id AS sku, '商品' || id AS name, category_id, '' AS description,
            1000 AS price, 'JPY' AS currency, '' AS image, '' AS url, 0 AS stock, false AS is_new,
            NULL AS launched_at, '' AS season, 'active' AS status FROM product""",
        Company._meta.db_table: f"""SELECT company_id AS id, 'bench' AS source, 'C-' || company_id AS external_id,
            {now} AS created_at, {now} AS updated_at, '株式会社ベンチ' || company_id AS name, '' AS name_kana,
            '' AS code, '' AS industry, '' AS size, '' AS prefecture, '' AS postal_code, '' AS address,
            '' AS phone, '' AS fax, '' AS website, NULL AS assigned_rep_id, '' AS rank, NULL AS price_group_id,
            NULL AS price_rate, 'approved' AS approval_status, NULL AS agency_id, '{{}}' AS custom_fields,
            '' AS note, NULL AS archived_at FROM cust""",
        Order._meta.db_table: f"""SELECT id, 'bench' AS source, 'O-' || id AS external_id, {now} AS created_at,
            {now} AS updated_at, '' AS number, company_id, NULL AS contact_id, 'web' AS channel, status,
            placed_at, NULL AS shipped_at, NULL AS cancelled_at, currency, total AS subtotal,
            0 AS discount_total, 0 AS shipping_fee, 0 AS tax_total, total, NULL AS sales_rep_id,
            NULL AS ship_to_id, '' AS note FROM ord""",
        OrderLine._meta.db_table: """SELECT id, order_id, line_no, product_id, 'BENCH-' || product_id AS sku,
            '商品' || product_id AS product_name, quantity, unit_price, amount FROM line""",
    }


def load_postgresql(db: duckdb.DuckDBPyConnection, selects: dict[str, str], folder: Path) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table, select in selects.items():
            path = folder / f"{table}.csv"
            db.execute(f"COPY ({select}) TO '{path}' (HEADER true, NULLSTR '\\N')")
            columns = path.open(encoding="utf-8").readline().strip()
            copy_sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true, NULL '\\N')"
            with cursor.copy(copy_sql) as copy, path.open("rb") as source:  # type: ignore[attr-defined]
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            path.unlink()
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    with connection.cursor() as cursor:
        for table in selects:
            cursor.execute(f"VACUUM ANALYZE {table}")


def load_sqlite(db: duckdb.DuckDBPyConnection, selects: dict[str, str]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for table, select in selects.items():
            result = db.execute(select)
            columns = [d[0] for d in result.description]
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
            while rows := result.fetchmany(50_000):
                cursor.executemany(sql, [[str(v) if isinstance(v, Decimal) else v for v in row] for row in rows])


DUCKDB_STATS = """
CREATE OR REPLACE TABLE stats AS
WITH eligible AS (
    SELECT id AS order_id, company_id AS ckey, CAST(placed_at AT TIME ZONE 'Asia/Tokyo' AS DATE) AS day, total
    FROM ord WHERE status NOT IN ('cancelled', 'refunded') AND currency = 'JPY'
),
per_customer AS (
    SELECT ckey, MIN(day) AS first_day, MAX(day) AS last_day, COUNT(*) AS orders, COUNT(DISTINCT day) AS days,
           SUM(total) AS spend
    FROM eligible GROUP BY ckey
),
gaps AS (
    SELECT ckey, day - LAG(day) OVER (PARTITION BY ckey ORDER BY day) AS gap
    FROM (SELECT DISTINCT ckey, day FROM eligible)
),
medians AS (SELECT ckey, median(gap) AS median_gap FROM gaps WHERE gap IS NOT NULL GROUP BY ckey),
category_spend AS (
    SELECT e.ckey, p.category_id, SUM(l.amount) AS amount
    FROM eligible e JOIN line l ON l.order_id = e.order_id JOIN product p ON p.id = l.product_id
    GROUP BY e.ckey, p.category_id
),
favourites AS (
    SELECT ckey, MAX(CASE WHEN rn = 1 THEN category_id END) AS c1, MAX(CASE WHEN rn = 2 THEN category_id END) AS c2,
           MAX(CASE WHEN rn = 3 THEN category_id END) AS c3
    FROM (SELECT ckey, category_id, ROW_NUMBER() OVER (PARTITION BY ckey ORDER BY amount DESC, category_id) AS rn
          FROM category_spend) WHERE rn <= 3 GROUP BY ckey
)
SELECT c.ckey AS company_id, c.first_day, c.last_day, c.orders, c.days, c.spend, ROUND(c.spend / c.orders, 0) AS aov,
       CASE WHEN c.days > 1 THEN (c.last_day - c.first_day) / (c.days - 1) END AS average_interval,
       m.median_gap, c.last_day + CAST(floor(m.median_gap + 0.5) AS INTEGER) AS predicted, f.c1, f.c2, f.c3
FROM per_customer c LEFT JOIN medians m USING (ckey) LEFT JOIN favourites f USING (ckey)
"""


def duckdb_grid_sql(today: str) -> str:
    """The R×F grid in DuckDB with the same default boundaries as Tokui's."""
    rules = default_rules(CustomerLevel.COMPANY)
    recency = " ".join(
        f"WHEN last_day >= DATE '{today}' - {days} THEN {5 - index}" for index, days in enumerate(rules.recency_bounds)
    )
    frequency = " ".join(
        f"WHEN orders >= {bound} THEN {rank}" for rank, bound in reversed(list(enumerate(rules.frequency_bounds, 2)))
    )
    return f"""
        SELECT r, f, COUNT(*) AS customers, SUM(spend) AS revenue FROM (
            SELECT spend, CASE {recency} ELSE 1 END AS r, CASE {frequency} ELSE 1 END AS f FROM stats
        ) GROUP BY r, f ORDER BY r, f
    """


def timed(action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def incremental(company_ids: list[int]) -> float:
    """1,000 new orders (one line each) for 1,000 customers with their facts (not timed), then the refresh."""
    product = Product.objects.filter(source="bench").values_list("pk", "sku").first()
    assert product is not None
    placed = timezone.now()
    with transaction.atomic():
        orders = Order.objects.bulk_create(
            Order(
                source="bench-new",
                external_id=f"N-{cid}",
                company_id=cid,
                placed_at=placed,
                currency="JPY",
                subtotal=Decimal(5000),
                total=Decimal(5000),
            )
            for cid in company_ids
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=o,
                line_no=1,
                product_id=product[0],
                sku=product[1],
                product_name="x",
                quantity=1,
                unit_price=Decimal(5000),
                amount=Decimal(5000),
            )
            for o in orders
        )
        events = Event.objects.bulk_create(
            Event(
                type=EventType.ORDER_PLACED,
                occurred_at=placed,
                company_id=o.company_id,
                properties={},
                dispatched_at=placed,
            )
            for o in orders
        )
    seconds, _count = timed(lambda: stats_refresh_for_facts(event_ids=[e.pk for e in events]))
    return float(seconds)


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database={connection.vendor}")
    print(f"customers={CUSTOMERS} lines_per_customer={LINES_PER_CUSTOMER} products={PRODUCTS} categories={CATEGORIES}")
    db = duckdb.connect()
    db.execute(f"SET threads = {os.cpu_count() or 2}")
    start = time.perf_counter()
    bases = _bases()
    selects = generate(db, bases)
    orders, lines = db.execute("SELECT (SELECT COUNT(*) FROM ord), (SELECT COUNT(*) FROM line)").fetchone() or (0, 0)
    print(f"orders={orders} order_lines={lines} generate_seconds={time.perf_counter() - start:.1f}")
    if bases is None:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            if connection.vendor == "postgresql":
                load_postgresql(db, selects, Path(folder))
            else:
                load_sqlite(db, selects)
        print(f"load_seconds={time.perf_counter() - start:.1f}")
    else:
        print("load_seconds=reused")

    # TOKUI_BENCH_REPEAT runs of the full recompute back to back (the first may find the rows outside the cache).
    runs = [timed(stats_recompute_all) for _ in range(max(1, int(os.environ.get("TOKUI_BENCH_REPEAT", "1"))))]
    seconds = sorted(run for run, _ in runs)
    recompute, customers = seconds[(len(seconds) - 1) // 2], runs[-1][1]
    each = " ".join(f"{run:.2f}" for run, _ in runs)
    print(f"full_recompute_seconds={recompute:.2f} full_recompute_runs={each} customers_with_stats={customers}")
    grid_seconds, grid = timed(lambda: rfm_grid(level=CustomerLevel.COMPANY))
    print(f"rfm_grid_seconds={grid_seconds:.2f} grid_customers={grid.customers}")
    print(f"stats_plus_rfm_seconds={recompute + grid_seconds:.2f}")
    RfmSettings.objects.update_or_create(
        level=CustomerLevel.COMPANY,
        defaults={
            "recency_method": RankMethod.QUANTILE,
            "frequency_method": RankMethod.QUANTILE,
            "monetary_method": RankMethod.QUANTILE,
            "frequency_bounds": [3, 6, 12, 24],
            "monetary_bounds": ["100000", "300000", "1000000", "3000000"],
        },
    )
    quintile_seconds, _grid = timed(lambda: rfm_grid(level=CustomerLevel.COMPANY))
    print(f"rfm_grid_quintile_seconds={quintile_seconds:.2f}")
    RfmSettings.objects.filter(level=CustomerLevel.COMPANY).delete()
    snapshot_seconds, written = timed(
        lambda: rfm_snapshot_take(level=CustomerLevel.COMPANY, month=local_today(), as_of=local_today())
    )
    print(f"rfm_snapshot_seconds={snapshot_seconds:.2f} snapshot_rows={written}")

    company_ids = list(
        CustomerStats.objects.filter(company_id__isnull=False)
        .order_by("?")
        .values_list("company_id", flat=True)[:INCREMENTAL_ORDERS]
    )
    print(f"incremental_seconds={incremental(company_ids):.3f} incremental_orders={len(company_ids)}")

    db.execute("SET TimeZone = 'Asia/Tokyo'")
    duck_stats, _ = timed(lambda: db.execute(DUCKDB_STATS))
    duck_grid, rows = timed(lambda: db.execute(duckdb_grid_sql(local_today().isoformat())).fetchall())
    duck_total = duck_stats + duck_grid
    print(f"duckdb_stats_seconds={duck_stats:.2f} duckdb_grid_seconds={duck_grid:.3f} duckdb_seconds={duck_total:.2f}")
    print(f"ratio_to_duckdb={(recompute + grid_seconds) / duck_total:.1f}")
    duck_customers = sum(row[2] for row in rows)
    assert duck_customers == grid.customers, (duck_customers, grid.customers)
    print(f"duckdb_grid_customers={duck_customers} same_customers=true")


if __name__ == "__main__":
    main()
