"""Customer reads other apps build on."""

from __future__ import annotations

import pytest

from tests.factories import CompanyFactory, ContactFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.customers.selectors import buyer_ids_matching

pytestmark = pytest.mark.django_db


def test_report_filters_keep_buyers_as_the_sales_facts_name_them() -> None:
    rep, other_rep = UserFactory(role=Role.SALES_REP), UserFactory(role=Role.SALES_REP)
    manager = UserFactory(role=Role.MARKETER)
    tokyo_small = CompanyFactory(prefecture="13", size="small", assigned_rep=rep)
    tokyo_large = CompanyFactory(prefecture="13", size="large", assigned_rep=other_rep)
    osaka_small = CompanyFactory(prefecture="27", size="small", assigned_rep=rep)
    tokyo_person = ContactFactory(company=None, prefecture="13")
    ContactFactory(company=tokyo_large, prefecture="27")  # a company's contact is not a buyer of its own

    def buyers(user: object = manager, **filters: object) -> set[int]:
        kept = buyer_ids_matching(user=user, **filters)  # type: ignore[arg-type]
        assert kept is not None
        return set(kept)

    assert buyer_ids_matching(user=manager) is None  # no filter: every buyer, no list to match

    # A prefecture keeps its companies and its individual customers (minus their contact id).
    assert buyers(prefecture="13") == {tokyo_small.pk, tokyo_large.pk, -tokyo_person.pk}
    # An individual has no rep and no size.
    assert buyers(prefecture="13", size="small") == {tokyo_small.pk}
    assert buyers(assigned_rep_id=rep.pk) == {tokyo_small.pk, osaka_small.pk}
    # A sales rep sees only their companies, whatever the filter.
    assert buyers(user=rep, prefecture="13") == {tokyo_small.pk}
    assert buyers(user=rep) == {tokyo_small.pk, osaka_small.pk}
