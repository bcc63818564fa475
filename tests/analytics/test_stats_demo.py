"""Stats and RFM on the demo data, every figure against the pandas reference (tests/analytics/reference.py)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from tests.analytics.reference import expected_ranks, expected_stats, percentile_disc
from tokui.analytics.enums import CustomerLevel, RankMethod
from tokui.analytics.models import CustomerStats, RfmSnapshot
from tokui.analytics.rfm_defaults import default_rules
from tokui.analytics.selectors import (
    ranked_rows,
    rfm_customer_ids,
    rfm_grid,
    rfm_movement,
    rfm_rules,
    stats_rows,
)
from tokui.analytics.services import (
    rfm_settings_update,
    rfm_snapshot_take,
    rfm_snapshots_take,
    stats_recompute_all,
    stats_refresh,
)
from tokui.core.time import add_months
from tokui.demo.generator import load_demo_data

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TODAY = dt.date(2026, 3, 20)
FIELDS = (
    "first_order_on",
    "last_order_on",
    "order_count",
    "order_days",
    "total_spend",
    "average_spend",
    "average_interval_days",
    "median_interval_days",
    "predicted_next_order_on",
)


def _stored() -> dict[tuple[str, int], dict[str, Any]]:
    rows = {}
    for stats in CustomerStats.objects.all():
        key = ("company", stats.company_id) if stats.company_id else ("contact", stats.contact_id)
        figures = {name: getattr(stats, name) for name in FIELDS}
        figures["favourites"] = [
            stats.favourite_category_1_id,
            stats.favourite_category_2_id,
            stats.favourite_category_3_id,
        ]
        rows[(key[0], int(key[1] or 0))] = figures
    return rows


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) < 1e-9
    return bool(a == b)


@pytest.fixture
def demo() -> None:
    load_demo_data(today=TODAY, scale=0.05)


def test_every_figure_of_every_customer_matches_the_reference(demo: None) -> None:
    stats_recompute_all()
    stored, expected = _stored(), expected_stats()
    assert set(stored) == set(expected)
    assert {level for level, _pk in expected} == {"company", "contact"}, "the demo has B2B and B2C customers"
    for key, figures in expected.items():
        for name, value in figures.items():
            assert _close(stored[key][name], value), (key, name, stored[key][name], value)


def test_incremental_refresh_gives_the_same_numbers_as_the_full_recompute(demo: None) -> None:
    stats_recompute_all()
    full = _stored()
    companies = [pk for level, pk in full if level == "company"]
    contacts = [pk for level, pk in full if level == "contact"]
    CustomerStats.objects.all().delete()
    # In a few uneven batches, as facts would arrive.
    for start in range(0, len(companies), 37):
        stats_refresh(company_ids=companies[start : start + 37])
    stats_refresh(contact_ids=contacts)
    assert _stored() == full


def test_rfm_grid_counts_revenue_and_shares_match_the_reference(demo: None) -> None:
    stats_recompute_all()
    expected = expected_stats()
    for level in CustomerLevel.values:
        rules = default_rules(level)
        ranks = expected_ranks(
            expected,
            level=level,
            as_of=TODAY,
            recency=rules.recency_bounds,
            frequency=rules.frequency_bounds,
            monetary=rules.monetary_bounds,
        )
        spend = {pk: figures["total_spend"] for (lv, pk), figures in expected.items() if lv == level}
        grid = rfm_grid(level=level, as_of=TODAY)
        assert grid.customers == len(ranks)
        assert grid.revenue == sum(spend.values(), Decimal(0))
        counts = Counter((r, f) for r, f, _m in ranks.values())
        for row in grid.rows:
            for cell in row:
                assert cell.customers == counts[(cell.r, cell.f)], (level, cell)
                in_cell = [pk for pk, (r, f, _m) in ranks.items() if (r, f) == (cell.r, cell.f)]
                assert cell.revenue == sum((spend[pk] for pk in in_cell), Decimal(0))
                assert cell.customer_share == pytest.approx(len(in_cell) / len(ranks))
        # A group's customers are exactly the customers of its cells.
        for group in rules.groups:
            ids = set(rfm_customer_ids(level=level, group=group.name, as_of=TODAY))
            assert ids == {pk for pk, (r, f, _m) in ranks.items() if (r, f) in group.cells}


def test_quintile_boundaries_follow_percentile_disc(demo: None) -> None:
    stats_recompute_all()
    expected = {pk: f for (level, pk), f in expected_stats().items() if level == "company"}
    rules = rfm_rules(level=CustomerLevel.COMPANY)
    rfm_settings_update(
        level=CustomerLevel.COMPANY,
        recency_method=RankMethod.QUANTILE,
        recency_bounds=rules.recency_bounds,
        frequency_method=RankMethod.QUANTILE,
        frequency_bounds=rules.frequency_bounds,
        monetary_method=RankMethod.QUANTILE,
        monetary_bounds=rules.monetary_bounds,
        groups=rules.groups,
    )
    quintiles = (0.2, 0.4, 0.6, 0.8)
    lasts = [f["last_order_on"] for f in expected.values()]
    # Recency ranks from the newest: R5 is the newest fifth (ties included), so its quantiles count from the top.
    r_bounds = [percentile_disc(lasts, q, descending=True) for q in quintiles]
    f_bounds = [percentile_disc([f["order_count"] for f in expected.values()], q) for q in quintiles]
    m_bounds = [percentile_disc([f["total_spend"] for f in expected.values()], q) for q in quintiles]
    want = {
        pk: (
            5 - sum(1 for bound in r_bounds if figures["last_order_on"] < bound),
            1 + sum(1 for bound in f_bounds if figures["order_count"] > bound),
            1 + sum(1 for bound in m_bounds if figures["total_spend"] > bound),
        )
        for pk, figures in expected.items()
    }
    ranked = ranked_rows(rules=rfm_rules(level=CustomerLevel.COMPANY), rows=stats_rows(level="company"), as_of=TODAY)
    assert {pk: (r, f, m) for pk, r, f, m in ranked.values_list("customer", "r", "f", "m")} == want
    grid = rfm_grid(level=CustomerLevel.COMPANY, as_of=TODAY)
    got = Counter({(cell.r, cell.f): cell.customers for row in grid.rows for cell in row if cell.customers})
    assert got == Counter((r, f) for r, f, _m in want.values())


def test_snapshot_of_a_past_month_from_the_orders_matches_the_reference_as_of_that_day(demo: None) -> None:
    last_day = dt.date(2026, 2, 28)
    rfm_snapshot_take(level=CustomerLevel.COMPANY, month=last_day, as_of=last_day)
    rules = default_rules(CustomerLevel.COMPANY)
    as_of_stats = expected_stats(until=last_day)
    assert as_of_stats != expected_stats(), "the demo has orders after the snapshot day"
    ranks = expected_ranks(
        as_of_stats,
        level=CustomerLevel.COMPANY,
        as_of=last_day,
        recency=rules.recency_bounds,
        frequency=rules.frequency_bounds,
        monetary=rules.monetary_bounds,
    )
    stored = {
        s.customer_id: (s.r, s.f, s.m)
        for s in RfmSnapshot.objects.filter(level=CustomerLevel.COMPANY, month=dt.date(2026, 2, 1))
    }
    assert stored == ranks


def test_movement_counts_customers_from_last_months_group_to_this_months(demo: None, time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2026, 3, 20, 3, tzinfo=dt.UTC))
    stats_recompute_all()
    rfm_snapshots_take(today=TODAY)
    rules = rfm_rules(level=CustomerLevel.COMPANY)
    group_of = {cell: index for index, group in enumerate(rules.groups) for cell in group.cells}
    snapshots = RfmSnapshot.objects.filter(level=CustomerLevel.COMPANY)
    before = {s.customer_id: group_of.get((s.r, s.f), -1) for s in snapshots.filter(month=dt.date(2026, 2, 1))}
    now = {s.customer_id: group_of.get((s.r, s.f), -1) for s in snapshots.filter(month=dt.date(2026, 3, 1))}
    assert before and now
    movement = rfm_movement(level=CustomerLevel.COMPANY, to_month=TODAY)
    assert movement.from_month == add_months(dt.date(2026, 3, 1), -1)
    keys: list[int | None] = [*range(len(rules.groups)), -1, None]
    expected = [[0] * len(keys) for _ in keys]
    for customer in set(before) | set(now):
        expected[keys.index(before.get(customer))][keys.index(now.get(customer))] += 1
    assert movement.matrix == expected
    assert sum(map(sum, movement.matrix)) == len(set(before) | set(now))
    # Someone moved: a month of the demo changes some customers' groups.
    assert any(movement.matrix[i][j] for i in range(len(keys)) for j in range(len(keys)) if i != j)
