"""The INSERT ... SELECT statements that write the sales facts from the orders and their lines (ADR 0015, 0038,
0041), shared by the order-fact consumer, the catch-up and the nightly rebuild (``sales_facts``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connection

from tokui.analytics.category_facts import earlier_rows, prior_days
from tokui.analytics.line_chains import CHAIN_COLUMNS, chained, earlier_lines
from tokui.analytics.sales_models import SalesLineFact, SalesOrderFact
from tokui.commerce.enums import NON_REVENUE_STATUSES
from tokui.commerce.models import Order, OrderLine


def day_sql() -> tuple[str, list[Any]]:
    """The site-zone calendar day of ``o.placed_at`` in this database's SQL (the same as the ORM's TruncDate)."""
    sql, params = connection.ops.datetime_cast_date_sql("o.placed_at", (), settings.TIME_ZONE)
    return sql, list(params)


BUYER = "CASE WHEN o.company_id IS NOT NULL THEN o.company_id ELSE -o.contact_id END"


def placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def excluded_statuses() -> tuple[str, list[Any]]:
    return placeholders(NON_REVENUE_STATUSES), [str(status) for status in NON_REVENUE_STATUSES]


def orders_insert(
    where: str,
    params: Sequence[Any],
    *,
    table: str | None = None,
    after: tuple[Sequence[int], tuple[str, Sequence[Any]]] | None = None,
) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of the order facts of the counted orders matching ``where`` (a condition on ``o``).

    ``where`` must hold every order of each buyer it names: a buyer's previous-order days are worked out over the
    rows selected here (window functions, the same in both databases). With ``after`` (the buyers, and a condition
    on unqualified fact columns saying from which day each one's rows are written) only those rows are worked
    out: the buyer's rows left in the table are all earlier, and each chain goes on from the last of them (ADR 38).
    """
    quote = connection.ops.quote_name
    order_table, line_table = quote(Order._meta.db_table), quote(OrderLine._meta.db_table)
    facts = quote(table or SalesOrderFact._meta.db_table)
    day, day_params = day_sql()
    statuses, status_params = excluded_statuses()
    counted = f"o.status NOT IN ({statuses}) AND ({where})"
    previous = (
        "CASE WHEN b.buyer IS NULL THEN NULL"
        " ELSE {prior}LAG(b.day) OVER (PARTITION BY b.currency, b.buyer{partition} ORDER BY b.day, b.id){end} END"
    )
    columns = f"SELECT o.id, {day} AS day, o.channel, o.currency, o.company_id, o.contact_id, {BUYER} AS buyer, o.total"
    if after is None:
        lags = [previous.format(prior="", partition=partition, end="") for partition in ("", ", b.channel")]
        prior_rows, prior_params = "", list[Any]()
        # The units of an order are its lines' quantities: summed once here, so no report scans the lines.
        source = (
            f"({columns}, COALESCE(u.units, 0) AS units FROM {order_table} o LEFT JOIN (SELECT l.order_id,"
            f" SUM(l.quantity) AS units FROM {line_table} l JOIN {order_table} o ON o.id = l.order_id WHERE {counted}"
            f" GROUP BY l.order_id) u ON u.order_id = o.id WHERE {counted}) b"
        )
        source_params = [*day_params, *status_params, *params, *status_params, *params]
    else:
        buyers, (later, later_params) = after
        lags = [
            previous.format(prior="COALESCE(", partition=partition, end=f", {alias}.day)")
            for partition, alias in (("", "p0"), (", b.channel", "p1"))
        ]
        prior_rows, prior_params = earlier_rows(facts, buyers, ("buyer", "currency", "channel"))
        # Only the orders kept: their lines summed each on its own instead of every order's of the buyers.
        units = f"(SELECT COALESCE(SUM(l.quantity), 0) FROM {line_table} l WHERE l.order_id = o.id) AS units"
        source = (
            f"(SELECT * FROM ({columns}, {units} FROM {order_table} o WHERE {counted}) r WHERE {later}) b"
            f"{prior_days('p0', rows='b')}{prior_days('p1', rows='b', channel=True)}"
        )
        source_params = [*day_params, *status_params, *params, *later_params]
    sql = (
        f"INSERT INTO {facts}"
        " (order_id, day, channel, currency, company_id, contact_id, buyer, total, units, prev_day, prev_channel_day)"
        f"{prior_rows} SELECT b.id, b.day, b.channel, b.currency, b.company_id, b.contact_id, b.buyer, b.total,"
        f" b.units, {lags[0]}, {lags[1]} FROM {source} ORDER BY b.day, b.id"
    )
    return sql, [*prior_params, *source_params]


def lines_insert(
    where: str, params: Sequence[Any], *, table: str | None = None, since: Mapping[int, Any] | None = None
) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of the line facts of the counted orders matching ``where`` (a condition on ``o``), with
    the buyers' chains per product worked out over the rows selected (ADR 0041).

    ``where`` must hold every order of each buyer it names, unless ``since`` maps each buyer to a day on or before
    its orders in ``where``: the chains then go on from the buyer's line facts before that day (ADR 38), and are
    right where the buyer has no other line fact from that day on (``line_chains_fix`` sets the others).
    """
    quote = connection.ops.quote_name
    day, day_params = day_sql()
    statuses, status_params = excluded_statuses()
    rows = (
        f"SELECT l.id AS line_id, o.id AS order_id, {day} AS day, o.channel, o.currency, o.company_id, o.contact_id,"
        f" {BUYER} AS buyer, l.product_id, COALESCE(l.product_id, 0) AS product_key, l.sku, l.product_name,"
        " l.quantity, l.amount, o.placed_at,"
        " ROW_NUMBER() OVER (PARTITION BY o.id, COALESCE(l.product_id, 0) ORDER BY l.id) = 1 AS pf,"
        " ROW_NUMBER() OVER (PARTITION BY o.id ORDER BY l.id) = 1 AS ofl"
        f" FROM {quote(OrderLine._meta.db_table)} l JOIN {quote(Order._meta.db_table)} o ON o.id = l.order_id"
        f" WHERE o.status NOT IN ({statuses}) AND ({where})"
    )
    earlier, earlier_params = earlier_lines(since, sorted(since)) if since is not None else ("", [])
    source = chained(rows, earlier="earlier" if since is not None else None)
    chain_values = ", ".join(f"r.{name}" for name in CHAIN_COLUMNS)
    sql = (
        f"{earlier} INSERT INTO {quote(table or SalesLineFact._meta.db_table)}"
        " (line_id, order_id, day, channel, currency, company_id, contact_id, buyer, product_id, sku, product_name,"
        f" quantity, amount, product_first, order_first, {', '.join(CHAIN_COLUMNS)})"
        " SELECT r.line_id, r.order_id, r.day, r.channel, r.currency, r.company_id, r.contact_id, r.buyer,"
        f" r.product_id, r.sku, r.product_name, r.quantity, r.amount, r.pf, r.ofl, {chain_values}"
        f" FROM {source} r ORDER BY r.placed_at, r.line_id"
    )
    return sql, [*earlier_params, *day_params, *status_params, *params]


def buyers_where(buyers: Sequence[int]) -> tuple[str, list[Any]]:
    """The orders of these buyers (company ids, and minus the ids of B2C contacts)."""
    companies = [buyer for buyer in buyers if buyer > 0]
    contacts = [-buyer for buyer in buyers if buyer < 0]
    parts, params = [], []
    if companies:
        parts.append(f"o.company_id IN ({placeholders(companies)})")
        params += companies
    if contacts:
        parts.append(f"(o.company_id IS NULL AND o.contact_id IN ({placeholders(contacts)}))")
        params += contacts
    return " OR ".join(parts) or "1 = 0", params
