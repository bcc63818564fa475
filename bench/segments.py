"""Segments benchmark: count time of 10 typical rules, full refresh, refresh for new facts, event → membership delay.

Prints name=value lines with the data size. Run through `make bench` (PostgreSQL when reachable); `python
bench/segments.py` works too (it migrates the configured database first).

Data (not timed): the orders of bench/analytics_stats.py (TOKUI_BENCH_CUSTOMERS companies, 1,000,000 by default,
with TOKUI_BENCH_LINES_PER_CUSTOMER order lines each, 10 → 10,000,000 lines) and their stats, companies given
prefectures, industries, sizes and tags, a buyer with mail consent for a third of them, 5% of products new, and
TOKUI_BENCH_EVENTS facts (20,000,000) over the last 180 days: product / page / category views and mail facts with
template and campaign ids. DuckDB generates the rows; PostgreSQL loads them with COPY (the event indexes are
dropped while loading and rebuilt after, as a bulk load would). What is timed:
- count_<rule>_seconds: ``rule_matches(...).count()`` of each of the 10 typical rules below (target ≤ 1 s), the first
  run and warm_seconds, the best of two more (as the builder counts again at every change of the rule);
- first_fill_seconds: filling one segment from empty (60,000 members at 1M customers: member rows and one
  segment_entered fact each, the facts appended to the 20M-row timeline); the other nine are filled by SQL, untimed;
- full_refresh_seconds: ``segments_refresh_all`` over the 10 segments, current (the 15-minute periodic job);
- facts_refresh_seconds: the fact consumer for one batch of page views of 10,000 companies (target < 5 s);
- event_to_membership_p95_ms: one product view written and dispatched to its consumers in-process until the
  customer's membership is written, 100 times (the worker's queue pick-up comes on top; target ≤ 5 s).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django.setup()
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.utils import timezone  # noqa: E402

import analytics_stats  # noqa: E402
from tokui.analytics.services import stats_recompute_all  # noqa: E402
from tokui.catalog.models import Category, Product  # noqa: E402
from tokui.commerce.models import OrderLine  # noqa: E402
from tokui.customers.models import Company, Contact, Tag  # noqa: E402
from tokui.segments.compiler import rule_matches  # noqa: E402
from tokui.segments.enums import Subject  # noqa: E402
from tokui.segments.models import Segment, SegmentMember  # noqa: E402
from tokui.segments.services import (  # noqa: E402
    segment_create,
    segment_refresh,
    segments_refresh_all,
    segments_refresh_for_facts,
)
from tokui.tracking.enums import EventType  # noqa: E402
from tokui.tracking.models import Event  # noqa: E402
from tokui.tracking.services import event_record, events_dispatch  # noqa: E402

EVENTS = int(os.environ.get("TOKUI_BENCH_EVENTS", "20000000"))
FACT_CUSTOMERS = 10_000
DELAY_SAMPLES = 100
FIRST_FILL = "loyal_by_figures"
REUSE = os.environ.get("TOKUI_BENCH_REUSE") == "1"
"""Reuse the data a previous run loaded into the same database (the load takes a quarter of an hour)."""


def cond(type: str, **config: object) -> dict[str, object]:
    return {"kind": "condition", "type": type, "config": config}


def rule(*children: dict[str, object], match: str = "all", negate: bool = False) -> dict[str, object]:
    return {"version": 1, "root": {"kind": "group", "match": match, "negate": negate, "children": list(children)}}


def typical_rules(product_id: int, category_id: int, tag_id: int) -> dict[str, dict[str, object]]:
    """Ten rules a marketer of a B2B wholesaler builds first."""
    days = lambda n: {"kind": "last_days", "days": n}  # noqa: E731
    return {
        "tokyo_osaka_large": rule(
            cond("company_field", field="prefecture", op="in", value=["13", "27"]),
            cond("company_field", field="size", op="in", value=["large", "medium"]),
        ),
        "loyal_by_figures": rule(
            cond("order_stats", metric="order_count", op="gte", value=4),
            cond("order_stats", metric="total_spend", op="gte", value=200000),
        ),
        "dormant_90_days": rule(cond("order_stats", metric="last_order_on", op="not_within_last_days", value=90)),
        "bought_category_90_days": rule(cond("purchased", categories=[category_id], period=days(90))),
        "new_products_3_views_no_order_60": rule(
            cond("viewed", target="new_product", min_count=3, period={"kind": "this_week"}),
            cond("purchased", op="not_bought", period=days(60)),
        ),
        "viewed_product_30_days": rule(cond("viewed", target="product", products=[product_id], period=days(30))),
        "no_mail_opened_30_days": rule(cond("message", op="did_not", action="mail_opened", period=days(30))),
        "mail_reachable_tagged": rule(
            cond("mail_reachable", op="is_true"), cond("tags", entity="company", op="any", tags=[tag_id])
        ),
        "bought_twice_20000_yen_180": rule(cond("purchased", period=days(180), min_count=2, min_amount=20000)),
        "category_interest_not_bought": rule(
            cond("viewed", target="category", categories=[category_id], min_count=2, period=days(14)),
            rule(
                cond("company_field", field="industry", op="in", value=["select_shop", "apparel_retail"]),
                cond("tags", entity="company", op="any", tags=[tag_id]),
                match="any",
            )["root"],
            cond("purchased", op="not_bought", categories=[category_id], period=days(30)),
        ),
    }


def load_events(db: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """20M facts through COPY, with the event indexes rebuilt after the load."""
    company0 = int(Company.objects.filter(source="bench").aggregate(m=Min("pk"))["m"]) - 1
    customers = Company.objects.filter(source="bench").count()
    product0 = int(Product.objects.filter(source="bench").aggregate(m=Min("pk"))["m"]) - 1
    category0 = int(Category.objects.filter(source="bench").aggregate(m=Min("pk"))["m"]) - 1
    products = Product.objects.filter(source="bench").count()
    event0 = int(Event.objects.aggregate(m=Max("pk"))["m"] or 0)
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S+00")
    db.execute(f"""
        CREATE OR REPLACE TABLE ev AS
        SELECT {event0} + i AS id, {company0} + 1 + CAST(hash(i * 7) % {customers} AS BIGINT) AS company_id,
               CAST(hash(i * 3) % 100 AS INTEGER) AS h,
               {product0} + 1 + CAST(hash(i * 17) % {products} AS BIGINT) AS pid,
               TIMESTAMPTZ '{now}' - to_seconds(CAST(hash(i * 13) % (180 * 86400) AS BIGINT)) AS occurred_at, i
        FROM range(1, {EVENTS} + 1) t(i)
    """)
    select = f"""
        SELECT id,
               CASE WHEN h < 60 THEN 'product_viewed' WHEN h < 80 THEN 'page_viewed' WHEN h < 90 THEN 'category_viewed'
                    WHEN h < 95 THEN 'mail_sent' WHEN h < 98 THEN 'mail_opened' ELSE 'mail_clicked' END AS type,
               occurred_at, occurred_at AS received_at, NULL AS contact_id, company_id, '' AS anonymous_id,
               CASE WHEN h < 60 THEN '{{"sku": "BENCH-' || pid || '", "category_id": '
                                     || ({category0} + 1 + (pid - {product0}) % 50) || '}}'
                    WHEN h < 80 THEN '{{"url": "https://shop.example.jp/p/' || pid || '"}}'
                    WHEN h < 90 THEN '{{"category_id": ' || ({category0} + 1 + (pid - {product0}) % 50) || '}}'
                    ELSE '{{"template_id": "' || (i % 20) || '", "campaign_id": "c' || (i % 5) || '"}}' END
                   AS properties,
               'bench' AS source, NULL AS idempotency_key, occurred_at AS dispatched_at
        FROM ev
    """
    path = folder / "events.csv"
    db.execute(f"COPY ({select}) TO '{path}' (HEADER true, NULLSTR '\\N')")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tracking_event'"
            " AND indexname NOT LIKE %s AND indexname <> 'event_source_idempotency_key'",
            ["%pkey"],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        columns = path.open(encoding="utf-8").readline().strip()
        copy_sql = f"COPY tracking_event ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true, NULL '\\N')"
        with cursor.copy(copy_sql) as copy, path.open("rb") as source:  # type: ignore[attr-defined]
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        path.unlink()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tracking_event', 'id'), (SELECT MAX(id) FROM tracking_event))"
        )
        cursor.execute("VACUUM ANALYZE tracking_event")


def enrich() -> tuple[int, int, int]:
    """Attributes, tags, buyers with consent and new products on the generated rows (plain SQL, not timed)."""
    tag = Tag.objects.create(name="展示会2026")
    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE customers_company SET prefecture = lpad(((id % 47) + 1)::text, 2, '0'),
                size = (ARRAY['micro', 'small', 'medium', 'large'])[(id % 4) + 1],
                industry = (ARRAY['apparel_retail', 'select_shop', 'department_store', 'online_shop', 'wholesale'])
                    [(id % 5) + 1]
            WHERE source = 'bench'
        """)
        cursor.execute(
            "INSERT INTO customers_company_tags (company_id, tag_id) SELECT id, %s FROM customers_company"
            " WHERE source = 'bench' AND id %% 10 = 0",
            [tag.pk],
        )
        cursor.execute("""
            INSERT INTO customers_contact (source, external_id, created_at, updated_at, company_id, name, name_kana,
                email, phone, department, title, prefecture, is_primary, custom_fields)
            SELECT 'bench', 'P-' || id, now(), now(), id, '担当' || id, '', 'buyer' || id || '@example.jp', '', '', '',
                '', true, '{}' FROM customers_company WHERE source = 'bench' AND id % 3 = 0
        """)
        cursor.execute("""
            INSERT INTO customers_consent (contact_id, channel, status, source, recorded_at)
            SELECT id, 'email', CASE WHEN id % 2 = 0 THEN 'granted' ELSE 'withdrawn' END, 'bench', now()
            FROM customers_contact WHERE source = 'bench'
        """)
        cursor.execute("UPDATE catalog_product SET is_new = (id % 20 = 0) WHERE source = 'bench'")
        tables = ("customers_company", "customers_company_tags", "customers_contact", "customers_consent")
        for table in (*tables, "catalog_product"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return picks()


def picks() -> tuple[int, int, int]:
    """The product, category and tag the typical rules name."""
    product = Product.objects.filter(source="bench", is_new=False).order_by("pk").values_list("pk", flat=True)[0]
    category = Category.objects.filter(source="bench").order_by("pk").values_list("pk", flat=True)[0]
    return product, category, Tag.objects.get(name="展示会2026").pk


def prefill(segment: Segment) -> None:
    """Members straight from the rule by SQL, without facts (not timed: the state after a first fill)."""
    sql, params = (
        rule_matches(rule=segment.rule, subject=Subject.COMPANY)
        .values_list("pk", flat=True)
        .order_by()
        .query.sql_with_params()
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO segments_segmentmember (segment_id, customer_id, entered_at) SELECT %s, s.pk, now()"
            f" FROM ({sql}) s",
            [segment.pk, *params],
        )
        cursor.execute(
            "UPDATE segments_segment SET member_count = (SELECT COUNT(*) FROM segments_segmentmember"
            " WHERE segment_id = %s), refreshed_at = now() WHERE id = %s",
            [segment.pk, segment.pk],
        )


def timed(action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database={connection.vendor}")
    if connection.vendor != "postgresql":
        print("skipped=segments benchmark needs PostgreSQL (COPY of 20M events)")
        return
    start = time.perf_counter()
    if REUSE and Company.objects.filter(source="bench").exists():
        product_id, category_id, tag_id = picks()
        Segment.objects.all().delete()
    else:
        db = duckdb.connect()
        db.execute(f"SET threads = {os.cpu_count() or 2}")
        selects = analytics_stats.generate(db)
        with tempfile.TemporaryDirectory() as folder:
            analytics_stats.load_postgresql(db, selects, Path(folder))
            load_events(db, Path(folder))
        product_id, category_id, tag_id = enrich()
        stats_recompute_all()
    print(
        f"customers={Company.objects.count()} contacts={Contact.objects.count()}"
        f" order_lines={OrderLine.objects.count()} events={Event.objects.count()}"
        f" load_seconds={time.perf_counter() - start:.1f}"
    )

    rules = typical_rules(product_id, category_id, tag_id)
    counts, warm_counts = [0.0], [0.0]
    for name, data in rules.items() if os.environ.get("TOKUI_BENCH_COUNTS", "1") == "1" else ():
        seconds, count = timed(lambda data=data: rule_matches(rule=data, subject=Subject.COMPANY).count())
        # The builder counts again at every change of the rule: the same count with the pages it read still cached
        # (the first run may find them evicted by whatever ran before).
        warm = min(timed(lambda data=data: rule_matches(rule=data, subject=Subject.COMPANY).count())[0] for _ in "ab")
        counts.append(seconds)
        warm_counts.append(warm)
        print(f"count_{name}_seconds={seconds:.3f} warm_seconds={warm:.3f} count_{name}={count}")
    print(f"count_max_seconds={max(counts):.3f} count_median_seconds={statistics.median(counts):.3f}")
    print(
        f"count_warm_max_seconds={max(warm_counts):.3f} count_warm_median_seconds={statistics.median(warm_counts):.3f}"
    )

    segments = {
        name: segment_create(name=name, subject=Subject.COMPANY, actor=None, rule=data) for name, data in rules.items()
    }
    fill, result = timed(lambda: segment_refresh(segment=segments[FIRST_FILL]))
    print(
        f"first_fill_seconds={fill:.2f} first_fill_members={result.entered}"
        f" facts_per_second={result.entered / fill:.0f}"
    )
    for name, segment in segments.items():
        if name != FIRST_FILL:
            prefill(segment)
    print(f"segments={len(segments)} members={SegmentMember.objects.count()}")
    full, _ = timed(segments_refresh_all)
    print(f"full_refresh_seconds={full:.2f}")

    # New facts of 10,000 companies: a product view each (written already, as ingest would), then the consumer.
    company_ids = list(
        Company.objects.filter(source="bench").order_by("?").values_list("pk", flat=True)[:FACT_CUSTOMERS]
    )
    new_sku = Product.objects.filter(is_new=True).values_list("sku", flat=True).first()
    now = timezone.now()
    with transaction.atomic():
        events = Event.objects.bulk_create(
            Event(
                type=EventType.PRODUCT_VIEWED,
                company_id=pk,
                occurred_at=now,
                properties={"sku": new_sku},
                source="bench",
                dispatched_at=now,
            )
            for pk in company_ids
        )
    facts, changes = timed(lambda: segments_refresh_for_facts(event_ids=[e.pk for e in events]))
    print(f"facts_refresh_seconds={facts:.2f} fact_customers={len(company_ids)} membership_changes={changes}")

    delays = []
    for pk in company_ids[:DELAY_SAMPLES]:
        start = time.perf_counter()
        event = event_record(type=EventType.PRODUCT_VIEWED, company_id=pk, properties={"sku": new_sku})
        events_dispatch(event_ids=[event.pk])
        delays.append((time.perf_counter() - start) * 1000)
    delays.sort()
    p95 = delays[int(len(delays) * 0.95) - 1]
    print(f"event_to_membership_p50_ms={statistics.median(delays):.0f} event_to_membership_p95_ms={p95:.0f}")
    print(f"segments={Segment.objects.count()}")


if __name__ == "__main__":
    main()
