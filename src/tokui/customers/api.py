"""API: companies (取引先) and contacts (担当者): bulk upserts by a source's external ids, and reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from tokui.accounts.api_auth import ApiKeyAuth
from tokui.accounts.api_contract import (
    READ_ERRORS,
    READ_ONE_ERRORS,
    SOURCE_HELP,
    SOURCE_PATTERN,
    WRITE_ERRORS,
    BulkIn,
    BulkOut,
    DecimalOut,
    JsonObject,
    Page,
    PageQuery,
    QueryTime,
    RawRecord,
    RecordIn,
    SiteTime,
    bulk_apply,
    paginate,
    records_schema,
)
from tokui.accounts.enums import ApiScope
from tokui.customers.models import Company, Contact
from tokui.customers.selectors import companies_matching, company_get, contact_get, contacts_matching
from tokui.customers.services import companies_upsert_batch, contacts_upsert_batch
from tokui.customers.types import CompanyIn, CompanyRecordIn, ContactIn, ContactRecordIn

router = Router(tags=["customers"])

ExternalId = Annotated[str, Field(min_length=1, max_length=128)]
TagName = Annotated[str, Field(min_length=1, max_length=64)]
Source = Annotated[str, Query(pattern=SOURCE_PATTERN, description=SOURCE_HELP)]


class CompanyRecord(RecordIn):
    """A company. Fields left out keep their stored value (a new company gets the default)."""

    external_id: ExternalId
    name: str = Field(max_length=200)
    name_kana: str = Field("", max_length=200)
    code: str = Field("", max_length=64, description="Customer code in the source system")
    industry: str = Field("", max_length=32, description="apparel_retail, select_shop, department_store, ...")
    size: str = Field("", max_length=16, description="micro, small, medium or large")
    prefecture: str = Field("", max_length=16, description="JIS code (13) or name (東京都, 東京, Tokyo)")
    postal_code: str = Field("", max_length=8)
    address: str = Field("", max_length=300)
    phone: str = Field("", max_length=32)
    fax: str = Field("", max_length=32)
    rank: str = Field("", max_length=32)
    approval_status: str = Field("approved", max_length=16, description="pending, approved, rejected or suspended")
    price_rate: Decimal | None = Field(None, allow_inf_nan=False, gt=-100, lt=100, description="0.600 = 60 %")
    custom_fields: JsonObject = Field(default_factory=dict)
    tags: list[TagName] | None = Field(
        None,
        max_length=100,
        description=(
            "Tag names. When present, the company gets exactly these tags (new names become new tags; `[]` removes "
            "every tag); when left out or null, its tags stay as they are."
        ),
    )


class ContactRecord(RecordIn):
    """A contact (a company's buyer, or a B2C customer without company_external_id)."""

    external_id: ExternalId
    name: str = Field(max_length=100)
    company_external_id: str | None = Field(None, max_length=128, description="The company's id in this source")
    name_kana: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=32)
    department: str = Field("", max_length=100)
    title: str = Field("", max_length=100)
    birthday: dt.date | None = None
    prefecture: str = Field("", max_length=16)
    line_user_id: str | None = Field(None, max_length=64)
    is_primary: bool = False
    custom_fields: JsonObject = Field(default_factory=dict)


class CompanyBulkIn(BulkIn):
    records: Annotated[list[RawRecord], records_schema(CompanyRecord)]


class ContactBulkIn(BulkIn):
    records: Annotated[list[RawRecord], records_schema(ContactRecord)]


def _kept(record: RecordIn, renamed: dict[str, str] | None = None) -> frozenset[str]:
    """The domain fields the record left out (``renamed`` maps an API field to its domain field)."""
    names = renamed or {}
    left_out = set(type(record).model_fields) - record.model_fields_set - {"external_id"}
    return frozenset(names.get(name, name) for name in left_out)


def _company_in(record: CompanyRecord) -> CompanyRecordIn:
    values = record.model_dump(exclude={"external_id", "tags"})
    return CompanyRecordIn(
        external_id=record.external_id,
        data=CompanyIn(**values),
        keep=_kept(record) - {"tags"},
        tags=tuple(record.tags) if record.tags is not None else None,
    )


def _contact_in(record: ContactRecord) -> ContactRecordIn:
    values = record.model_dump(exclude={"external_id", "company_external_id"})
    values["line_user_id"] = values["line_user_id"] or None
    return ContactRecordIn(
        external_id=record.external_id,
        data=ContactIn(**values),
        company_external_id=record.company_external_id or None,
        keep=_kept(record, {"company_external_id": "company_id"}),
    )


class CompanyOut(Schema):
    id: int
    source: str
    external_id: str | None
    name: str
    name_kana: str
    code: str
    industry: str
    size: str
    prefecture: str
    postal_code: str
    address: str
    phone: str
    fax: str
    rank: str
    approval_status: str
    price_rate: DecimalOut | None
    tags: list[str]
    custom_fields: dict[str, Any]
    archived_at: SiteTime | None
    created_at: SiteTime
    updated_at: SiteTime

    @staticmethod
    def resolve_tags(company: Company) -> list[str]:
        return [tag.name for tag in company.tags.all()]


class ContactOut(Schema):
    id: int
    source: str
    external_id: str | None
    company_id: int | None
    name: str
    name_kana: str
    email: str
    phone: str
    department: str
    title: str
    birthday: dt.date | None
    prefecture: str
    is_primary: bool
    tags: list[str]
    custom_fields: dict[str, Any]
    archived_at: SiteTime | None
    created_at: SiteTime
    updated_at: SiteTime

    @staticmethod
    def resolve_tags(contact: Contact) -> list[str]:
        return [tag.name for tag in contact.tags.all()]


class SourceFilter(PageQuery):
    source: str | None = Field(None, pattern=SOURCE_PATTERN)
    external_id: str | None = Field(None, max_length=128)
    updated_since: QueryTime | None = Field(None, description="Changed at or after this time")


class CompanyFilters(SourceFilter):
    prefecture: str | None = Field(None, pattern=r"^\d{2}$", description="JIS code, e.g. 13 for Tokyo")
    include_archived: bool = True
    tag: str | None = Field(None, min_length=1, max_length=64, description="Only companies with this tag (its name)")


class ContactFilters(SourceFilter):
    company_id: int | None = Field(None, ge=1, le=2**63 - 1)
    email: str | None = Field(None, max_length=254)


@router.post("/companies/bulk", response={200: BulkOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.WRITE))
def companies_bulk(request: HttpRequest, source: Source, payload: CompanyBulkIn) -> BulkOut:
    """Create or update up to 1,000 companies by their external id in `source`; one result per record."""
    return bulk_apply(
        source=source,
        records=payload.records,
        model=CompanyRecord,
        to_domain=_company_in,
        apply=lambda records: companies_upsert_batch(source=source, records=records),
    )


@router.get("/companies", response={200: Page[CompanyOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def companies_list(request: HttpRequest, filters: Query[CompanyFilters]) -> dict[str, Any]:
    """Companies in id order, filtered by source, external id, change time, prefecture and tag."""
    companies = companies_matching(
        source=filters.source,
        external_id=filters.external_id,
        updated_since=filters.updated_since,
        prefecture=filters.prefecture,
        include_archived=filters.include_archived,
        tag=filters.tag,
    )
    return paginate(companies, page=filters)


@router.get("/companies/{company_id}", response={200: CompanyOut, **READ_ONE_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def company_detail(request: HttpRequest, company_id: int) -> Company:
    company = company_get(company_id=company_id) if company_id < 2**63 else None
    if company is None:
        raise Http404
    return company


@router.post("/contacts/bulk", response={200: BulkOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.WRITE))
def contacts_bulk(request: HttpRequest, source: Source, payload: ContactBulkIn) -> BulkOut:
    """Create or update up to 1,000 contacts; `company_external_id` names the company in the same source."""
    return bulk_apply(
        source=source,
        records=payload.records,
        model=ContactRecord,
        to_domain=_contact_in,
        apply=lambda records: contacts_upsert_batch(source=source, records=records),
    )


@router.get("/contacts", response={200: Page[ContactOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def contacts_list(request: HttpRequest, filters: Query[ContactFilters]) -> dict[str, Any]:
    """Contacts in id order, filtered by source, external id, change time, company and email."""
    contacts = contacts_matching(
        source=filters.source,
        external_id=filters.external_id,
        updated_since=filters.updated_since,
        company_id=filters.company_id,
        email=filters.email,
    )
    return paginate(contacts, page=filters)


@router.get("/contacts/{contact_id}", response={200: ContactOut, **READ_ONE_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def contact_detail(request: HttpRequest, contact_id: int) -> Contact:
    contact = contact_get(contact_id=contact_id) if contact_id < 2**63 else None
    if contact is None:
        raise Http404
    return contact
