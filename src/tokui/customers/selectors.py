"""Reads of companies and contacts, always scoped to what the asking user may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.core.lookups import ids_q
from tokui.customers.enums import Channel, ConsentStatus, PointLotState
from tokui.customers.models import Company, Consent, Contact, PointLot, Tag


def companies_visible_to(*, user: User) -> QuerySet[Company]:
    """Companies ``user`` may see: all for managers and marketers, only their own for a sales rep."""
    companies = Company.objects.all()
    if not user_sees_all_accounts(user=user):
        companies = companies.filter(assigned_rep=user)
    return companies


@dataclass(frozen=True, slots=True)
class CompanyFilters:
    search: str = ""
    prefecture: str = ""
    industry: str = ""
    size: str = ""
    assigned_rep_id: int | None = None
    approval_status: str = ""
    tag: str = ""
    include_archived: bool = False


def company_search(*, user: User, filters: CompanyFilters) -> QuerySet[Company]:
    companies = companies_visible_to(user=user).select_related("assigned_rep", "price_group")
    if not filters.include_archived:
        companies = companies.filter(archived_at__isnull=True)
    if term := filters.search.strip():
        companies = companies.filter(
            Q(name__icontains=term)
            | Q(name_kana__icontains=term)
            | Q(code__iexact=term)
            | Q(phone__contains=term)
            | Q(contacts__name__icontains=term)
            | Q(contacts__email__icontains=term)
        ).distinct()
    if filters.prefecture:
        companies = companies.filter(prefecture=filters.prefecture)
    if filters.industry:
        companies = companies.filter(industry=filters.industry)
    if filters.size:
        companies = companies.filter(size=filters.size)
    if filters.assigned_rep_id:
        companies = companies.filter(assigned_rep_id=filters.assigned_rep_id)
    if filters.approval_status:
        companies = companies.filter(approval_status=filters.approval_status)
    if filters.tag:
        companies = companies.filter(tags__name=filters.tag)
    return companies.order_by("name_kana", "name", "id")


def company_for_user(*, user: User, company_id: int) -> Company | None:
    return (
        companies_visible_to(user=user)
        .select_related("assigned_rep", "price_group", "agency")
        .prefetch_related("tags", "ship_to_addresses")
        .filter(pk=company_id)
        .first()
    )


def contacts_of_company(*, company_id: int) -> QuerySet[Contact]:
    return (
        Contact.objects.filter(company_id=company_id).prefetch_related("consents").order_by("-is_primary", "name_kana")
    )


def consent_status(*, contact: Contact, channel: Channel) -> ConsentStatus:
    consent = Consent.objects.filter(contact=contact, channel=channel).first()
    return ConsentStatus(consent.status) if consent else ConsentStatus.UNKNOWN


def point_balance(
    *,
    contact: Contact | None = None,
    company: Company | None = None,
    contact_id: int | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Points usable at ``at`` by a contact (or its id) or a company: the remainder of active lots not yet expired."""
    moment = at or timezone.now()
    lots = PointLot.objects.filter(state=PointLotState.ACTIVE).exclude(expires_at__lte=moment)
    if contact is not None:
        contact_id = contact.pk
    lots = lots.filter(contact_id=contact_id) if contact_id is not None else lots.filter(company=company)
    return int(lots.aggregate(total=Sum("remaining_points"))["total"] or 0)


def point_balances(*, contact_ids: Iterable[int], at: dt.datetime | None = None) -> dict[int, int]:
    """``point_balance`` of each of these contacts (0 for none), in one query for all."""
    moment = at or timezone.now()
    ids = list(contact_ids)
    rows = (
        PointLot.objects.filter(ids_q("contact_id", ids), state=PointLotState.ACTIVE)
        .exclude(expires_at__lte=moment)
        .values("contact_id")
        .order_by()
        .annotate(total=Sum("remaining_points"))
        .values_list("contact_id", "total")
    )
    balances = dict.fromkeys(ids, 0)
    balances.update({int(contact_id): int(total or 0) for contact_id, total in rows})
    return balances


def active_companies_count() -> int:
    return Company.objects.filter(archived_at__isnull=True).count()


def company_id_of_contact(*, contact_id: int) -> int | None:
    return Contact.objects.filter(pk=contact_id).values_list("company_id", flat=True).first()


@dataclass(frozen=True, slots=True)
class ContactRef:
    contact_id: int
    company_id: int | None


def contact_for_identity(*, external_id: str = "", email: str = "", source: str = "") -> ContactRef | None:
    """The contact a shop's page names when a visitor logs in: by the shop's customer id, else by email.

    ``source`` narrows the external id to one source (the shop's cart system); empty means any source. An email
    shared by several contacts resolves to the oldest one that is not archived.
    """
    contacts = Contact.objects.filter(archived_at__isnull=True).order_by("id")
    row = None
    if external_id:
        by_id = contacts.filter(external_id=external_id)
        if source:
            by_id = by_id.filter(source=source)
        row = by_id.values_list("id", "company_id").first()
    if row is None and email:
        # The exact match uses the email index; the case-insensitive one is the rare fallback.
        row = contacts.filter(email=email.strip()).values_list("id", "company_id").first()
        if row is None:
            row = contacts.filter(email__iexact=email.strip()).values_list("id", "company_id").first()
    return ContactRef(contact_id=row[0], company_id=row[1]) if row is not None else None


# --- Lookups by a source's ids and filtered lists, for the API and imports -----------------------------------------


def company_ids_by_external_id(*, source: str, external_ids: Iterable[str]) -> dict[str, int]:
    """Tokui ids of the companies ``source`` knows by ``external_ids`` (one query; unknown ids are left out)."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    rows = Company.objects.filter(source=source, external_id__in=wanted).values_list("external_id", "id")
    return {external_id: pk for external_id, pk in rows if external_id is not None}


def companies_by_external_id(*, source: str, external_ids: Iterable[str]) -> dict[str, Company]:
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    return {c.external_id: c for c in Company.objects.filter(source=source, external_id__in=wanted) if c.external_id}


def company_tag_names(*, company_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """The tag names of each company (one query); companies without tags are left out."""
    wanted = sorted(set(company_ids))
    names: dict[int, set[str]] = {}
    if wanted:
        rows = Company.tags.through.objects.filter(company_id__in=wanted).values_list("company_id", "tag__name")
        for company_id, name in rows:
            names.setdefault(company_id, set()).add(name)
    return {company_id: frozenset(tags) for company_id, tags in names.items()}


def tag_ids_by_name(*, names: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    return dict(Tag.objects.filter(name__in=wanted).values_list("name", "id"))


def contact_ids_by_external_id(*, source: str, external_ids: Iterable[str]) -> dict[str, tuple[int, int | None]]:
    """``{external_id: (contact id, company id)}`` of the contacts ``source`` knows by ``external_ids`` (one query)."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    rows = Contact.objects.filter(source=source, external_id__in=wanted).values_list("external_id", "id", "company_id")
    return {external_id: (pk, company_id) for external_id, pk, company_id in rows if external_id is not None}


def contacts_by_external_id(*, source: str, external_ids: Iterable[str]) -> dict[str, Contact]:
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    return {c.external_id: c for c in Contact.objects.filter(source=source, external_id__in=wanted) if c.external_id}


def companies_matching(
    *,
    source: str | None = None,
    external_id: str | None = None,
    updated_since: dt.datetime | None = None,
    prefecture: str | None = None,
    include_archived: bool = True,
    tag: str | None = None,
) -> QuerySet[Company]:
    """Companies by source, external id, change time, prefecture and tag name, oldest id first (a stable order)."""
    companies = Company.objects.prefetch_related("tags")
    if tag:
        companies = companies.filter(tags__name=tag)
    if source:
        companies = companies.filter(source=source)
    if external_id:
        companies = companies.filter(external_id=external_id)
    if updated_since is not None:
        companies = companies.filter(updated_at__gte=updated_since)
    if prefecture:
        companies = companies.filter(prefecture=prefecture)
    if not include_archived:
        companies = companies.filter(archived_at__isnull=True)
    return companies.order_by("id")


def contacts_matching(
    *,
    source: str | None = None,
    external_id: str | None = None,
    updated_since: dt.datetime | None = None,
    company_id: int | None = None,
    email: str | None = None,
) -> QuerySet[Contact]:
    contacts = Contact.objects.prefetch_related("tags")
    if source:
        contacts = contacts.filter(source=source)
    if external_id:
        contacts = contacts.filter(external_id=external_id)
    if updated_since is not None:
        contacts = contacts.filter(updated_at__gte=updated_since)
    if company_id is not None:
        contacts = contacts.filter(company_id=company_id)
    if email:
        contacts = contacts.filter(email__iexact=email)
    return contacts.order_by("id")


def company_get(*, company_id: int) -> Company | None:
    return Company.objects.prefetch_related("tags").filter(pk=company_id).first()


def contact_get(*, contact_id: int) -> Contact | None:
    return Contact.objects.prefetch_related("tags").filter(pk=contact_id).first()


# --- Lookups for file imports ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompanyRef:
    company_id: int
    assigned_rep_id: int | None


def company_refs_by_code(*, source: str, codes: Iterable[str]) -> dict[str, CompanyRef]:
    """Companies a file names by customer code: the external id ``source`` gave them, else their customer code
    when exactly one company holds it. Codes that match nothing are left out (one or two queries)."""
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    refs = {
        external_id: CompanyRef(company_id=pk, assigned_rep_id=rep_id)
        for external_id, pk, rep_id in Company.objects.filter(source=source, external_id__in=wanted).values_list(
            "external_id", "id", "assigned_rep_id"
        )
        if external_id is not None
    }
    missing = [code for code in wanted if code not in refs]
    if missing:
        by_code: dict[str, list[CompanyRef]] = {}
        for code, pk, rep_id in Company.objects.filter(code__in=missing).values_list("code", "id", "assigned_rep_id"):
            by_code.setdefault(code, []).append(CompanyRef(company_id=pk, assigned_rep_id=rep_id))
        refs.update({code: found[0] for code, found in by_code.items() if len(found) == 1})
    return refs


def contact_refs_by_key(*, source: str, keys: Iterable[str]) -> dict[str, ContactRef]:
    """Contacts a file names by the external id ``source`` gave them, else by email (one or two queries)."""
    wanted = sorted({key for key in keys if key})
    if not wanted:
        return {}
    refs = {
        external_id: ContactRef(contact_id=pk, company_id=company_id)
        for external_id, pk, company_id in Contact.objects.filter(source=source, external_id__in=wanted).values_list(
            "external_id", "id", "company_id"
        )
        if external_id is not None
    }
    emails = {key.lower(): key for key in wanted if key not in refs and "@" in key}
    if emails:
        candidates = {*emails, *emails.values()}
        rows = Contact.objects.filter(email__in=candidates, archived_at__isnull=True).order_by("id")
        for email, pk, company_id in rows.values_list("email", "id", "company_id"):
            key = emails.get(email.lower())
            if key is not None:
                refs.setdefault(key, ContactRef(contact_id=pk, company_id=company_id))
    return refs


def consent_last_from(*, contact: Contact, channel: Channel, source: str) -> ConsentStatus | None:
    """What ``source`` last said about the consent of ``contact`` on ``channel`` (from the history), or ``None``.

    Connectors compare a shop's flag with this, not with the current state: a contact who opted out in Tokui stays
    out until the shop's own system changes its answer.
    """
    status = (
        contact.consent_changes.filter(channel=channel, source=source).order_by("-id").values_list("status", flat=True)
    ).first()
    return ConsentStatus(status) if status else None


def contacts_visible_to(*, user: User) -> QuerySet[Contact]:
    """Contacts ``user`` may see: all for managers and marketers; a sales rep sees the contacts of their own
    companies (individual customers have no rep, so they are not theirs)."""
    contacts = Contact.objects.all()
    if not user_sees_all_accounts(user=user):
        contacts = contacts.filter(company__assigned_rep=user)
    return contacts


def buyer_ids_matching(
    *, user: User, prefecture: str = "", assigned_rep_id: int | None = None, size: str = ""
) -> list[int] | None:
    """The customers a report keeps for these filters, as the sales facts name buyers: company ids, and minus the
    id of each individual (B2C) customer; ``None`` when they keep every buyer. An individual has no rep and no size,
    so a rep or size filter (or a sales rep's own scope) keeps companies only; a prefecture is the company's, or the
    individual's own."""
    sees_all = user_sees_all_accounts(user=user)
    if not (prefecture or assigned_rep_id is not None or size or not sees_all):
        return None
    companies = companies_visible_to(user=user)
    if prefecture:
        companies = companies.filter(prefecture=prefecture)
    if assigned_rep_id is not None:
        companies = companies.filter(assigned_rep_id=assigned_rep_id)
    if size:
        companies = companies.filter(size=size)
    buyers = list(companies.order_by().values_list("pk", flat=True))
    if prefecture and assigned_rep_id is None and not size and sees_all:
        individuals = Contact.objects.filter(company__isnull=True, prefecture=prefecture)
        buyers += [-pk for pk in individuals.order_by().values_list("pk", flat=True)]
    return buyers


def individual_search(*, user: User, search: str = "", include_archived: bool = False) -> QuerySet[Contact]:
    """Individual (B2C) customers: contacts without a company, found by name, kana, email or phone."""
    contacts = contacts_visible_to(user=user).filter(company__isnull=True)
    if not include_archived:
        contacts = contacts.filter(archived_at__isnull=True)
    if term := search.strip():
        contacts = contacts.filter(
            Q(name__icontains=term) | Q(name_kana__icontains=term) | Q(email__icontains=term) | Q(phone__contains=term)
        )
    return contacts.order_by("name_kana", "name", "id")


def contact_for_user(*, user: User, contact_id: int) -> Contact | None:
    return (
        contacts_visible_to(user=user)
        .select_related("company")
        .prefetch_related("tags", "consents")
        .filter(pk=contact_id)
        .first()
    )


@dataclass(frozen=True, slots=True)
class ConsentRow:
    channel: Channel
    status: ConsentStatus
    source: str
    recorded_at: dt.datetime | None


def consents_of_contact(*, contact: Contact) -> list[ConsentRow]:
    """The contact's consent on every channel, with where and when it was given (unknown when never asked)."""
    stored = {consent.channel: consent for consent in contact.consents.all()}
    rows = []
    for channel in Channel:
        consent = stored.get(channel.value)
        rows.append(
            ConsentRow(
                channel=channel,
                status=ConsentStatus(consent.status) if consent else ConsentStatus.UNKNOWN,
                source=consent.source if consent else "",
                recorded_at=consent.recorded_at if consent else None,
            )
        )
    return rows


def companies_of_contacts(*, contact_ids: Iterable[int]) -> dict[int, int | None]:
    """The company of each contact that exists (a contact without one maps to ``None``; deleted ones are absent)."""
    return dict(Contact.objects.filter(pk__in=set(contact_ids)).values_list("pk", "company_id"))
