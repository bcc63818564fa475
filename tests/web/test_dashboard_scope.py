"""A sales rep's dashboard counts their own accounts only (ADR 0004); others see the whole shop."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.factories import CompanyFactory, ContactFactory, OrderFactory, UserFactory
from tokui.accounts.enums import Role

pytestmark = pytest.mark.django_db


@time_machine.travel(dt.datetime(2026, 11, 15, 3, 0, tzinfo=dt.UTC), tick=False)
def test_a_sales_rep_sees_the_revenue_of_their_own_accounts(client: Client) -> None:
    rep = UserFactory(username="rep", role=Role.SALES_REP)
    recent = timezone.now() - dt.timedelta(hours=1)
    OrderFactory(company=CompanyFactory(assigned_rep=rep), placed_at=recent, total=Decimal(12345))
    OrderFactory(company=CompanyFactory(), placed_at=recent, total=Decimal(50000))
    OrderFactory(company=None, contact=ContactFactory(company=None), placed_at=recent, total=Decimal(7000))

    client.force_login(rep)
    page = client.get("/").content.decode()
    assert "¥12,345" in page and "¥69,345" not in page

    client.force_login(UserFactory(username="manager", role=Role.MARKETER))
    assert "¥69,345" in client.get("/").content.decode()
