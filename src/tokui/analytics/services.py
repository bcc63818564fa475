"""Writes of the analytics app: per-customer stats (incremental and full), RFM settings and monthly snapshots."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.analytics.basket import basket_scope, every_products_partners
from tokui.analytics.basket_packs import basket_packs_fill
from tokui.analytics.clv import clv_calibration, customer_predictions
from tokui.analytics.enums import CustomerLevel, DashboardKpi, RankMethod
from tokui.analytics.models import (
    BasketPartner,
    BasketPartnerBuild,
    CustomerPrediction,
    CustomerStats,
    KpiGoal,
    PredictionCalibration,
    RfmGroup,
    RfmSettings,
    RfmSnapshot,
    StatsRecompute,
    month_start,
)
from tokui.analytics.sales_facts import sales_facts_rebuild
from tokui.analytics.selectors import order_rows_as_of, ranked_rows, rfm_rules, stats_rows
from tokui.analytics.stats_full import refresh_lock_sql, stats_replace_all
from tokui.analytics.stats_sql import Scope, stats_insert_sql
from tokui.analytics.types import RfmGroupDef
from tokui.core.enums import AuditAction
from tokui.core.errors import DomainError
from tokui.core.money import default_currency
from tokui.core.services import audit_record
from tokui.core.time import add_months, local_now, local_today, start_of_local_day
from tokui.tracking.selectors import events_matching

logger = logging.getLogger(__name__)

# The nightly recompute runs once a day from this hour (site time), when shops are quiet.
NIGHTLY_HOUR = 3
_REFRESH_ATTEMPTS = 3


def _stats_insert(*, scope: Scope | None, now: dt.datetime) -> int:
    sql, params = stats_insert_sql(currency=default_currency(), refreshed_at=now, scope=scope)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The full recompute sorts and hashes millions of rows; enough memory keeps that off the disk.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def stats_refresh(
    *, company_ids: Iterable[int] = (), contact_ids: Iterable[int] = (), now: dt.datetime | None = None
) -> int:
    """Recompute the stats of some companies and of some B2C contacts (their orders without a company).

    The SQL of ``stats_sql`` limited to these customers: the full recompute runs the same SQL on SQLite and the
    same rules in arrays on PostgreSQL, to identical figures. A customer with no counted order left loses their
    stats row. Returns the rows written.
    """
    companies = sorted(set(company_ids))
    contacts = sorted(set(contact_ids))
    if not companies and not contacts:
        return 0
    now = now or timezone.now()
    scope = Scope(company_ids=companies, contact_ids=contacts)
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # Waits while a full recompute runs, so that it does not replace what this writes.
                    with connection.cursor() as cursor:
                        cursor.execute(refresh_lock_sql())
                CustomerStats.objects.filter(Q(company_id__in=companies) | Q(contact_id__in=contacts)).delete()
                return _stats_insert(scope=scope, now=now)
        except IntegrityError:
            # Another worker refreshed one of these customers between our delete and insert: do it again.
            if attempt == _REFRESH_ATTEMPTS:
                raise
            attempt += 1


def stats_refresh_for_facts(*, event_ids: Sequence[int]) -> int:
    """The fact consumer: refresh the customers named by order facts (placed or cancelled)."""
    rows = events_matching().filter(pk__in=list(event_ids)).values_list("company_id", "contact_id")
    companies: set[int] = set()
    contacts: set[int] = set()
    for company_id, contact_id in rows:
        # Ids are never 0, so truth tests tell a missing id (the stubs type both columns as plain ints).
        if company_id:
            companies.add(company_id)
        elif contact_id:
            contacts.add(contact_id)
    return stats_refresh(company_ids=companies, contact_ids=contacts)


def stats_recompute_all(*, now: dt.datetime | None = None) -> int:
    """Recompute every customer's stats from the orders; returns the customers with stats.

    On PostgreSQL the figures are computed in arrays and swapped in (``stats_full``); on SQLite by the SQL of the
    incremental refresh, over every customer.
    """
    started = timezone.now()
    now = now or started
    if connection.vendor == "postgresql":
        count = stats_replace_all(
            currency=default_currency(), refreshed_at=now, fallback=lambda: _stats_insert(scope=None, now=now)
        )
        StatsRecompute.objects.create(started_at=started, finished_at=timezone.now(), customers=count)
        return count
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {CustomerStats._meta.db_table}")
        count = _stats_insert(scope=None, now=now)
        StatsRecompute.objects.create(started_at=started, finished_at=timezone.now(), customers=count)
    return count


def rfm_snapshot_take(*, level: str, month: dt.date, as_of: dt.date) -> int:
    """Store every customer's R, F and M of ``level`` for ``month`` (replacing what was stored), as of ``as_of``.

    As of today the ranks come from the maintained stats; as of a past day (a month that was never snapshotted)
    they are computed from the orders placed up to the end of that day, by the same rules.
    """
    rules = rfm_rules(level=level)
    month = month_start(month)
    rows = stats_rows(level=level) if as_of >= local_today() else order_rows_as_of(level=level, as_of=as_of)
    ranked = ranked_rows(rules=rules, rows=rows, as_of=as_of).values("customer", "r", "f", "m")
    inner, params = ranked.query.sql_with_params()
    quote = connection.ops.quote_name
    table = RfmSnapshot._meta.db_table
    picked = ", ".join(f"sub.{quote(name)}" for name in ("customer", "r", "f", "m"))
    sql = (
        f"INSERT INTO {table} (month, level, as_of, customer_id, r, f, m)"
        f" SELECT %s, %s, %s, {picked} FROM ({inner}) sub"
    )
    with transaction.atomic():
        RfmSnapshot.objects.filter(level=level, month=month).delete()
        with connection.cursor() as cursor:
            cursor.execute(sql, [month, level, as_of, *params])
            return int(cursor.rowcount)


def rfm_snapshots_take(*, today: dt.date | None = None) -> int:
    """This month's snapshot (as of today) for both levels, and last month's (as of its last day) when missing."""
    today = today or local_today()
    this_month = month_start(today)
    last_month = add_months(this_month, -1)
    written = 0
    for level in CustomerLevel.values:
        if not RfmSnapshot.objects.filter(level=level, month=last_month).exists():
            written += rfm_snapshot_take(level=level, month=last_month, as_of=this_month - dt.timedelta(days=1))
        written += rfm_snapshot_take(level=level, month=this_month, as_of=today)
    return written


def analytics_nightly_run(*, force: bool = False) -> bool:
    """Recompute every stat and take the month's RFM snapshots, once a day from ``NIGHTLY_HOUR``; True if it ran.

    Called every hour by the scheduler: it runs when no full recompute has finished since today's nightly hour
    (or never has), so a scheduler that was down at night catches up at once.
    """
    now = local_now()
    due_from = now.replace(hour=NIGHTLY_HOUR, minute=0, second=0, microsecond=0)
    if now < due_from:
        due_from -= dt.timedelta(days=1)
    last = StatsRecompute.objects.order_by("-finished_at").values_list("finished_at", flat=True).first()
    if not force and last is not None and last >= due_from:
        return False
    customers = stats_recompute_all()
    snapshots = rfm_snapshots_take()
    try:
        predicted = predictions_store(today=now.date())
        prediction_calibration_store(today=now.date())
    except Exception:  # the stats and snapshots stand even when the models cannot be fitted tonight
        logger.exception("analytics nightly: the predictions could not be computed")
        predicted = 0
    partners = basket_partners_rebuild(today=now.date())
    # The sales facts catch what no fact carried (orders edited in place, deleted products): rebuilt whole.
    sales_orders = sales_facts_rebuild()
    # The basket screen's day packs went with the old facts: made again now, not at the worker's next minute.
    basket_packs_fill()
    logger.info(
        "analytics nightly: %d customers, %d snapshot rows, %d predictions, %d bought-together rows,"
        " %d sales order facts",
        customers,
        snapshots,
        predicted,
        partners,
        sales_orders,
    )
    return True


def predictions_store(*, today: dt.date) -> int:
    """Fit the models on the whole history and store every customer's prediction (replacing yesterday's)."""
    rows = [
        CustomerPrediction(
            company_id=prediction.key[1] if prediction.key[0] == "company" else None,
            contact_id=prediction.key[1] if prediction.key[0] == "contact" else None,
            probability_alive=prediction.probability_alive,
            expected_orders_90_days=prediction.expected_orders_90_days,
            expected_order_value=_money(prediction.expected_order_value),
            clv_365_days=_money(prediction.clv_365_days),
            usual_interval_days=prediction.usual_interval_days,
            overdue=prediction.overdue,
            computed_on=today,
        )
        for prediction in customer_predictions(today=today)
    ]
    with transaction.atomic():
        # Deleted, not truncated: the prediction page goes on reading yesterday's rows until this commits.
        CustomerPrediction.objects.all().delete()
        if connection.vendor == "postgresql":
            _predictions_copy(rows)
        else:
            CustomerPrediction.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


_PREDICTION_COLUMNS = (
    "company_id",
    "contact_id",
    "probability_alive",
    "expected_orders_90_days",
    "expected_order_value",
    "clv_365_days",
    "usual_interval_days",
    "overdue",
    "computed_on",
)


def _predictions_copy(rows: Sequence[CustomerPrediction]) -> None:
    """The rows written by COPY: building and sending 538,500 INSERT rows took 44 s through the ORM."""
    table = connection.ops.quote_name(CustomerPrediction._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(_PREDICTION_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([getattr(row, column) for column in _PREDICTION_COLUMNS])


# The reorder model is checked against the last half year: long enough for most B2B reorder cycles to show.
CALIBRATION_HOLDOUT_DAYS = 180


def prediction_calibration_store(
    *, today: dt.date, holdout_days: int = CALIBRATION_HOLDOUT_DAYS
) -> PredictionCalibration | None:
    """Check the reorder model against a hold-out period and keep the result for the prediction page.

    Fitting reads every customer's order days, too slow for a page view on a large shop: the nightly run does it.
    None (and nothing kept) when the shop has too few customers before the cut-off to fit on.
    """
    try:
        calibration = clv_calibration(today=today, holdout_days=holdout_days)
    except ValueError:
        calibration = None
    with transaction.atomic():
        PredictionCalibration.objects.all().delete()
        if calibration is None:
            return None
        return PredictionCalibration.objects.create(
            computed_on=today,
            cutoff=calibration.cutoff,
            holdout_days=calibration.holdout_days,
            customers=calibration.customers,
            predicted_total=calibration.predicted_total,
            actual_total=calibration.actual_total,
            rows=[
                {
                    "repeat_purchases": row.repeat_purchases,
                    "customers": row.customers,
                    "predicted": row.predicted,
                    "actual": row.actual,
                }
                for row in calibration.rows
            ],
        )


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(round(value))


# --- RFM settings ---------------------------------------------------------------------------------------------


def _bounds(values: Sequence[object], *, label: str, field: str, integer: bool) -> list[int] | list[str]:
    if len(values) != 4:
        raise DomainError(_("%(axis)s: enter four boundaries for ranks 1 to 5.") % {"axis": label}, field=field)
    numbers: list[Decimal] = []
    for value in values:
        try:
            number = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            raise DomainError(
                _("%(axis)s: “%(value)s” is not a number.") % {"axis": label, "value": value}, field=field
            ) from None
        if not number.is_finite() or number <= 0 or (integer and number != number.to_integral_value()):
            message = (
                _("%(axis)s: each boundary must be a whole number of at least 1.")
                if integer
                else _("%(axis)s: each boundary must be an amount greater than 0.")
            )
            raise DomainError(message % {"axis": label}, field=field)
        numbers.append(number)
    if any(later <= earlier for earlier, later in itertools.pairwise(numbers)):
        raise DomainError(
            _("%(axis)s: the boundaries must ascend, each larger than the one before.") % {"axis": label}, field=field
        )
    return [int(n) for n in numbers] if integer else [str(n) for n in numbers]


def _groups_clean(groups: Sequence[RfmGroupDef]) -> list[RfmGroupDef]:
    seen_names: set[str] = set()
    owner: dict[tuple[int, int], str] = {}
    cleaned = []
    for group in groups:
        name = group.name.strip()
        if not name:
            raise DomainError(_("Every group needs a name."), field="groups")
        if name in seen_names:
            raise DomainError(
                _("Two groups are named “%(name)s”; use different names.") % {"name": name}, field="groups"
            )
        seen_names.add(name)
        for r, f in group.cells:
            if not (1 <= r <= 5 and 1 <= f <= 5):
                raise DomainError(_("Cells are R and F ranks from 1 to 5."), field="groups")
            if (r, f) in owner:
                raise DomainError(
                    _("The cell R%(r)d×F%(f)d is in both “%(first)s” and “%(second)s”; put it in one group only.")
                    % {"r": r, "f": f, "first": owner[(r, f)], "second": name},
                    field="groups",
                )
            owner[(r, f)] = name
        cleaned.append(RfmGroupDef(name=name, cells=group.cells))
    return cleaned


@transaction.atomic
def rfm_settings_update(
    *,
    level: str,
    recency_method: str,
    recency_bounds: Sequence[object],
    frequency_method: str,
    frequency_bounds: Sequence[object],
    monetary_method: str,
    monetary_bounds: Sequence[object],
    groups: Sequence[RfmGroupDef],
) -> RfmSettings:
    """Save the boundaries and groups of ``level``; raises ``DomainError`` naming the field to correct.

    Fixed boundaries must ascend (recency in days, frequency in orders, monetary in the shop's currency); with
    quintiles the boundaries are taken from the data and the entered ones are kept for later.
    """
    if level not in CustomerLevel.values:
        raise DomainError(_("Unknown customer level."), field="level")
    for method, field in (
        (recency_method, "recency_method"),
        (frequency_method, "frequency_method"),
        (monetary_method, "monetary_method"),
    ):
        if method not in RankMethod.values:
            raise DomainError(_("Choose fixed boundaries or quintiles."), field=field)
    settings, _created = RfmSettings.objects.get_or_create(level=level)
    settings.recency_method = recency_method
    settings.recency_bounds = _bounds(recency_bounds, label=_("Recency"), field="recency_bounds", integer=True)
    settings.frequency_method = frequency_method
    settings.frequency_bounds = _bounds(frequency_bounds, label=_("Frequency"), field="frequency_bounds", integer=True)
    settings.monetary_method = monetary_method
    settings.monetary_bounds = _bounds(monetary_bounds, label=_("Monetary"), field="monetary_bounds", integer=False)
    settings.save()
    cleaned = _groups_clean(groups)
    settings.groups.all().delete()
    RfmGroup.objects.bulk_create(
        RfmGroup(settings=settings, name=group.name, cells=sorted([r, f] for r, f in group.cells), sort_order=index)
        for index, group in enumerate(cleaned)
    )
    return settings


def kpi_goals_set(
    *, month: dt.date, targets: dict[str, Decimal | None], actor: User, ip_address: str | None = None
) -> None:
    """Set the month's goals: a KPI with a target gets it, one with None has its goal removed. Audit-logged."""
    month = month.replace(day=1)
    unknown = set(targets) - set(DashboardKpi.values)
    if unknown:
        raise DomainError(_("Unknown KPI: %(kpi)s") % {"kpi": ", ".join(sorted(unknown))})
    with transaction.atomic():
        for kpi, target in targets.items():
            if target is None:
                removed = KpiGoal.objects.filter(kpi=kpi, month=month).delete()[0]
                if removed:
                    audit_record(
                        actor=actor,
                        action=AuditAction.DELETE,
                        target=KpiGoal(kpi=kpi, month=month, target=Decimal(0)),
                        changes={"kpi": kpi, "month": month.isoformat()},
                        ip_address=ip_address,
                    )
                continue
            if target < 0:
                raise DomainError(_("A goal cannot be negative."), field=kpi)
            goal, created = KpiGoal.objects.update_or_create(
                kpi=kpi, month=month, defaults={"target": target, "set_by": actor}
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE if created else AuditAction.UPDATE,
                target=goal,
                changes={"target": str(target)},
                ip_address=ip_address,
            )


# The window of 「よく一緒に購入されている商品」 as mails and product pages show it: the last year of orders.
BASKET_PARTNER_DAYS = 365
BASKET_PARTNERS_PER_PRODUCT = 20


def basket_partners_rebuild(
    *,
    today: dt.date | None = None,
    days: int = BASKET_PARTNER_DAYS,
    per_product: int = BASKET_PARTNERS_PER_PRODUCT,
    min_orders_together: int = 2,
) -> int:
    """Store every product's most frequent partners over the ``days`` site-zone days before ``today``; returns rows.

    Replaces the previous build in one transaction, so readers see the old partners or the new, never a mix.
    """
    today = today or local_today()
    start, end = start_of_local_day(today - dt.timedelta(days=days)), start_of_local_day(today)
    scope = basket_scope(start=start, end=end)
    partners = every_products_partners(scope=scope, per_product=per_product, min_orders_together=min_orders_together)
    with transaction.atomic():
        BasketPartner.objects.all().delete()
        BasketPartner.objects.bulk_create(
            (
                BasketPartner(
                    product_id=row.product_id,
                    partner_id=row.partner_id,
                    rank=row.rank,
                    orders_together=row.orders_together,
                    confidence=row.confidence,
                    lift=row.lift,
                )
                for row in partners
            ),
            batch_size=5000,
        )
        rows = len(partners)
        BasketPartnerBuild.objects.create(
            built_at=timezone.now(),
            window_start=start,
            window_end=end,
            orders_total=scope.lines.orders_total,
            partners=rows,
        )
    return rows
