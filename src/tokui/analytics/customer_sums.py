"""The order day sums per customer attribute (ADR 0045): the buyers' records and keeping the sums current.

A filter on a prefecture, a company size or a sales rep (a rep's own scope too), and a breakdown by one, read the
order facts of their buyers joined to their companies: a company size keeps a quarter of the facts, a breakdown all
of them (1-3 s at 3M orders). ``SalesCustomerDay`` holds the order day sums once per dimension, keyed by the buyer's
value of it, so these pages read sums as the others do.

A buyer's values are those of ``SalesCustomerRecord``, written when the buyer's first facts are and moved when the
customer changes:

- the order-fact consumer and the catch-up record each new buyer's current values before writing its facts, and
  every add or take of an order fact's day sums adds or takes it under the recorded values (``sales_days``);
- before every report, the companies and individual customers saved since a little before the last check (their
  ``updated_at``, read by index) are compared with their records; the sums of those that differ are taken out
  under the old values and put back under the new ones (``customers_catch_up``);
- the nightly rebuild records every buyer anew and sums every fact, which also catches a change saved without
  ``updated_at`` (a rep deleted: the companies' rep is set to none by the database) or committed later than the
  margin after it was saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics.customer_models import NO_VALUE, SalesCustomerRecord
from tokui.analytics.customer_product_sums import customer_products_add
from tokui.analytics.enums import CustomerDimension
from tokui.analytics.models import SalesFactsState, SalesOrderFact
from tokui.analytics.report_types import SalesFilters
from tokui.analytics.sales_days import customer_categories_add, customer_days_add
from tokui.customers.models import Company, Contact

_CHUNK = 500
# Customers saved this long before the last check are compared again: a transaction that saved one earlier but
# committed after the check is still seen (a longer one is caught by the nightly rebuild).
CHECK_MARGIN = dt.timedelta(minutes=10)
# The watermark is written at most this often: the check itself only reads.
_ADVANCE_EVERY = dt.timedelta(minutes=1)
_RECORD_COLUMNS = "customer, prefecture, size, rep"
# More customers changed at once than this are re-recorded by a rebuild (in the worker) instead of by a report.
MOVE_LIMIT = 5_000


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _company_values(c: str) -> tuple[str, str, str]:
    """(prefecture, size, rep) of the company row ``c`` (a missing one: every value ``NO_VALUE``)."""
    return (
        f"COALESCE({c}.prefecture, '{NO_VALUE}')",
        f"COALESCE({c}.size, '{NO_VALUE}')",
        f"COALESCE(CAST({c}.assigned_rep_id AS TEXT), '{NO_VALUE}')",
    )


def _individual_values(k: str) -> tuple[str, str, str]:
    """(prefecture, size, rep) of the individual customer's contact row ``k``: no size or rep."""
    return f"COALESCE({k}.prefecture, '{NO_VALUE}')", f"'{NO_VALUE}'", f"'{NO_VALUE}'"


def current_values(buyers: str) -> str:
    """``(customer, prefecture, size, rep)`` now, of the buyers of ``buyers`` (a subquery with a ``buyer`` column):
    a company's own; an individual customer's prefecture, and no size or rep; ``NO_VALUE`` for what is missing."""
    company, contact = _q(Company._meta.db_table), _q(Contact._meta.db_table)
    values = ", ".join(
        f"CASE WHEN b.buyer > 0 THEN {of_company} ELSE {of_individual} END AS {name}"
        for name, of_company, of_individual in zip(
            ("prefecture", "size", "rep"), _company_values("c"), _individual_values("k"), strict=True
        )
    )
    return (
        f"SELECT b.buyer AS customer, {values}"
        f" FROM ({buyers}) b LEFT JOIN {company} c ON c.id = b.buyer LEFT JOIN {contact} k ON k.id = -b.buyer"
    )


def customer_records_add(cursor: CursorWrapper, buyers: str, params: Sequence[Any]) -> None:
    """Record the current values of the buyers of ``buyers`` (a subquery with a ``buyer`` column, ``NULL`` for
    none) that have no record yet: call before writing their facts."""
    records = _q(SalesCustomerRecord._meta.db_table)
    new = f"SELECT DISTINCT buyer FROM ({buyers}) n WHERE buyer IS NOT NULL"
    cursor.execute(
        f"INSERT INTO {records} ({_RECORD_COLUMNS}) SELECT * FROM ({current_values(new)}) v"
        f" WHERE NOT EXISTS (SELECT 1 FROM {records} x WHERE x.customer = v.customer)",
        list(params),
    )


def customer_records_rebuild_sql(*, table: str | None = None, facts: str | None = None) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of the current values of every buyer of the order facts (into a rebuild's twin)."""
    buyers = f"SELECT DISTINCT buyer FROM {_q(facts or SalesOrderFact._meta.db_table)} WHERE buyer IS NOT NULL"
    target = _q(table or SalesCustomerRecord._meta.db_table)
    return f"INSERT INTO {target} ({_RECORD_COLUMNS}) {current_values(buyers)}", []


def _changed(cursor: CursorWrapper, since: dt.datetime | None) -> list[int]:
    """The buyers whose record differs from their values now, among the customers saved since ``since`` (all
    of them without): each side read from its rows saved lately (by the ``updated_at`` index), then its record."""
    records = _q(SalesCustomerRecord._meta.db_table)
    parts, params = [], list[Any]()
    for table, alias, buyer, values in (
        (Company._meta.db_table, "c", "c.id", _company_values("c")),
        (Contact._meta.db_table, "k", "-k.id", _individual_values("k")),
    ):
        differs = " OR ".join(
            f"r.{name} <> {value}" for name, value in zip(("prefecture", "size", "rep"), values, strict=True)
        )
        saved = f" AND {alias}.updated_at >= %s" if since is not None else ""
        parts.append(
            f"SELECT r.customer FROM {_q(table)} {alias} JOIN {records} r ON r.customer = {buyer}"
            f" WHERE ({differs}){saved}"
        )
        params += [since] if since is not None else []
    cursor.execute(" UNION ALL ".join(parts), params)
    return sorted(int(row[0]) for row in cursor.fetchall())


def customers_move(cursor: CursorWrapper, buyers: Sequence[int]) -> None:
    """Move these buyers' facts in the customer sums (days, category months, product months) from their recorded
    values to their values now."""
    records = _q(SalesCustomerRecord._meta.db_table)
    for chunk in (buyers[i : i + _CHUNK] for i in range(0, len(buyers), _CHUNK)):
        placeholders = ", ".join(["%s"] * len(chunk))
        where = f"buyer IN ({placeholders})"
        customer_days_add(cursor, where, chunk, sign=-1)
        customer_categories_add(cursor, where, chunk, sign=-1)
        customer_products_add(cursor, where, chunk, sign=-1)
        cursor.execute(f"DELETE FROM {records} WHERE customer IN ({placeholders})", list(chunk))
        values = " UNION ALL ".join(["SELECT %s AS buyer"] * len(chunk))
        customer_records_add(cursor, values, chunk)
        customer_days_add(cursor, where, chunk, sign=1)
        customer_categories_add(cursor, where, chunk, sign=1)
        customer_products_add(cursor, where, chunk, sign=1)


def customers_catch_up(
    *,
    checked: dt.datetime | None,
    lock: Callable[[], SalesFactsState],
    queue_rebuild: Callable[[SalesFactsState], None],
) -> int:
    """Move the customers changed since the last check (``SalesFactsState.customers_checked_at``) in the customer
    day sums (``checked``: as the state row says); returns the buyers moved. Costs one statement, two index reads of
    the customers saved lately, when none changed.

    More than ``MOVE_LIMIT`` changed at once (the reps of a whole region reassigned) queue a rebuild instead
    (``queue_rebuild``, given the state row ``lock`` returned), and the reports read the facts until it has run."""
    now = timezone.now()
    with connection.cursor() as cursor:
        changed = _changed(cursor, checked - CHECK_MARGIN if checked else None)
    if not changed and checked is not None and now - checked < _ADVANCE_EVERY:
        return 0
    with transaction.atomic():
        state = lock()  # one writer at a time; a second report waits, then finds nothing left
        if state.rebuild_queued_at is not None:
            return 0  # the queued rebuild records every buyer anew
        checked = state.customers_checked_at
        with connection.cursor() as cursor:
            changed = _changed(cursor, checked - CHECK_MARGIN if checked else None)
            if len(changed) > MOVE_LIMIT:
                queue_rebuild(state)
                return 0
            customers_move(cursor, changed)
        state.customers_checked_at = now
        state.save(update_fields=["customers_checked_at"])
    return len(changed)


# --- Reads ----------------------------------------------------------------------------------------------------------


def customer_segment(*, filters: SalesFilters, user: User) -> tuple[str, str] | None:
    """``(dimension, value)`` when the report keeps the buyers of one customer attribute's value: one filter on a
    prefecture, a company size or a rep, or a sales rep's own companies without another. ``None`` otherwise (no
    customer filter, or two at once: those are matched on the buyers' ids)."""
    wanted: list[tuple[str, str]] = []
    if filters.prefecture:
        wanted.append((CustomerDimension.PREFECTURE, filters.prefecture))
    if filters.company_size:
        wanted.append((CustomerDimension.SIZE, filters.company_size))
    if filters.sales_rep_id is not None:
        wanted.append((CustomerDimension.REP, str(filters.sales_rep_id)))
    if not user_sees_all_accounts(user=user) and (CustomerDimension.REP, str(user.pk)) not in wanted:
        wanted.append((CustomerDimension.REP, str(user.pk)))  # a rep's own scope (ADR 0004)
    return wanted[0] if len(wanted) == 1 else None


def segment_buyers(dimension: str, value: str) -> QuerySet[Any]:
    """The buyers recorded with this value (a subquery for the facts' ``buyer``)."""
    return SalesCustomerRecord.objects.filter(**{CustomerDimension(dimension).value: value}).values("customer")


def recorded_value(dimension: str) -> Coalesce:
    """The recorded value of ``dimension`` of a fact's buyer (``NO_VALUE`` without one), as an expression."""
    record = SalesCustomerRecord.objects.filter(customer=OuterRef("buyer")).values(CustomerDimension(dimension).value)
    return Coalesce(Subquery(record[:1]), Value(NO_VALUE))


def value_key(dimension: str, value: str) -> Any:
    """A breakdown row's key for a recorded value, as the breakdown over the facts has it: ``None`` for none, a
    rep's id as a number."""
    if value == NO_VALUE:
        return None
    return int(value) if dimension == CustomerDimension.REP else value
