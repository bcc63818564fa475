"""Sales facts: the narrow copies of counted orders and lines that the sales analysis and the rankings read.

A report over a year compared with the year before reads every order of two years; from the raw tables that
means converting each ``placed_at`` to the site zone, joining the lines for the units and the orders for the
lines' filters — 20 to 60 seconds at 3 million orders (ADR 0015). These tables hold each counted order (and each
of its lines) once, with its site-zone day, channel, currency, customer and ``buyer`` key already worked out.

They are kept current three ways, all writing the same rows with the same SQL:

- the order facts (placed, cancelled) refresh the orders they name, right after commit (``sales_facts_refresh``);
- a report first reads the orders newer than the watermark, which catches imports and history loaded without
  facts (``sales_facts_catch_up``: one index lookup when nothing is new);
- the nightly run rebuilds both tables whole (``sales_facts_rebuild``), which also catches orders edited in place
  without a fact (a changed total or lines from an import).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Max
from django.utils import timezone

from tokui.analytics.basket_packs import basket_packs_clear
from tokui.analytics.category_facts import (
    affected_orders,
    categories_delete,
    categories_insert,
    categories_rewrite,
    moved_products,
    products_record,
    products_recorded_sql,
    since_where,
)
from tokui.analytics.customer_product_sums import customer_products_rebuild_sql
from tokui.analytics.customer_sums import customer_records_add, customer_records_rebuild_sql, customers_catch_up
from tokui.analytics.fact_inserts import BUYER, buyers_where, day_sql, lines_insert, orders_insert, placeholders
from tokui.analytics.line_chains import buyers_with_lines, line_chains_fix
from tokui.analytics.models import (
    SalesCategoryDay,
    SalesCategoryFact,
    SalesCategoryProduct,
    SalesCustomerCategoryMonth,
    SalesCustomerDay,
    SalesCustomerProductMonth,
    SalesCustomerRecord,
    SalesFactsState,
    SalesLineFact,
    SalesOrderDay,
    SalesOrderFact,
)
from tokui.analytics.product_channel_sums import channel_sums_rebuild_sql
from tokui.analytics.product_sums import product_sums_give, product_sums_rebuild_sql, product_sums_take
from tokui.analytics.sales_days import (
    category_days_rebuild_sql,
    category_deltas_apply,
    category_deltas_begin,
    customer_categories_rebuild_sql,
    customer_days_rebuild_sql,
    order_days_add,
    order_days_rebuild_sql,
    order_facts_delete,
)
from tokui.analytics.sales_models import (
    SalesProductChannelMonth,
    SalesProductChannelTotal,
    SalesProductDay,
    SalesProductMonth,
    SalesProductTotal,
)
from tokui.analytics.table_swap import rebuild_beside
from tokui.commerce.enums import NON_REVENUE_STATUSES
from tokui.commerce.models import Order

# Ids named per statement: well under SQLite's limit of bound parameters.
_CHUNK = 500
_ATTEMPTS = 3
# Every table the rebuild writes (the category facts are derived from the line facts and the products' categories).
_TABLES = (
    SalesOrderFact._meta.db_table,
    SalesLineFact._meta.db_table,
    SalesCategoryFact._meta.db_table,
    SalesCategoryDay._meta.db_table,
    SalesOrderDay._meta.db_table,
    SalesCategoryProduct._meta.db_table,
    SalesProductDay._meta.db_table,
    SalesProductMonth._meta.db_table,
    SalesProductTotal._meta.db_table,
    SalesProductChannelMonth._meta.db_table,
    SalesProductChannelTotal._meta.db_table,
    SalesCustomerRecord._meta.db_table,
    SalesCustomerDay._meta.db_table,
    SalesCustomerCategoryMonth._meta.db_table,
    SalesCustomerProductMonth._meta.db_table,
)
# More new orders than this (a bulk load without facts) are read by a full rebuild instead, in the background.
CATCH_UP_LIMIT = 50_000
# A queued rebuild that has not finished after this long (a worker was stopped) may be queued again.
REBUILD_QUEUE_STALE = dt.timedelta(hours=2)


def _write(orders_where: str, params: Sequence[Any]) -> int:
    """Replace the facts of the orders matching ``orders_where`` (on ``o.id``) and the chains of their buyers;
    returns the order facts written (these orders' and the later ones of their buyers)."""
    quote = connection.ops.quote_name
    order_facts, line_facts = quote(SalesOrderFact._meta.db_table), quote(SalesLineFact._meta.db_table)
    on_facts = orders_where.replace("o.id", "order_id")
    with connection.cursor() as cursor:
        # Every buyer whose chains change (the one an order had, and the one it has now), and from which day: an
        # order changes only its buyer's chains after it, so the facts before the earliest old or new day of these
        # orders keep every column and stay as they are (ADR 0024).
        since: dict[int, Any] = {}
        _earliest(
            cursor,
            f"SELECT buyer, MIN(day) FROM {order_facts} WHERE buyer IS NOT NULL AND ({on_facts}) GROUP BY buyer",
            params,
            since,
        )
        day, day_params = day_sql()
        _earliest(
            cursor,
            f"SELECT {BUYER}, MIN({day}) FROM {quote(Order._meta.db_table)} o WHERE ({orders_where}) GROUP BY {BUYER}",
            [*day_params, *params],
            since,
        )
        # The customer day sums add and take each order fact under its buyer's recorded values (ADR 0045).
        customer_records_add(
            cursor, f"SELECT {BUYER} AS buyer FROM {quote(Order._meta.db_table)} o WHERE {orders_where}", params
        )
        # The product sums lose these buyers' (order, product) rows from their day on, and gain them back once the
        # line facts are rewritten (product_sums).
        product_sums_take(cursor, since=since, orders=(on_facts, params))
        cursor.execute(f"DELETE FROM {line_facts} WHERE {on_facts}", params)
        ordered = sorted(since)
        # The new lines carry their chains, going on from their buyers' earlier lines; the buyers with other lines
        # from their day on have those chains set again below (a new order's buyer has none: no second write).
        rechained = buyers_with_lines(cursor, since=since, buyers=ordered)
        cursor.execute(*lines_insert(orders_where, params, since=since))
        cursor.execute(f"SELECT DISTINCT order_id FROM {line_facts} WHERE buyer IS NULL AND ({on_facts})", params)
        buyerless = [int(row[0]) for row in cursor.fetchall()]
        # The category sums gain what the category facts' rewrite changed, once, at the end (ADR 0048).
        category_deltas_begin(cursor)
        categories_delete(cursor, on_facts, params)
        # The day sums lose each order fact before it is deleted and gain it once written (sales_days).
        order_facts_delete(cursor, on_facts, params)
        cursor.execute(*orders_insert(f"({orders_where}) AND o.company_id IS NULL AND o.contact_id IS NULL", params))
        written = max(int(cursor.rowcount), 0)
        order_days_add(cursor, f"buyer IS NULL AND ({on_facts})", params, sign=1)
        for chunk in (ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK)):
            later = since_where(since, chunk)
            order_facts_delete(cursor, *later)
            # Only the rows from each buyer's day on are worked out, going on from the rows before it (ADR 38).
            cursor.execute(*orders_insert(*buyers_where(chunk), after=(chunk, later)))
            written += max(int(cursor.rowcount), 0)
            order_days_add(cursor, *later, sign=1)
            # The product chains of their lines from the same day on, before the product sums read them.
            line_chains_fix(cursor, since=since, buyers=[buyer for buyer in chunk if buyer in rechained])
        # The category chains of the same buyers, from the line and order facts just written.
        categories_rewrite(cursor, buyers=ordered, buyerless_orders=buyerless, since=since)
        category_deltas_apply(cursor)
        product_sums_give(cursor, since=since, orders=(on_facts, params))
    return written


def _earliest(cursor: CursorWrapper, sql: str, params: Sequence[Any], since: dict[int, Any]) -> None:
    """Lower ``since`` (buyer → day) to the earliest day of each buyer that ``sql`` returns (buyer, day)."""
    cursor.execute(sql, list(params))
    for buyer, day in cursor.fetchall():
        if buyer is not None and (int(buyer) not in since or day < since[int(buyer)]):
            since[int(buyer)] = day


def _with_retries(write: Iterable[tuple[str, Sequence[Any]]]) -> int:
    parts = list(write)
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                _no_jit()
                return sum(_write(where, params) for where, params in parts)
        except IntegrityError:
            # Another worker wrote one of these orders between our delete and insert: do it again.
            if attempt == _ATTEMPTS:
                raise
            attempt += 1


def _no_jit() -> None:
    """Small writes on PostgreSQL without JIT: it compiles each grouped statement for ~0.1 s, more than a batch's
    rows take to read (ADR 0024)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def sales_facts_refresh(*, order_ids: Iterable[int]) -> int:
    """Recompute the facts of these orders and their buyers' other orders (a cancelled or deleted order loses its
    facts); returns the order facts written."""
    ids = sorted(set(order_ids))
    chunks = [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]
    return _with_retries((f"o.id IN ({placeholders(chunk)})", chunk) for chunk in chunks)


def sales_facts_refresh_for_facts(*, event_ids: Sequence[int]) -> int:
    """The fact consumer: refresh the orders named by order facts (placed or cancelled)."""
    from tokui.tracking.selectors import events_matching

    ids = set()
    for properties in events_matching().filter(pk__in=list(event_ids)).values_list("properties", flat=True):
        order_id = (properties or {}).get("order_id")
        if isinstance(order_id, int):
            ids.add(order_id)
    return sales_facts_refresh(order_ids=ids)


def _state() -> SalesFactsState:
    """The state row, locked until the end of the transaction (created on first use)."""
    try:
        with transaction.atomic():
            SalesFactsState.objects.get_or_create(pk=1)
    except IntegrityError:  # created by another process meanwhile
        pass
    return SalesFactsState.objects.select_for_update().get(pk=1)


def _latest_order_id() -> int:
    return int(Order.objects.aggregate(latest=Max("id"))["latest"] or 0)


def sales_facts_catch_up() -> int:
    """Write the facts of counted orders newer than the watermark that have none yet (loaded without a fact), and
    re-derive the category facts of products moved to another category; returns the order facts written.

    Costs one index lookup and one join of the catalogue with its record when nothing is new, and one indexed read
    of the new ids when the order facts already wrote them. Runs before every report, so a report never misses a
    new order or a moved product.
    """
    state = SalesFactsState.objects.filter(pk=1).values_list("last_order_id", "customers_checked_at").first()
    known, checked = state if state is not None else (None, None)
    written = _orders_catch_up(known)
    _categories_catch_up()
    customers_catch_up(checked=checked, lock=_state, queue_rebuild=_queue_rebuild)
    return written


def _orders_catch_up(known: int | None) -> int:
    latest = _latest_order_id()
    if known is not None and known >= latest:
        return 0
    with transaction.atomic():
        state = _state()
        if state.last_order_id >= latest:
            return 0
        since = state.last_order_id
        written = SalesOrderFact.objects.filter(order_id__gt=since, order_id__lte=latest).values("order_id")
        missing = list(
            Order.objects.filter(id__gt=since, id__lte=latest)
            .exclude(status__in=NON_REVENUE_STATUSES)
            .exclude(id__in=written)
            .values_list("id", flat=True)
        )
        if len(missing) > CATCH_UP_LIMIT:
            # A bulk load: rebuilding everything is faster than following each buyer's chain. It runs in the
            # worker; the page that noticed answers now, from the facts as they are, and says so.
            _queue_rebuild(state)
            return 0
        count = sales_facts_refresh(order_ids=missing)
        state.last_order_id = latest
        state.save(update_fields=["last_order_id"])
    return count


def _categories_catch_up() -> int:
    """Re-derive the category facts of the buyers of every product whose category changed since they were
    written (ADR 0024); returns the products re-derived. One join of the catalogue with its record when none did."""
    if not moved_products():
        return 0
    with transaction.atomic():
        state = _state()  # one writer at a time; a second report waits, then finds nothing left
        if state.rebuild_queued_at is not None:
            return 0  # the queued rebuild re-derives everything
        moved = moved_products()
        _no_jit()
        with connection.cursor() as cursor:
            buyers, buyerless = affected_orders(cursor, moved)
            orders = SalesOrderFact.objects.filter(buyer__in=sorted(buyers)).count() if buyers else 0
            if orders + len(buyerless) > CATCH_UP_LIMIT:
                # A catalogue reorganised at once: rebuilt in the worker; the page says the figures are pending.
                _queue_rebuild(state)
                return 0
            category_deltas_begin(cursor)
            categories_rewrite(cursor, buyers=buyers, buyerless_orders=buyerless)
            category_deltas_apply(cursor)
            products_record(cursor, moved)
    return len(moved)


def _queue_rebuild(state: SalesFactsState) -> None:
    now = timezone.now()
    if state.rebuild_queued_at is not None and now - state.rebuild_queued_at < REBUILD_QUEUE_STALE:
        return
    state.rebuild_queued_at = now
    state.save(update_fields=["rebuild_queued_at"])
    from tokui.analytics.tasks import sales_facts_rebuild_task  # the task module imports this one, not the reverse

    transaction.on_commit(sales_facts_rebuild_task.enqueue)


def sales_facts_pending() -> bool:
    """Whether a rebuild queued for a bulk load is still to come (reports miss those orders until then)."""
    return SalesFactsState.objects.filter(pk=1, rebuild_queued_at__isnull=False).exists()


def sales_facts_rebuild() -> int:
    """Rebuild both fact tables from every order (the nightly run); returns the order facts written.

    Gives the same rows as the incremental writes (the same SQL over every order). On PostgreSQL the new tables are
    built beside the live ones and swapped in (``table_swap``): reports read the old facts meanwhile, and the order
    facts that arrived during the build are applied again after the swap. Elsewhere (SQLite, or inside a caller's
    transaction) the tables are emptied and refilled in one transaction.
    """
    started, started_at = time.perf_counter(), timezone.now()
    latest = _latest_order_id()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        written = _rebuild_beside(latest)
    else:
        written = _rebuild_in_place(latest)
    with transaction.atomic():
        state = _state()
        state.last_order_id = latest
        state.rebuilt_at = timezone.now()
        state.rebuild_seconds = time.perf_counter() - started
        state.rebuild_queued_at = None
        # Every buyer was recorded anew during the build: the customers saved since it began are checked again.
        state.customers_checked_at = started_at
        state.save()
    _apply_facts_since(started_at)
    sales_facts_catch_up()  # orders newer than ``latest`` that came without a fact
    return written


def _rebuild_in_place(latest: int) -> int:
    with transaction.atomic():
        _state()  # one rebuild at a time
        with connection.cursor() as cursor:
            for table in _TABLES:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
            # The products' categories first: a product moved during the build is re-derived by the next catch-up.
            cursor.execute(products_recorded_sql())
            cursor.execute(*lines_insert("o.id <= %s", [latest]))
            cursor.execute(*orders_insert("o.id <= %s", [latest]))
            written = max(int(cursor.rowcount), 0)
            cursor.execute(*categories_insert("1 = 1", []))
            cursor.execute(*category_days_rebuild_sql())
            cursor.execute(*order_days_rebuild_sql())
            cursor.execute(*customer_records_rebuild_sql())
            cursor.execute(*customer_days_rebuild_sql())
            cursor.execute(*customer_categories_rebuild_sql())
            cursor.execute(*customer_products_rebuild_sql())
            for statement in (*product_sums_rebuild_sql(), *channel_sums_rebuild_sql()):
                cursor.execute(*statement)
            return written


def _rebuild_beside(latest: int) -> int:
    orders_table, lines_table = SalesOrderFact._meta.db_table, SalesLineFact._meta.db_table
    categories_table, products_table = SalesCategoryFact._meta.db_table, SalesCategoryProduct._meta.db_table
    days_table, order_days_table = SalesCategoryDay._meta.db_table, SalesOrderDay._meta.db_table
    written = 0

    def fill(twins: dict[str, str]) -> None:
        nonlocal written
        with connection.cursor() as cursor:
            # The join and the per-order sums hash millions of rows: keep that off the disk.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(products_recorded_sql(table=twins[products_table]))
            cursor.execute(*lines_insert("o.id <= %s", [latest], table=twins[lines_table]))
            cursor.execute(*orders_insert("o.id <= %s", [latest], table=twins[orders_table]))
            written = max(int(cursor.rowcount), 0)
            cursor.execute(*categories_insert("1 = 1", [], table=twins[categories_table], lines=twins[lines_table]))
            cursor.execute(*category_days_rebuild_sql(table=twins[days_table], facts=twins[categories_table]))
            cursor.execute(*order_days_rebuild_sql(table=twins[order_days_table], facts=twins[orders_table]))
            records = twins[SalesCustomerRecord._meta.db_table]
            cursor.execute(*customer_records_rebuild_sql(table=records, facts=twins[orders_table]))
            customer_days = twins[SalesCustomerDay._meta.db_table]
            cursor.execute(*customer_days_rebuild_sql(table=customer_days, facts=twins[orders_table], records=records))
            cursor.execute(
                *customer_categories_rebuild_sql(
                    table=twins[SalesCustomerCategoryMonth._meta.db_table],
                    facts=twins[categories_table],
                    records=records,
                )
            )
            customer_products = twins[SalesCustomerProductMonth._meta.db_table]
            cursor.execute(
                *customer_products_rebuild_sql(table=customer_products, lines=twins[lines_table], records=records)
            )
            # The day sums group 10M lines into ~6.5M (day, product, previous month) keys: hashed, they go to disk.
            # Set when the sums ran a window per buyer and product over (order, product) groups (105 → 58 s then);
            # since ADR 41 they read the lines' stored chains, and sorting has not been measured against hashing.
            cursor.execute("SET LOCAL enable_hashagg = off")
            for statement in product_sums_rebuild_sql(
                days=twins[SalesProductDay._meta.db_table],
                months=twins[SalesProductMonth._meta.db_table],
                totals=twins[SalesProductTotal._meta.db_table],
                lines=twins[lines_table],
            ):
                cursor.execute(*statement)
            cursor.execute("SET LOCAL enable_hashagg = on")
            # The channel sums group the lines into 2.9M keys: hashed 38 + 3 s here, sorted 62 + 8 s (ADR 44).
            for statement in channel_sums_rebuild_sql(
                months=twins[SalesProductChannelMonth._meta.db_table],
                totals=twins[SalesProductChannelTotal._meta.db_table],
                lines=twins[lines_table],
            ):
                cursor.execute(*statement)

    # The fact tables are read by index alone for periods from mid-month (ADR 42), and one customer value's buyers
    # from the records' index alone (ADR 46).
    records_table = SalesCustomerRecord._meta.db_table
    # The basket's day packs were made of the old line facts: emptied as the new ones are swapped in (ADR 0053).
    rebuild_beside(
        list(_TABLES),
        fill,
        vacuum=(orders_table, lines_table, categories_table, records_table),
        on_swap=basket_packs_clear,
    )
    return written


def _apply_facts_since(started_at: dt.datetime) -> int:
    """Refresh the orders named by order facts received since ``started_at``: written meanwhile into the tables
    the swap replaced."""
    from tokui.tracking.enums import EventType
    from tokui.tracking.selectors import event_ids_received_since

    ids = event_ids_received_since(types=[EventType.ORDER_PLACED, EventType.ORDER_CANCELLED], since=started_at)
    return sales_facts_refresh_for_facts(event_ids=ids) if ids else 0


@contextmanager
def report_reads() -> Iterator[None]:
    """One transaction for a report's reads; on PostgreSQL with room to sort in memory and without JIT.

    The line figures sort millions of rows for their distinct counts (to disk with the default 4 MB), and JIT
    compiles each big query again for 0.1-0.2 s; on 3M orders this halves the order pages (ADR 0015).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '128MB'")
                cursor.execute("SET LOCAL jit = off")
        yield
