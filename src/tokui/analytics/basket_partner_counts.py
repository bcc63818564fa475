"""One product's partners and every product's most frequent partners, counted in arrays from the lines and
pairs of ``basket_counts``: the screen's 「よく一緒に購入されている商品」 and the nightly lists that mails read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokui.analytics.basket_counts import BasketLines, PairCounts


@dataclass(frozen=True, slots=True)
class TopPartners:
    """Every product's most frequent partners: one row a (product, partner), ranked from 1 within each product."""

    product_ids: np.ndarray
    partner_ids: np.ndarray
    ranks: np.ndarray
    together: np.ndarray
    orders_product: np.ndarray
    orders_partner: np.ndarray


def top_partners(counts: PairCounts, *, per_product: int) -> TopPartners:
    """For every product of ``counts``, its ``per_product`` partners bought with it in the most orders (ties: the
    lower partner id first): each pair in both directions, ordered once, cut per product."""
    product = np.concatenate([counts.product_a, counts.product_b])
    partner = np.concatenate([counts.product_b, counts.product_a])
    together = np.concatenate([counts.together, counts.together])
    orders_product = np.concatenate([counts.orders_a, counts.orders_b])
    orders_partner = np.concatenate([counts.orders_b, counts.orders_a])
    order = np.lexsort((partner, -together, product))  # the last key sorts first
    product = product[order]
    starts = np.flatnonzero(np.r_[True, product[1:] != product[:-1]]) if product.size else np.empty(0, np.int64)
    sizes = np.diff(np.r_[starts, product.size])
    ranks = np.arange(1, product.size + 1) - np.repeat(starts, sizes)
    shown = ranks <= per_product
    kept = order[shown]
    return TopPartners(
        product_ids=product[shown],
        partner_ids=partner[kept],
        ranks=ranks[shown],
        together=together[kept],
        orders_product=orders_product[kept],
        orders_partner=orders_partner[kept],
    )


@dataclass(frozen=True, slots=True)
class PartnerCounts:
    """The products bought in the same orders as one product, most orders together first (ties: lower id)."""

    orders_total: int
    orders_target: int  # orders with the product asked about
    product_ids: np.ndarray
    together: np.ndarray
    orders_each: np.ndarray  # orders with each partner


def partner_counts(lines: BasketLines, *, product_id: int, floor: int, limit: int) -> PartnerCounts:
    """The partners of ``product_id`` in ``lines`` bought with it in at least ``floor`` orders, at most ``limit``:
    a mark per order holding the product and one count over the lines of the marked orders."""
    empty = np.empty(0, np.int64)
    position = int(np.searchsorted(lines.product_ids, product_id))
    if position == lines.product_ids.size or int(lines.product_ids[position]) != product_id:
        return PartnerCounts(lines.orders_total, 0, empty, empty, empty)
    marked = np.zeros(lines.orders_total, dtype=bool)
    marked[lines.line_order[lines.line_product == position]] = True
    chosen = marked[lines.line_order] & (lines.line_product != position)
    counts = np.bincount(lines.line_product[chosen], minlength=lines.product_ids.size)
    found = np.flatnonzero(counts >= max(1, floor))
    best = found[np.lexsort((found, -counts[found]))[:limit]]  # positions ascend as the ids do
    return PartnerCounts(
        orders_total=lines.orders_total,
        orders_target=int(lines.items[position]),
        product_ids=lines.product_ids[best],
        together=counts[best].astype(np.int64),
        orders_each=lines.items[best],
    )
