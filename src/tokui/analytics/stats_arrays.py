"""Every customer's stats computed over arrays: the rules of ``stats_sql`` restated with sorts and group sums.

The full recompute on PostgreSQL reads the counted orders and the order lines once (``stats_full``) and computes
here what the SQL computes with window functions and hash joins, several times faster: one sort groups the orders
by customer and day, a second sorts each customer's intervals for the median, and the spend per customer and
category is summed in a dense customers × categories table (or by sorting when that table would be too large).

Figures stay exact: money is summed as integers of hundredths (``stats_sql.MONEY_SCALE``), the average order value
is rounded half away from zero in integers as PostgreSQL's ``ROUND`` does, and the two divisions that give floats
(average and median interval) are single IEEE divisions of integers, as the SQL now does them. Category spend is
summed as int64 hundredths (``CategorySpend.exact`` says whether the sums stayed below 2**62). Site-zone days come
from the timestamps by the same IANA rules PostgreSQL applies (``local_days``).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import numpy as np

from tokui.core.money import DECIMAL_PLACES

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_DAY = 86_400_000_000
# Customers × categories cells summed in a dense table before falling back to a sort: 512 MB at most (int64).
_DENSE_CELLS = 1 << 26
# The dense table holds whole units (amounts / 100) in int32 while every amount is whole and no customer's amounts
# add up (in magnitude) to what int32 holds; past either it is widened to int64 hundredths.
_WHOLE = 10**DECIMAL_PLACES
_NARROW_REACH = float((np.iinfo(np.int32).max - 1) * _WHOLE)  # the lowest two values mark cells


@dataclass(frozen=True, slots=True)
class OrderRows:
    """The counted orders: id, customer key (company id, or minus the contact id), site-zone day, total."""

    order_id: np.ndarray  # int64
    ckey: np.ndarray  # int64
    day: np.ndarray  # int64, days from any fixed epoch
    total: np.ndarray  # int64, hundredths


@dataclass(frozen=True, slots=True)
class LineRows:
    """Order lines with a product: order id, product id, amount (int64 hundredths)."""

    order_id: np.ndarray
    product_id: np.ndarray
    amount: np.ndarray


@dataclass(frozen=True, slots=True)
class Products:
    """The products with a category, and their categories."""

    product_id: np.ndarray
    category_id: np.ndarray


@dataclass(frozen=True, slots=True)
class StatsArrays:
    """One entry per customer, ascending by customer key; nullable figures come with a mask."""

    ckey: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    orders: np.ndarray
    days: np.ndarray
    spend: np.ndarray  # hundredths
    average_spend: np.ndarray  # hundredths
    has_interval: np.ndarray  # bool: two order days or more (average, median and prediction are set)
    average_interval: np.ndarray  # float64
    median_interval: np.ndarray  # float64
    predicted_day: np.ndarray
    favourites: np.ndarray  # (customers, 3) category ids, -1 for none


def local_days(moments: np.ndarray, zone: dt.tzinfo) -> np.ndarray:
    """The days since 2000-01-01 in ``zone`` of instants in microseconds since 2000-01-01 UTC (PostgreSQL's binary
    ``timestamptz``), as ``CAST(moment AT TIME ZONE zone AS date)`` gives them, from the same IANA rules.

    A zone's offset changes rarely: it is sampled once a day over the instants' range and each change is found to
    the microsecond by bisection, so the work per instant is one binary search among the few changes."""
    if moments.size == 0:
        return moments.copy()

    def offset(moment: int) -> int:
        instant = _EPOCH + dt.timedelta(microseconds=moment)
        return (instant.astimezone(zone).utcoffset() or dt.timedelta()) // _MICROSECOND

    first, last = int(moments.min()), int(moments.max())
    starts, offsets = [first], [offset(first)]
    probe = first
    while probe < last:
        following = min(probe + _DAY, last)
        if offset(following) != offsets[-1]:
            low, high = probe, following
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == offsets[-1] else (low, middle)
            starts.append(high)
            offsets.append(offset(high))
        probe = following
    change = np.searchsorted(np.array(starts, np.int64), moments, side="right") - 1
    days: np.ndarray = (moments + np.array(offsets, np.int64)[change]) // _DAY
    return days


def orders_exact(orders: OrderRows) -> bool:
    """Whether the spend sums stay exact in int64 (the average order value doubles a spend and scales it by up to
    10**4 before dividing); else the SQL computes."""
    return float(np.abs(orders.total).sum(dtype=np.float64)) < 2.0**62 / 2e4


def _round_half_away(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    magnitude: np.ndarray = (2 * np.abs(numerator) + denominator) // (2 * denominator)
    return np.where(numerator < 0, -magnitude, magnitude)


def average_spend(spend: np.ndarray, orders: np.ndarray, places: int) -> np.ndarray:
    """``ROUND(spend / orders, places)`` stored with ``DECIMAL_PLACES``, in hundredths: rounded half away from zero
    at ``places`` and again at the column's scale when ``places`` is finer (as PostgreSQL stores it)."""
    if places <= DECIMAL_PLACES:
        step = 10 ** (DECIMAL_PLACES - places)
        rounded: np.ndarray = _round_half_away(spend, orders * step) * step
        return rounded
    finer = _round_half_away(spend * 10 ** (places - DECIMAL_PLACES), orders)
    return _round_half_away(finer, np.full_like(finer, 10 ** (places - DECIMAL_PLACES)))


def _low_bits_sorted(key: np.ndarray, bits: int) -> np.ndarray:
    """``key`` (made for this: it is sorted in place) sorted, keeping its low ``bits``: the lesser field of a
    two-field key, in the order of both. ``np.sort`` of one int64 is a vectorised sort, several times faster than
    ``argsort`` or ``lexsort``."""
    key.sort()
    key &= (1 << bits) - 1
    return key


def _sorting_order(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """The permutation sorting rows by (high, low): both and the row number as one int64 where they fit, the row
    number read back from the low bits; otherwise by ``lexsort``."""
    low0, low_span = int(low.min()), int(low.max() - low.min()) + 1
    high0, high_span = int(high.min()), int(high.max() - high.min()) + 1
    row_bits = max(int(high.size - 1).bit_length(), 1)
    if (high_span * low_span) << row_bits < (1 << 62):
        key = (high - high0) * low_span
        key += low - low0
        key <<= row_bits
        key |= np.arange(high.size, dtype=np.int64)
        return _low_bits_sorted(key, row_bits)
    return np.lexsort((low, high))


def _sorted_within(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` sorted within each run of equal ``group`` (non-decreasing, not negative), the runs kept in place."""
    if values.size == 0:
        return values
    lowest = int(values.min())
    bits = max((int(values.max()) - lowest).bit_length(), 1)
    if int(group[-1]) < 1 << (62 - bits):
        key = group << bits
        key |= values - lowest
        ordered = _low_bits_sorted(key, bits)
        ordered += lowest
        return ordered
    return values[np.lexsort((values, group))]


def _starts(values: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]])


@dataclass(frozen=True, slots=True)
class OrderFigures:
    """The figures from the orders alone (favourites not yet set), and each counted order's customer position."""

    stats: StatsArrays
    order_id: np.ndarray
    order_customer: np.ndarray


def order_figures(orders: OrderRows, *, places: int) -> OrderFigures:
    """Every figure but the favourite categories (``orders`` must not be empty)."""
    order = _sorting_order(orders.ckey, orders.day)
    ckey, day, total = orders.ckey[order], orders.day[order], orders.total[order]
    # Groups of one customer's orders on one day: the intervals run between these, not between orders.
    group_start = np.flatnonzero(np.r_[True, (ckey[1:] != ckey[:-1]) | (day[1:] != day[:-1])])
    group_ckey, group_day = ckey[group_start], day[group_start]
    group_orders = np.diff(np.r_[group_start, ckey.size])
    group_spend = np.add.reduceat(total, group_start)
    customer_start = _starts(group_ckey)
    customers = customer_start.size
    customer_end = np.r_[customer_start[1:], group_ckey.size]
    days = customer_end - customer_start
    first_day, last_day = group_day[customer_start], group_day[customer_end - 1]
    order_count = np.add.reduceat(group_orders, customer_start)
    spend = np.add.reduceat(group_spend, customer_start)

    # Intervals, sorted inside each customer: customer i's come after those of the customers before it, which
    # have (their days - 1) each, so they start at customer_start[i] - i.
    group_customer = np.repeat(np.arange(customers), days)
    same = group_customer[1:] == group_customer[:-1]
    gaps = np.diff(group_day)[same]
    gap_customer = group_customer[1:][same]
    gaps = _sorted_within(gap_customer, gaps)
    has_interval = days > 1
    count = np.where(has_interval, days - 1, 1)
    first_gap = customer_start - np.arange(customers)
    low = np.where(has_interval, first_gap + (count + 1) // 2 - 1, 0)
    high = np.where(has_interval, first_gap + (count + 2) // 2 - 1, 0)
    picked = gaps if gaps.size else np.zeros(1, np.int64)
    middle_n = np.where(high != low, 2, 1)
    middle_sum = picked[low] + np.where(high != low, picked[high], 0)
    stats = StatsArrays(
        ckey=group_ckey[customer_start],
        first_day=first_day,
        last_day=last_day,
        orders=order_count,
        days=days,
        spend=spend,
        average_spend=average_spend(spend, order_count, places),
        has_interval=has_interval,
        average_interval=(last_day - first_day).astype(np.float64) / np.maximum(days - 1, 1),
        median_interval=middle_sum.astype(np.float64) / middle_n,
        predicted_day=last_day + (2 * middle_sum // middle_n + 1) // 2,
        favourites=np.full((customers, 3), -1, np.int64),
    )
    return OrderFigures(stats, orders.order_id[order], np.repeat(group_customer, group_orders))


class Lookup:
    """For targets, the value of the equal key (keys distinct), else -1: by a table over the key range when it is
    compact (one gather; out-of-range targets land on -1 sentinels at both ends), else by a binary search."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.keys, self.values = keys, values
        self.low = int(keys.min()) if keys.size else 0
        high = int(keys.max()) if keys.size else 0
        self.table: np.ndarray | None = None
        if keys.size and high - self.low < 4 * keys.size + 1_000_000:
            self.table = np.full(high - self.low + 3, -1, np.int64)
            self.table[keys - self.low + 1] = values
        elif keys.size:
            self.order = np.argsort(keys)

    def find(self, targets: np.ndarray) -> np.ndarray:
        if self.table is not None:
            return np.take(self.table, targets - (self.low - 1), mode="clip")
        if self.keys.size == 0:
            return np.full(targets.size, -1, np.int64)
        spot = self.order[np.minimum(np.searchsorted(self.keys, targets, sorter=self.order), self.keys.size - 1)]
        return np.where(self.keys[spot] == targets, self.values[spot], -1)


def lookup(keys: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return Lookup(keys, values).find(targets)


class CategorySpend:
    """Each customer's spend per category, summed as batches of lines arrive (in any order), then the three
    favourites. Customers are numbered 0.. in ``order_customer``, given for each counted order of ``order_id``.
    Sums go into a dense customers × categories table, or, when that would pass ``_DENSE_CELLS``, are kept as
    (cell, amount) rows and summed by sorting at the end."""

    def __init__(self, *, order_id: np.ndarray, order_customer: np.ndarray, products: Products, customers: int):
        self.customers = customers
        self.category_ids, index = np.unique(products.category_id, return_inverse=True)
        self.width = int(self.category_ids.size)
        self.customer_of = Lookup(order_id, order_customer)
        self.category_of = Lookup(products.product_id, index.astype(np.int64))
        self.dense = customers * self.width <= _DENSE_CELLS
        # Integers, as the amounts come: np.add.at into float64 converted each int64 amount on its slow path (2 s
        # for 10M lines, against 0.3 s like for like). Narrow while it can be: the table's pages are new memory,
        # and first touching them was the largest single cost of the sums (ADR 0037).
        self.spend: np.ndarray = np.zeros(customers * self.width if self.dense else 0, np.int32)
        self.reach = np.zeros(customers if self.dense else 0, np.float64)  # per customer, |amounts| added so far
        # Cells bought, kept from the first amount not above zero (until then a bought cell is one above zero).
        self.bought: np.ndarray | None = None
        self.rows: list[tuple[np.ndarray, np.ndarray]] = []
        self.magnitude = 0.0
        self.lock = threading.Lock()

    def add(self, lines: LineRows) -> None:
        customer = self.customer_of.find(lines.order_id)
        category = self.category_of.find(lines.product_id)
        counted = (customer >= 0) & (category >= 0)
        amount = lines.amount
        if not counted.all():
            customer, category, amount = customer[counted], category[counted], amount[counted]
        if customer.size == 0:
            return
        cell = customer * self.width + category
        with self.lock:  # two reading threads add
            self.magnitude += float(np.abs(amount).sum(dtype=np.float64))
            if not self.dense:
                self.rows.append((cell, amount))
                return
            if self.bought is None and amount.min() <= 0:
                self.bought = self.spend != 0  # every amount so far positive: a bought cell is above zero
            if self.spend.dtype == np.int32 and not self._narrow_holds(customer, amount):
                wide = self.spend.astype(np.int64)
                wide *= _WHOLE
                self.spend = wide
            if self.spend.dtype == np.int32:
                np.add.at(self.spend, cell, (amount // _WHOLE).astype(np.int32))
            else:
                np.add.at(self.spend, cell, amount)
            if self.bought is not None:
                self.bought[cell] = True

    def _narrow_holds(self, customer: np.ndarray, amount: np.ndarray) -> bool:
        """Whether the int32 table of whole units can take these amounts too: all whole, and each customer's
        magnitudes so far (a bound on each of its cells, float64-exact below 2**53) within int32."""
        if (amount % _WHOLE).any():
            return False
        np.add.at(self.reach, customer, np.abs(amount).astype(np.float64))
        return bool(self.reach[customer].max() <= _NARROW_REACH)

    def exact(self) -> bool:
        """Whether the int64 sums cannot have overflowed (the amounts' magnitudes add up below 2**62)."""
        return self.magnitude < 2.0**62

    def favourites(self) -> np.ndarray:
        """(customers, 3) category ids of the largest spend (ties by category id), -1 where fewer."""
        result = np.full((self.customers, 3), -1, np.int64)
        if self.dense:
            spend, floor = self.spend, 0
            # Sums no spend reaches (it stays within the type's range but its lowest value): a cell already chosen
            # as a favourite, and one never bought.
            chosen = np.iinfo(spend.dtype).min
            # Cells never bought must rank below any bought, even one bought for nothing: with only positive
            # amounts a zero sum is such a cell; otherwise they are marked. A chosen cell goes below them all.
            if self.bought is not None:
                floor = chosen + 1
                spend[~self.bought] = floor
            table = spend.reshape(self.customers, self.width)
            rows = np.arange(self.customers)
            for rank in range(min(3, self.width)):
                # argmax takes the first of equal values: the smaller category id, as the SQL's tie-break.
                best = np.argmax(table, axis=1)
                found = table[rows, best] > floor
                result[found, rank] = self.category_ids[best[found]]
                table[rows, best] = chosen
            return result
        if not self.rows:
            return result
        cell = np.concatenate([cells for cells, _ in self.rows])
        amount = np.concatenate([amounts for _, amounts in self.rows])
        order = np.argsort(cell)
        cell = cell[order]
        start = _starts(cell)
        sums = np.add.reduceat(amount[order], start)
        cell = cell[start]
        owner, category_at = cell // self.width, cell % self.width
        ranked = np.lexsort((category_at, -sums, owner))
        owner, category_at = owner[ranked], category_at[ranked]
        first = _starts(owner)
        rank = np.arange(owner.size) - np.repeat(first, np.diff(np.r_[first, owner.size]))
        keep = rank < 3
        result[owner[keep], rank[keep]] = self.category_ids[category_at[keep]]
        return result


def favourites(
    *, order_id: np.ndarray, order_customer: np.ndarray, lines: LineRows, products: Products, customers: int
) -> np.ndarray:
    """Each customer's three categories of largest spend (ties by category id), -1 where fewer (one batch)."""
    spend = CategorySpend(order_id=order_id, order_customer=order_customer, products=products, customers=customers)
    spend.add(lines)
    return spend.favourites()
