"""Reads of segments: lists, members (scoped to what the user may see), previews of a rule, history, the builder's
catalog of conditions and the product / category search behind its pickers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.catalog.models import Category, Product
from tokui.customers.models import Contact, Tag
from tokui.segments.compiler import rule_matches, subject_rows
from tokui.segments.enums import Subject
from tokui.segments.models import Segment, SegmentMember, SegmentRuleVersion, SegmentSize
from tokui.segments.rules import RuleError, condition_types, rule_describe, rule_parse
from tokui.segments.usages import SegmentUsage, segment_usage_providers


def segments_list(*, include_archived: bool = False) -> QuerySet[Segment]:
    segments = Segment.objects.select_related("created_by")
    if not include_archived:
        segments = segments.filter(archived_at__isnull=True)
    return segments.order_by("name", "id")


def segment_get(*, segment_id: int) -> Segment | None:
    return Segment.objects.filter(pk=segment_id, archived_at__isnull=True).first()


def segment_members(*, segment: Segment, user: User | None = None) -> QuerySet[Any]:
    """The companies or contacts in the segment that ``user`` may see (a sales rep: their own accounts)."""
    ids = SegmentMember.objects.filter(segment=segment).values("customer_id")
    rows = subject_rows(Subject(segment.subject), user=user).filter(pk__in=ids)
    rows = rows.select_related("company" if segment.subject == Subject.CONTACT else "assigned_rep")
    return rows.order_by("name_kana", "name", "pk")


def segment_member_count(*, segment: Segment, user: User | None = None) -> int:
    if user is None or user_sees_all_accounts(user=user):
        return segment.member_count
    return segment_members(segment=segment, user=user).count()


@dataclass(frozen=True, slots=True)
class Preview:
    """What the builder shows beside the rule as it is edited."""

    count: int = 0
    summary: str = ""
    sample: list[Any] = field(default_factory=list)
    error: str = ""
    error_path: str = ""


def rule_preview(
    *, rule: Any, subject: Subject, user: User | None, sample_size: int = 10, now: dt.datetime | None = None
) -> Preview:
    """Compile the rule and count it (only the customers ``user`` may see), with a sample and the summary.

    A rule that does not validate yet (a condition still being filled in) is no error page: the message says which
    condition needs what.
    """
    try:
        root = rule_parse(rule, subject=subject)
    except RuleError as error:
        return Preview(error=error.message, error_path=error.path)
    matches = rule_matches(rule=root, subject=subject, user=user, now=now or timezone.now())
    # The first ones by id (an index walk that stops early), not the first by name (a sort of every match).
    sample = sorted(matches.order_by("pk")[:sample_size], key=lambda row: (row.name_kana, row.name))
    return Preview(count=matches.count(), summary=rule_describe(root), sample=sample)


def segment_sizes(*, segment: Segment, limit: int = 500) -> list[SegmentSize]:
    """The latest sizes, oldest first (the chart's points)."""
    rows = list(SegmentSize.objects.filter(segment=segment).order_by("-measured_at")[:limit])
    return rows[::-1]


def segment_versions(*, segment: Segment) -> QuerySet[SegmentRuleVersion]:
    return SegmentRuleVersion.objects.filter(segment=segment).select_related("changed_by").order_by("-number")


def segment_usages(*, segment: Segment) -> list[SegmentUsage]:
    """Where the segment is used, from the apps registered in ``usages.segment_usage_providers`` (none until
    scenarios and broadcasts exist)."""
    return segment_usage_providers.usages_of(segment.pk)


def segment_summary(*, segment: Segment) -> str:
    if not segment.rule:
        return ""
    try:
        return rule_describe(rule_parse(segment.rule, subject=Subject(segment.subject), check=False))
    except RuleError as error:
        return str(error)


def builder_catalog() -> list[dict[str, Any]]:
    """Every condition type with its label, section, operators and inputs, for the builder's menus."""
    return [condition_type.catalog() for condition_type in condition_types.all()]


def builder_labels(*, rule: Any) -> dict[str, dict[str, str]]:
    """Names of the products, categories and tags a stored rule names, so its pickers show names, not ids."""
    products: set[int] = set()
    categories: set[int] = set()

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        config = node.get("config") or {}
        products.update(int(p) for p in config.get("products", []) if str(p).isdigit())
        categories.update(int(c) for c in config.get("categories", []) if str(c).isdigit())
        for child in node.get("children", []):
            walk(child)

    walk((rule or {}).get("root"))
    return {
        "products": {str(p.pk): f"{p.name} ({p.sku})" for p in Product.objects.filter(pk__in=products)},
        "categories": {str(c.pk): str(c) for c in Category.objects.filter(pk__in=categories).select_related("parent")},
        "tags": {str(t.pk): t.name for t in Tag.objects.all()},
    }


def products_search(*, term: str, limit: int = 20) -> list[dict[str, Any]]:
    """Products by name or SKU for the picker, new arrivals first."""
    products = Product.objects.all()
    if term := term.strip():
        products = products.filter(Q(name__icontains=term) | Q(sku__icontains=term))
    return [
        {"id": p.pk, "label": f"{p.name} ({p.sku})"}
        for p in products.order_by("-is_new", "name", "pk").only("pk", "name", "sku")[:limit]
    ]


def categories_search(*, term: str, limit: int = 20) -> list[dict[str, Any]]:
    categories = Category.objects.select_related("parent")
    if term := term.strip():
        categories = categories.filter(Q(name__icontains=term) | Q(parent__name__icontains=term))
    return [{"id": c.pk, "label": str(c)} for c in categories.order_by("sort_order", "name", "pk")[:limit]]


def segment_contact_ids(*, segment: Segment) -> list[int]:
    """The contacts a message to the segment goes to: its members for a segment of contacts; for a segment of
    companies, every contact of its member companies (consent and suppression are checked when each is sent)."""
    members = SegmentMember.objects.filter(segment=segment).values("customer_id")
    contacts = Contact.objects.filter(archived_at__isnull=True)
    if segment.subject == Subject.CONTACT:
        contacts = contacts.filter(pk__in=members)
    else:
        contacts = contacts.filter(company_id__in=members, company__archived_at__isnull=True)
    return list(contacts.order_by("pk").values_list("pk", flat=True))
