"""A rule → one ORM query over the subject's rows (companies or contacts), on SQLite and PostgreSQL.

Every condition is a ``Q`` made of ``Exists`` / ``Subquery`` over the related tables, so counting a segment,
listing its members and refreshing its membership are each one statement, whatever the number of customers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from tokui.accounts.models import User
from tokui.core.lookups import ids_q
from tokui.customers.models import Company, Contact
from tokui.customers.selectors import companies_visible_to, contacts_visible_to
from tokui.segments.enums import Subject
from tokui.segments.rules import GroupNode, RuleContext, rule_parse, rule_q


def subject_rows(subject: Subject, *, user: User | None = None) -> QuerySet[Any]:
    """Everyone a segment over ``subject`` can list: not archived, and only the rep's own accounts for a rep."""
    if subject == Subject.COMPANY:
        rows: QuerySet[Any] = companies_visible_to(user=user) if user is not None else Company.objects.all()
    else:
        rows = contacts_visible_to(user=user) if user is not None else Contact.objects.all()
    return rows.filter(archived_at__isnull=True)


def rule_matches(
    *,
    rule: dict[str, Any] | GroupNode,
    subject: Subject,
    now: dt.datetime | None = None,
    user: User | None = None,
    customer_ids: Iterable[int] | None = None,
) -> QuerySet[Any]:
    """The subject rows matching ``rule`` at ``now`` (default: now), as a lazy query.

    ``customer_ids`` restricts the evaluation to those customers (refresh for new facts); ``user`` to what they see.
    """
    root = rule if isinstance(rule, GroupNode) else rule_parse(rule, subject=subject, check=False)
    ids = None if customer_ids is None else tuple(customer_ids)
    ctx = RuleContext(subject=subject, now=now or timezone.now(), customer_ids=ids)
    rows = subject_rows(subject, user=user)
    if ids is not None:
        rows = rows.filter(ids_q("pk", ids))
    # Unordered: counts and set differences must not sort a million rows; callers that show rows order them.
    return rows.filter(rule_q(root, ctx)).order_by()
