"""Every write of the segments app: create and change segments, refresh their membership, static lists.

A refresh compares what the rule returns with the stored members in SQL (two set differences), then inserts and
deletes the difference in bulk and appends one ``segment_entered`` / ``segment_left`` fact per change on the
timeline, in the same transaction (the facts reach scenarios through the outbox like any other fact).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.core.errors import DomainError
from tokui.customers.models import Company, Contact
from tokui.segments.compiler import rule_matches
from tokui.segments.enums import SegmentKind, StaticSource, Subject
from tokui.segments.models import Segment, SegmentMember, SegmentRuleVersion, SegmentSize
from tokui.segments.rules import ConditionNode, GroupNode, RuleError, empty_rule, rule_describe, rule_dump, rule_parse
from tokui.tracking.enums import EventType
from tokui.tracking.services import events_append_rows
from tokui.tracking.types import EventIn

BATCH = 5000
"""Members inserted, deleted and facts appended per statement."""


class SegmentRuleError(DomainError):
    """A rule that cannot be saved; ``field`` is the path of the bad condition ("条件 1 › 2")."""

    code = "invalid_rule"


@dataclass(frozen=True, slots=True)
class RefreshResult:
    entered: int
    left: int
    members: int


def _condition_types(node: GroupNode | ConditionNode) -> set[str]:
    if isinstance(node, ConditionNode):
        return {node.type}
    return set().union(*(_condition_types(child) for child in node.children)) if node.children else set()


def rule_clean(*, rule: Any, subject: Subject) -> tuple[dict[str, Any], GroupNode]:
    """The canonical rule to store, or ``SegmentRuleError`` in Japanese naming the bad condition."""
    try:
        root = rule_parse(rule, subject=subject)
    except RuleError as error:
        raise SegmentRuleError(error.message, field=error.path or "rule") from None
    return rule_dump(root), root


def _name_clean(name: str) -> str:
    name = name.strip()
    if not name:
        raise DomainError(_("Enter a name for the segment."), field="name")
    if len(name) > 100:
        raise DomainError(_("A segment name has at most 100 characters."), field="name")
    return name


def _version_add(*, segment: Segment, rule: dict[str, Any], root: GroupNode, actor: User | None) -> None:
    SegmentRuleVersion.objects.create(
        segment=segment,
        number=segment.rule_version,
        rule=rule,
        summary=rule_describe(root),
        changed_by=actor,
        changed_at=timezone.now(),
    )


def _refresh_after_commit(segment_id: int) -> None:
    from tokui.segments.tasks import segment_refresh_task  # tasks import services

    transaction.on_commit(lambda: segment_refresh_task.enqueue(segment_id=segment_id))


def segment_create(
    *,
    name: str,
    subject: Subject,
    actor: User | None,
    description: str = "",
    kind: SegmentKind = SegmentKind.DYNAMIC,
    rule: Any = None,
) -> Segment:
    """Save a new segment; a dynamic one is filled by a refresh right after commit."""
    name = _name_clean(name)
    stored, root = rule_clean(rule=rule if rule is not None else empty_rule(), subject=subject)
    with transaction.atomic():
        segment = Segment.objects.create(
            name=name,
            description=description.strip(),
            subject=subject,
            kind=kind,
            rule=stored if kind == SegmentKind.DYNAMIC else {},
            condition_types=sorted(_condition_types(root)),
            created_by=actor,
        )
        if kind == SegmentKind.DYNAMIC:
            _version_add(segment=segment, rule=stored, root=root, actor=actor)
            _refresh_after_commit(segment.pk)
    return segment


def segment_update(
    *,
    segment: Segment,
    actor: User | None,
    name: str | None = None,
    description: str | None = None,
    rule: Any = None,
) -> Segment:
    """Change the name, description or rule; a changed rule becomes a new version and the members follow it."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if name is not None:
            segment.name = _name_clean(name)
        if description is not None:
            segment.description = description.strip()
        changed = False
        if rule is not None and segment.kind == SegmentKind.DYNAMIC:
            stored, root = rule_clean(rule=rule, subject=Subject(segment.subject))
            if stored != segment.rule:
                changed = True
                segment.rule = stored
                segment.rule_version += 1
                segment.condition_types = sorted(_condition_types(root))
                _version_add(segment=segment, rule=stored, root=root, actor=actor)
        segment.save()
        if changed:
            _refresh_after_commit(segment.pk)
    return segment


def segment_archive(*, segment: Segment) -> Segment:
    Segment.objects.filter(pk=segment.pk).update(archived_at=timezone.now())
    segment.refresh_from_db()
    return segment


# --- Membership ----------------------------------------------------------------------------------------------------


def _facts(segment: Segment, customer_ids: Sequence[int], *, type: str, at: dt.datetime) -> list[EventIn]:
    properties = {"segment_id": segment.pk, "segment_name": segment.name}
    if segment.subject == Subject.COMPANY:
        return [EventIn(type=type, occurred_at=at, company_id=pk, properties=properties) for pk in customer_ids]
    companies = dict(Contact.objects.filter(pk__in=customer_ids).values_list("pk", "company_id"))
    return [
        EventIn(type=type, occurred_at=at, contact_id=pk, company_id=companies.get(pk), properties=properties)
        for pk in customer_ids
    ]


def _members_insert(segment_id: int, customer_ids: list[int], at: dt.datetime) -> None:
    """Member rows as plain rows (no model instances): one statement per batch, duplicates skipped."""
    table = SegmentMember._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} (segment_id, customer_id, entered_at) SELECT %s, unnest(%s::bigint[]), %s"
                " ON CONFLICT DO NOTHING",
                [segment_id, customer_ids, at],
            )
        else:
            cursor.executemany(
                f"INSERT OR IGNORE INTO {table} (segment_id, customer_id, entered_at) VALUES (%s, %s, %s)",
                [(segment_id, pk, at) for pk in customer_ids],
            )


def _apply(segment: Segment, *, entered: list[int], left: list[int], at: dt.datetime) -> None:
    """Write the difference in batches: member rows, then one fact per change.

    The facts go through ``events_append_rows``: through the outbox once an app consumes segment facts (scenarios
    starting on entry), as plain already-dispatched rows while none does.
    """
    for start in range(0, len(entered), BATCH):
        chunk = entered[start : start + BATCH]
        _members_insert(segment.pk, chunk, at)
        events_append_rows(events=_facts(segment, chunk, type=EventType.SEGMENT_ENTERED, at=at))
    for start in range(0, len(left), BATCH):
        chunk = left[start : start + BATCH]
        SegmentMember.objects.filter(segment=segment, customer_id__in=chunk).delete()
        events_append_rows(events=_facts(segment, chunk, type=EventType.SEGMENT_LEFT, at=at))


def segment_refresh(
    *, segment: Segment, now: dt.datetime | None = None, customer_ids: Iterable[int] | None = None
) -> RefreshResult:
    """Bring the members of a dynamic segment in line with its rule (all customers, or only ``customer_ids``).

    The segment row is locked for the refresh, so two workers refreshing the same segment never write a change
    twice. A full refresh records the size for the chart.
    """
    now = now or timezone.now()
    ids = None if customer_ids is None else sorted(set(customer_ids))
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if segment.kind != SegmentKind.DYNAMIC or segment.archived_at is not None:
            return RefreshResult(entered=0, left=0, members=segment.member_count)
        desired = rule_matches(rule=segment.rule, subject=Subject(segment.subject), now=now, customer_ids=ids)
        current = SegmentMember.objects.filter(segment=segment)
        if ids is None:
            # Everyone: the two set differences in SQL, so a million members never travel to Python. NOT EXISTS, not
            # NOT IN: PostgreSQL turns NOT EXISTS into an anti-join, while NOT IN over a subquery larger than
            # work_mem is re-run for every row.
            member = current.filter(customer_id=OuterRef("pk"))
            entered = list(desired.exclude(Exists(member)).values_list("pk", flat=True))
            still_matching = desired.filter(pk=OuterRef("customer_id"))
            left = list(current.exclude(Exists(still_matching)).values_list("customer_id", flat=True))
        else:
            # A batch of customers: evaluate the rule once for them and compare the two small sets here.
            wanted = set(desired.values_list("pk", flat=True))
            present = set(current.filter(customer_id__in=ids).values_list("customer_id", flat=True))
            entered, left = sorted(wanted - present), sorted(present - wanted)
        _apply(segment, entered=entered, left=left, at=now)
        if ids is None:
            members = SegmentMember.objects.filter(segment=segment).count()
        else:
            members = segment.member_count + len(entered) - len(left)
        Segment.objects.filter(pk=segment.pk).update(member_count=members, refreshed_at=now)
        if ids is None or entered or left:
            _size_record(segment, now=now, members=members, entered=len(entered), left=len(left), full=ids is None)
    return RefreshResult(entered=len(entered), left=len(left), members=members)


SIZE_MERGE = dt.timedelta(minutes=10)
"""Changes from facts within this long of the last size row update it instead of adding a row (a busy shop's
stream of facts would otherwise add a row per batch)."""


def _size_record(segment: Segment, *, now: dt.datetime, members: int, entered: int, left: int, full: bool) -> None:
    last = SegmentSize.objects.filter(segment=segment).order_by("-measured_at").first()
    if not full and last is not None and now - last.measured_at < SIZE_MERGE:
        SegmentSize.objects.filter(pk=last.pk).update(
            members=members, entered=F("entered") + entered, left=F("left") + left
        )
        return
    SegmentSize.objects.create(segment=segment, measured_at=now, members=members, entered=entered, left=left)


# Which kinds of condition a fact can change: a segment that uses none of them is not re-evaluated for it.
AFFECTED_BY: dict[str, set[str]] = {
    EventType.ORDER_PLACED: {"purchased", "order_stats", "rfm", "cart_idle"},
    EventType.ORDER_CANCELLED: {"purchased", "order_stats", "rfm"},
    EventType.PRODUCT_VIEWED: {"viewed"},
    EventType.CATEGORY_VIEWED: {"viewed"},
    EventType.PAGE_VIEWED: {"viewed"},
    EventType.CART_ITEM_ADDED: {"cart_idle"},
    EventType.CART_ITEM_REMOVED: {"cart_idle"},
    EventType.CART_UPDATED: {"cart_idle"},
    EventType.CART_ABANDONED: {"cart_idle"},
    EventType.FAVORITE_ADDED: {"favorite"},
    EventType.FAVORITE_REMOVED: {"favorite"},
    EventType.MAIL_SENT: {"message"},
    EventType.MAIL_OPENED: {"message"},
    EventType.MAIL_CLICKED: {"message"},
    EventType.CONSENT_CHANGED: {"mail_reachable", "line_linked"},
    # A login or sign-up attaches the browser's earlier anonymous views and cart to the customer.
    EventType.LOGGED_IN: {"viewed", "cart_idle", "favorite"},
    EventType.SIGNED_UP: {"viewed", "cart_idle", "favorite"},
}
FACT_BATCH = 10_000
"""Customers re-evaluated per statement by the fact consumer. Large: a view condition's index scan costs about the
same for 2,000 customers as for 10,000, and the ids are one parameter (``core.lookups.InIds``) however many."""


def segments_refresh_for_customers(
    *,
    company_ids: Iterable[int],
    contact_ids: Iterable[int],
    condition_types: set[str] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Re-evaluate the dynamic segments that use ``condition_types`` (all when ``None``) for these customers only.

    A company's facts also concern its contacts (contact segments read their company's orders). Returns the number
    of membership changes.
    """
    companies = sorted(set(company_ids))
    contacts = set(contact_ids)
    contacts.update(Contact.objects.filter(company_id__in=companies).values_list("pk", flat=True))
    companies = sorted(
        set(companies)
        | set(Contact.objects.filter(pk__in=contacts, company_id__isnull=False).values_list("company_id", flat=True))
    )
    changes = 0
    segments = Segment.objects.filter(kind=SegmentKind.DYNAMIC, archived_at__isnull=True)
    for segment in segments:
        if condition_types is not None and not condition_types & set(segment.condition_types):
            continue
        ids = companies if segment.subject == Subject.COMPANY else sorted(contacts)
        for start in range(0, len(ids), FACT_BATCH):
            result = segment_refresh(segment=segment, now=now, customer_ids=ids[start : start + FACT_BATCH])
            changes += result.entered + result.left
    return changes


def segments_refresh_for_facts(*, event_ids: Sequence[int]) -> int:
    """The fact consumer: refresh, for the customers the facts name, the segments those facts can change."""
    from tokui.tracking.selectors import events_matching

    rows = events_matching().filter(pk__in=list(event_ids)).values_list("type", "company_id", "contact_id")
    companies: set[int] = set()
    contacts: set[int] = set()
    types: set[str] = set()
    for type, company_id, contact_id in rows:
        types |= AFFECTED_BY.get(type, set())
        if company_id:
            companies.add(company_id)
        if contact_id:
            contacts.add(contact_id)
    if not types:
        return 0
    return segments_refresh_for_customers(company_ids=companies, contact_ids=contacts, condition_types=types)


def segments_refresh_all(*, now: dt.datetime | None = None) -> int:
    """The periodic job: every dynamic segment in full (relative dates and idle carts change without facts)."""
    refreshed = 0
    for segment in Segment.objects.filter(kind=SegmentKind.DYNAMIC, archived_at__isnull=True).order_by("pk"):
        segment_refresh(segment=segment, now=now)
        refreshed += 1
    return refreshed


# --- Static lists --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaticListResult:
    segment: Segment
    matched: int
    unmatched: list[str]
    """Keys of the file that named nobody (the first 50), to show the user."""


KEY_KINDS = ("code", "email", "external_id")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(_("The file is neither UTF-8 nor Shift_JIS. Save it as CSV (UTF-8) and upload it again."))


def _keys_from_csv(data: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(_decode(data))))
    keys = [row[0].strip() for row in rows if row and row[0].strip()]
    # A header such as 顧客コード / email names the column, not a customer.
    if keys and keys[0].lower() in {"code", "email", "external_id", "顧客コード", "メールアドレス", "外部id", "id"}:
        keys = keys[1:]
    return keys


def _customers_for_keys(*, subject: Subject, key: str, keys: list[str]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    pairs: Any
    if subject == Subject.COMPANY:
        if key == "email":
            pairs = Contact.objects.filter(email__in=keys, company_id__isnull=False).values_list("email", "company_id")
        else:
            pairs = Company.objects.filter(**{f"{key}__in": keys}).values_list(key, "pk")
    elif key == "email":
        pairs = Contact.objects.filter(email__in=keys).values_list("email", "pk")
    elif key == "external_id":
        pairs = Contact.objects.filter(external_id__in=keys).values_list("external_id", "pk")
    else:  # a company code: every contact of the company
        pairs = Contact.objects.filter(company__code__in=keys).values_list("company__code", "pk")
    for value, pk in pairs:
        found.setdefault(str(value), set()).add(pk)
    return found


def segment_static_from_csv(
    *, name: str, subject: Subject, key: str, data: bytes, actor: User | None, description: str = ""
) -> StaticListResult:
    """A static list from a CSV whose first column is a company code, an email or an external id."""
    if key not in KEY_KINDS:
        raise DomainError(_("Choose what the first column holds."), field="key")
    keys = _keys_from_csv(data)
    if not keys:
        raise DomainError(_("The file has no rows. Put one customer per line in the first column."), field="file")
    found = _customers_for_keys(subject=subject, key=key, keys=keys)
    ids = sorted(set().union(*found.values())) if found else []
    with transaction.atomic():
        segment = Segment.objects.create(
            name=_name_clean(name),
            description=description.strip(),
            subject=subject,
            kind=SegmentKind.STATIC,
            static_source=StaticSource.CSV,
            created_by=actor,
        )
        _static_fill(segment, ids)
    unmatched = [k for k in dict.fromkeys(keys) if k not in found][:50]
    return StaticListResult(segment=segment, matched=len(ids), unmatched=unmatched)


def segment_snapshot(*, segment: Segment, name: str, actor: User | None) -> Segment:
    """A static list of the segment's members as they are now (for a one-off mailing that must not change)."""
    with transaction.atomic():
        copy = Segment.objects.create(
            name=_name_clean(name),
            description=_("Members of “%(name)s” on %(day)s") % {"name": segment.name, "day": timezone.localdate()},
            subject=segment.subject,
            kind=SegmentKind.STATIC,
            static_source=StaticSource.SNAPSHOT,
            source_segment=segment,
            created_by=actor,
        )
        ids = list(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
        _static_fill(copy, ids)
    return copy


def _static_fill(segment: Segment, ids: list[int]) -> None:
    now = timezone.now()
    _apply(segment, entered=ids, left=[], at=now)
    members = SegmentMember.objects.filter(segment=segment).count()
    Segment.objects.filter(pk=segment.pk).update(member_count=members, refreshed_at=now)
    SegmentSize.objects.create(segment=segment, measured_at=now, members=members, entered=members)
    segment.member_count, segment.refreshed_at = members, now
