"""The RFM boundaries and groups a new installation starts with, sized for Japanese B2B wholesale (and B2C)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from tokui.analytics.enums import CustomerLevel, RankMethod
from tokui.analytics.types import RfmGroupDef, RfmRules


def _cells(*pairs: tuple[int, int]) -> frozenset[tuple[int, int]]:
    return frozenset(pairs)


def default_groups() -> tuple[RfmGroupDef, ...]:
    """Every one of the 25 R×F cells in exactly one group; names in the active language (Japanese by default)."""
    return (
        # Ordered recently, once: the second order is the one to win (F2 転換).
        RfmGroupDef(name=_("New customers"), cells=_cells((5, 1), (4, 1))),
        RfmGroupDef(name=_("Loyal customers"), cells=_cells((5, 4), (5, 5), (4, 4), (4, 5))),
        RfmGroupDef(name=_("Stable customers"), cells=_cells((5, 2), (5, 3), (4, 2), (4, 3), (3, 2), (3, 3))),
        # Used to order often, or ordered once some time ago, and the orders are slowing: worth a call now.
        RfmGroupDef(name=_("At-risk customers"), cells=_cells((3, 1), (3, 4), (3, 5), (2, 2), (2, 3), (2, 4), (2, 5))),
        RfmGroupDef(name=_("Dormant customers"), cells=_cells((2, 1), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5))),
    )


def default_rules(level: str) -> RfmRules:
    if level == CustomerLevel.CONTACT:
        # Consumers reorder less often and spend less than shops buying stock.
        return RfmRules(
            level=level,
            recency_method=RankMethod.FIXED,
            recency_bounds=(30, 90, 180, 365),
            frequency_method=RankMethod.FIXED,
            frequency_bounds=(2, 3, 5, 10),
            monetary_method=RankMethod.FIXED,
            monetary_bounds=(Decimal(10_000), Decimal(30_000), Decimal(100_000), Decimal(300_000)),
            groups=default_groups(),
        )
    # A retailer restocking from a wholesaler orders about monthly; a quarter without an order is a warning.
    return RfmRules(
        level=level,
        recency_method=RankMethod.FIXED,
        recency_bounds=(30, 60, 90, 180),
        frequency_method=RankMethod.FIXED,
        frequency_bounds=(3, 6, 12, 24),
        monetary_method=RankMethod.FIXED,
        monetary_bounds=(Decimal(100_000), Decimal(300_000), Decimal(1_000_000), Decimal(3_000_000)),
        groups=default_groups(),
    )
