"""Basket analysis (併売分析): products bought in the same order, with support, confidence and lift.

The pairs of a period and one product's partners are counted in arrays (``basket_counts``) from the counted
orders' lines; the nightly partner lists of every product are counted in the database. For a pair A, B over N
orders that contain any product in scope:

- support    = orders with A and B / N
- confidence = orders with A and B / orders with A      (A → B; and the same for B → A)
- lift       = support / (share of orders with A × share of orders with B); above 1, bought together more often
               than chance.

Cancelled and refunded orders are left out; lines without a known product are left out. A category limits the
products in scope (the category and its subcategories), so N is the orders with any product of that category.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from tokui.analytics.basket_counts import (
    BasketLines,
    PairCounts,
    basket_lines,
    pair_counts,
    pairs_at_least,
    ranked_pairs,
    scope_rows,
    scope_rows_in_halves,
    triple_counts,
)
from tokui.analytics.basket_packs import days_left, packed_lines, unpacked
from tokui.analytics.basket_partner_counts import partner_counts, top_partners
from tokui.analytics.models import BasketDayPack, SalesLineFact
from tokui.analytics.sales_facts import sales_facts_catch_up
from tokui.catalog.models import Product
from tokui.catalog.selectors import category_with_descendants
from tokui.commerce.enums import NON_REVENUE_STATUSES
from tokui.commerce.models import Order, OrderLine
from tokui.core.time import local_today


@dataclass(frozen=True, slots=True)
class BasketPair:
    product_a_id: int
    product_b_id: int
    orders_together: int
    orders_a: int
    orders_b: int
    orders_total: int

    @property
    def support(self) -> float:
        return self.orders_together / self.orders_total

    @property
    def confidence_ab(self) -> float:
        return self.orders_together / self.orders_a

    @property
    def confidence_ba(self) -> float:
        return self.orders_together / self.orders_b

    @property
    def lift(self) -> float:
        return self.orders_together * self.orders_total / (self.orders_a * self.orders_b)


@dataclass(frozen=True, slots=True)
class BasketAnalysis:
    orders_total: int
    min_orders_together: int
    pairs: list[BasketPair]


@dataclass(frozen=True, slots=True)
class BoughtTogether:
    """A product bought in the same orders as the one asked about: ``confidence`` is target → this product."""

    product_id: int
    orders_together: int
    confidence: float
    lift: float


def _scope_sql(
    *, start: dt.datetime, end: dt.datetime, category_ids: Sequence[int] | None, distinct: bool = True
) -> tuple[str, list[Any]]:
    """SELECT DISTINCT order_id, product_id of the counted orders in [start, end), products in scope (with
    ``distinct=False`` an order's repeated product comes as often as its lines)."""
    line, order, product = (connection.ops.quote_name(m._meta.db_table) for m in (OrderLine, Order, Product))
    statuses = [str(status) for status in NON_REVENUE_STATUSES]
    sql = (
        f"SELECT {'DISTINCT ' if distinct else ''}l.order_id AS order_id, l.product_id AS product_id FROM {line} l "
        f"JOIN {order} o ON o.id = l.order_id "
        f"WHERE l.product_id IS NOT NULL AND o.placed_at >= %s AND o.placed_at < %s "
        f"AND o.status NOT IN ({', '.join(['%s'] * len(statuses))})"
    )
    # As the ORM would bind them: SQLite stores UTC text, and compares text, so an instant must be written in UTC.
    bounds = [connection.ops.adapt_datetimefield_value(value) for value in (start, end)]
    params: list[Any] = [*bounds, *statuses]
    if category_ids is not None:
        ids = list(category_ids) or [0]
        sql += f" AND l.product_id IN (SELECT id FROM {product} WHERE category_id IN ({', '.join(['%s'] * len(ids))}))"
        params += ids
    return sql, params


def _site_days(start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date] | None:
    """The site-zone days [first, after last) when ``start`` and ``end`` are both site-zone midnights (a period
    of whole days, as the screens ask for), else ``None``."""
    first, after = timezone.localtime(start), timezone.localtime(end)
    if first.time() != dt.time(0) or after.time() != dt.time(0):
        return None
    return first.date(), after.date()


def _facts_scope_sql(
    *,
    start_day: dt.date | None = None,
    end_day: dt.date | None = None,
    days: Sequence[dt.date] = (),
    category_ids: Sequence[int] | None,
) -> tuple[str, list[Any]]:
    """The (order, product) rows of the counted orders of these site-zone days ([start_day, end_day), or ``days``),
    from the sales line facts: the order's status and day are already on each row, so no join with the orders
    (half the time of the raw lines). The caller has caught the facts up (``sales_facts_catch_up``)."""
    facts, product = (connection.ops.quote_name(m._meta.db_table) for m in (SalesLineFact, Product))
    adapt = connection.ops.adapt_datefield_value
    sql = f"SELECT f.order_id AS order_id, f.product_id AS product_id FROM {facts} f WHERE f.product_id IS NOT NULL"
    params: list[Any]
    if start_day is not None and end_day is not None:
        sql += " AND f.day >= %s AND f.day < %s"
        params = [adapt(start_day), adapt(end_day)]
    else:  # PostgreSQL only (the packed days' gaps): an index read of each day, in the index's order
        sql += " AND f.day = ANY(%s::date[])"
        params = [list(days)]
    if category_ids is not None:
        ids = list(category_ids) or [0]
        sql += f" AND f.product_id IN (SELECT id FROM {product} WHERE category_id IN ({', '.join(['%s'] * len(ids))}))"
        params += ids
    return sql, params


@dataclass(frozen=True, slots=True)
class BasketScope:
    """The order lines of one period (and category) read once, for the pairs and the sets of one page."""

    start: dt.datetime
    end: dt.datetime
    category_id: int | None
    lines: BasketLines
    # The pairs counted at the lowest floor asked so far: a higher floor is a filter of them, not a new count.
    _pairs: list[PairCounts] = field(default_factory=list, compare=False, repr=False)

    def pairs(self, floor: int | Callable[[int], int]) -> PairCounts:
        """The pairs of these lines bought together in at least ``floor`` orders (or ``floor(orders in scope)``)."""
        floor = int(floor(self.lines.orders_total)) if callable(floor) else floor
        if self._pairs and self._pairs[0].floor <= floor:
            return pairs_at_least(self._pairs[0], floor)
        counts = pair_counts(self.lines, floor=floor)
        self._pairs[:] = [counts]
        return counts


def _packed_scope_rows(
    first_day: dt.date, after_day: dt.date, category_ids: Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The lines of [first_day, after_day) from the day packs and, for the days without one, the line facts, at one
    snapshot (ADR 0053); ``None`` where packs cover less than half the period (read as before, in two halves)."""
    if connection.vendor != "postgresql":
        return None
    past = (min(after_day, local_today()) - first_day).days
    if past <= 0 or BasketDayPack.objects.filter(day__gte=first_day, day__lt=after_day).count() * 2 < past:
        return None
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:  # one snapshot for the packs and the lines beside them (a caller's transaction has its own)
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        packed, keys = packed_lines(cursor, first_day=first_day, after_day=after_day)
        orders, products = unpacked(keys)
        if category_ids is not None:
            ids = Product.objects.filter(category_id__in=category_ids).values_list("id", flat=True)
            kept = np.isin(products, np.fromiter(ids, dtype=np.int64))
            orders, products = orders[kept], products[kept]
        left = days_left(first_day, after_day, packed)
        if not left:
            return orders, products
        live_orders, live_products = scope_rows(*_facts_scope_sql(days=left, category_ids=category_ids))
    return np.concatenate([orders, live_orders]), np.concatenate([products, live_products])


def basket_scope(*, start: dt.datetime, end: dt.datetime, category_id: int | None = None) -> BasketScope:
    """The counted orders' (order, product) lines placed in [start, end), products of ``category_id`` if given."""
    category_ids = sorted(category_with_descendants(category_id)) if category_id else None
    days = _site_days(start, end)
    if days is not None:
        sales_facts_catch_up()  # orders loaded without a fact are in the facts before they are read
        packed = _packed_scope_rows(days[0], days[1], category_ids)
        if packed is not None:
            return BasketScope(start=start, end=end, category_id=category_id, lines=basket_lines(*packed))
    # The period in two halves, read at once (``scope_rows_in_halves``).
    if days is not None and (days[1] - days[0]).days >= 2:
        middle = days[0] + dt.timedelta(days=(days[1] - days[0]).days // 2)
        orders, products = scope_rows_in_halves(
            _facts_scope_sql(start_day=days[0], end_day=middle, category_ids=category_ids),
            _facts_scope_sql(start_day=middle, end_day=days[1], category_ids=category_ids),
        )
    elif days is not None:
        orders, products = scope_rows(*_facts_scope_sql(start_day=days[0], end_day=days[1], category_ids=category_ids))
    else:
        middle_instant = start + (end - start) / 2
        orders, products = scope_rows_in_halves(
            _scope_sql(start=start, end=middle_instant, category_ids=category_ids, distinct=False),
            _scope_sql(start=middle_instant, end=end, category_ids=category_ids, distinct=False),
        )
    return BasketScope(start=start, end=end, category_id=category_id, lines=basket_lines(orders, products))


def _scope_for(
    scope: BasketScope | None, *, start: dt.datetime, end: dt.datetime, category_id: int | None
) -> BasketScope:
    if scope is None:
        return basket_scope(start=start, end=end, category_id=category_id)
    if (scope.start, scope.end, scope.category_id) != (start, end, category_id):
        raise ValueError("the scope read is of another period or category")
    return scope


def basket_pairs(
    *,
    start: dt.datetime,
    end: dt.datetime,
    min_support: float = 0.0,
    min_orders_together: int = 2,
    min_confidence: float = 0.0,
    min_lift: float = 0.0,
    category_id: int | None = None,
    order_by: str = "orders_together",
    limit: int = 100,
    scope: BasketScope | None = None,
) -> BasketAnalysis:
    """Pairs bought together in orders placed in [start, end) that pass every threshold, best first.

    ``min_support`` and ``min_orders_together`` both apply (the larger count wins); ``min_confidence`` applies to
    the stronger direction. ``order_by`` is one of orders_together, support, confidence, lift.
    """
    read = _scope_for(scope, start=start, end=end, category_id=category_id)
    counts = read.pairs(lambda total: max(min_orders_together, math.ceil(min_support * total - 1e-9), 1))
    total = counts.orders_total
    if not total:
        return BasketAnalysis(orders_total=0, min_orders_together=min_orders_together, pairs=[])
    best = ranked_pairs(counts, min_confidence=min_confidence, min_lift=min_lift, order_by=order_by, limit=limit)
    pairs = [
        BasketPair(
            product_a_id=int(counts.product_a[index]),
            product_b_id=int(counts.product_b[index]),
            orders_together=int(counts.together[index]),
            orders_a=int(counts.orders_a[index]),
            orders_b=int(counts.orders_b[index]),
            orders_total=total,
        )
        for index in best
    ]
    return BasketAnalysis(orders_total=total, min_orders_together=counts.floor, pairs=pairs)


def products_bought_together(
    *,
    product_id: int,
    start: dt.datetime,
    end: dt.datetime,
    limit: int = 5,
    min_orders_together: int = 2,
    category_id: int | None = None,
    scope: BasketScope | None = None,
) -> list[BoughtTogether]:
    """「よく一緒に購入されている商品」: what else the orders containing ``product_id`` held, most often first.

    Counted over the period's lines in arrays — the screen passes the ``scope`` it has read for its pairs, so one
    product's partners cost milliseconds there. With a category, the partners and the orders counted are those of
    the category, like the pairs beside them.
    """
    lines = _scope_for(scope, start=start, end=end, category_id=category_id).lines
    found = partner_counts(lines, product_id=product_id, floor=min_orders_together, limit=limit)
    total, n_a = found.orders_total, found.orders_target
    return [
        BoughtTogether(
            product_id=int(pid), orders_together=int(n), confidence=int(n) / n_a, lift=int(n) * total / (n_a * int(n_b))
        )
        for pid, n, n_b in zip(found.product_ids, found.together, found.orders_each, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class ProductPartner:
    """One of a product's most frequent partners over a window (a row of the nightly bought-together lists)."""

    product_id: int
    partner_id: int
    rank: int
    orders_together: int
    confidence: float  # product → partner
    lift: float


def every_products_partners(*, scope: BasketScope, per_product: int, min_orders_together: int) -> list[ProductPartner]:
    """Every product's ``per_product`` most frequent partners over the scope's orders, with the figures and the
    order of ``products_bought_together`` (most orders together first, then the lower product id): the pairs
    counted once in arrays (a < b) and read in both directions.

    The nightly lists were one SQL statement (the window's lines joined with themselves, ranked per product); at 3M
    orders its count of the window's orders alone ran for over 16 minutes here. Counted as the screen counts, the
    year takes about a second."""
    counts = scope.pairs(max(1, min_orders_together))
    found = top_partners(counts, per_product=per_product)
    total = counts.orders_total
    return [
        ProductPartner(
            product_id=int(product),
            partner_id=int(partner),
            rank=int(rank),
            orders_together=int(n),
            confidence=int(n) / int(n_product),
            lift=int(n) * total / (int(n_product) * int(n_partner)),
        )
        for product, partner, rank, n, n_product, n_partner in zip(
            found.product_ids,
            found.partner_ids,
            found.ranks,
            found.together,
            found.orders_product,
            found.orders_partner,
            strict=True,
        )
    ]


@dataclass(frozen=True, slots=True)
class BasketSet:
    """Three products bought in the same orders (a set worth offering together)."""

    product_ids: tuple[int, int, int]
    orders_together: int
    orders_each: tuple[int, int, int]
    orders_total: int

    @property
    def support(self) -> float:
        return self.orders_together / self.orders_total

    @property
    def lift(self) -> float:
        """How many times more often the three are bought together than if each were bought by chance."""
        a, b, c = self.orders_each
        return self.orders_together * self.orders_total**2 / (a * b * c)


def basket_sets(
    *,
    start: dt.datetime,
    end: dt.datetime,
    min_orders_together: int = 3,
    category_id: int | None = None,
    limit: int = 20,
    scope: BasketScope | None = None,
) -> list[BasketSet]:
    """Sets of three products bought together in at least ``min_orders_together`` orders, most often first.

    Only sets whose three pairs each pass the threshold are counted (a set cannot be more frequent than any of its
    pairs), in arrays over the same lines as the pairs (``basket_counts.triple_counts``).
    """
    floor = max(1, min_orders_together)
    read = _scope_for(scope, start=start, end=end, category_id=category_id)
    pairs = read.pairs(floor)
    found = triple_counts(read.lines, pairs, floor=floor, limit=limit)
    return [
        BasketSet(
            product_ids=(int(ids[0]), int(ids[1]), int(ids[2])),
            orders_together=int(together),
            orders_each=(int(each[0]), int(each[1]), int(each[2])),
            orders_total=pairs.orders_total,
        )
        for ids, together, each in zip(found.products, found.together, found.orders_each, strict=True)
    ]
