"""Contacts (担当者) from a list of buyers: keyed by their contact code, else by their email address."""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tokui.customers.models import Contact
from tokui.customers.selectors import CompanyRef, company_refs_by_code, contacts_by_external_id
from tokui.customers.services import contact_upsert
from tokui.customers.types import ContactIn
from tokui.integrations.enums import ImportObjectType, RowOutcome
from tokui.integrations.importers import values
from tokui.integrations.importers.base import (
    ColumnMap,
    Importer,
    ImportField,
    ParsedRow,
    RowRejectedError,
    RunContext,
    attempt,
    changed_labels,
    importers,
    rejected,
    stored_values,
    upserted,
)
from tokui.integrations.importers.companies import CUSTOMER_CODE_ALIASES
from tokui.integrations.importers.reading import SourceRow
from tokui.integrations.types import RowResult


@importers.register
class ContactImporter(Importer):
    object_type: ClassVar[str] = ImportObjectType.CONTACTS
    key_fields = ("external_id", "email")
    # A new contact needs a name: the whole name, or the family and given names that make it.
    new_record_fields = (("name", "last_name", "first_name"),)
    fields = (
        ImportField(
            "external_id",
            gettext_lazy("Contact code (key)"),
            values.code,
            (
                "担当者コード",
                "担当者ID",
                "担当者番号",
                "会員ID",
                "会員番号",
                "contact id",
                "contact code",
                "external id",
                "id",
            ),
            max_length=128,
        ),
        ImportField(
            "email",
            gettext_lazy("Email"),
            values.email,
            ("メールアドレス", "メール", "Eメール", "e-mail", "mail", "email address"),
            max_length=254,
        ),
        ImportField(
            "name",
            gettext_lazy("Name"),
            values.text,
            ("担当者名", "氏名", "名前", "お名前", "担当者", "contact name", "full name", "name"),
            max_length=100,
        ),
        ImportField("last_name", gettext_lazy("Family name"), values.text, ("姓", "苗字", "last name"), max_length=50),
        ImportField("first_name", gettext_lazy("Given name"), values.text, ("名", "first name"), max_length=50),
        ImportField(
            "name_kana",
            gettext_lazy("Name (kana)"),
            values.kana,
            ("担当者名カナ", "氏名カナ", "フリガナ", "カナ", "ふりがな", "name kana"),
            max_length=100,
        ),
        ImportField(
            "company_code",
            gettext_lazy("Customer code of the company"),
            values.code,
            CUSTOMER_CODE_ALIASES,
            target="company_id",
        ),
        ImportField(
            "phone",
            gettext_lazy("Phone"),
            values.phone,
            ("電話番号", "電話", "携帯電話", "携帯番号", "TEL", "mobile", "phone number"),
            max_length=32,
        ),
        ImportField("department", gettext_lazy("Department"), values.text, ("部署", "部署名", "所属"), max_length=100),
        ImportField("title", gettext_lazy("Job title"), values.text, ("役職", "肩書", "job title"), max_length=100),
        ImportField("birthday", gettext_lazy("Birthday"), values.date, ("生年月日", "誕生日", "date of birth")),
        ImportField("prefecture", gettext_lazy("Prefecture"), values.prefecture, ("都道府県", "都道府県名", "state")),
        ImportField("is_primary", gettext_lazy("Primary contact"), values.boolean, ("主担当", "代表担当", "primary")),
    )

    def normalise_key(self, key_field: str, key: str) -> str:
        # Keyed by email, Buyer@Shop.jp and buyer@shop.jp are the same person.
        return key.lower() if key_field == "email" else key

    def apply(self, rows: list[SourceRow], columns: ColumnMap, context: RunContext) -> list[RowResult]:
        parsed = [self.parse(row, columns) for row in rows]
        keys = [self.key_of(row, columns) for row in rows]
        present = [key for key in keys if key]
        problems = context.key_problems(present)
        stored = contacts_by_external_id(source=context.source, external_ids=present)
        companies = company_refs_by_code(
            source=context.source,
            codes=[item.values["company_code"] for item in parsed if "company_code" in item.values],
        )
        key_label = self.field(self.key_field(columns)).label
        own = context.own_company_ids(contact.company_id for contact in stored.values())
        results: list[RowResult] = []
        for item, key in zip(parsed, keys, strict=True):
            row = item.row
            if not key:
                results.append(rejected(row, _("%(field)s is empty: every row needs it.") % {"field": key_label}))
            elif key in problems:
                results.append(rejected(row, problems[key], key))
            elif item.errors:
                results.append(rejected(row, " / ".join(item.errors), key))
            else:
                try:
                    current = stored.get(key)
                    if current is not None and current.company_id is not None and current.company_id not in own:
                        raise RowRejectedError(
                            _(
                                "This contact's company is looked after by another sales rep; "
                                "ask a manager to import it."
                            )
                        )
                    results.append(self._write(item, key, current, companies, context))
                except RowRejectedError as problem:
                    results.append(rejected(row, str(problem), key))
        return results

    def _overrides(
        self, item: ParsedRow, current: Contact | None, companies: dict[str, CompanyRef], context: RunContext
    ) -> dict[str, Any]:
        found = item.values
        overrides: dict[str, Any] = {
            name: found[name]
            for name in ("name", "name_kana", "email", "phone", "department", "title", "birthday", "prefecture")
            if name in found
        }
        if "is_primary" in found:
            overrides["is_primary"] = found["is_primary"]
        if "name" not in found and ("last_name" in found or "first_name" in found):
            overrides["name"] = " ".join(found[part] for part in ("last_name", "first_name") if part in found)
        if "company_code" in found:
            company = companies.get(found["company_code"])
            if company is None:
                raise RowRejectedError(
                    _("There is no company with the customer code “%(code)s”. Import the companies first.")
                    % {"code": found["company_code"]}
                )
            if not context.sees_all_accounts and company.assigned_rep_id != context.user_id:
                raise RowRejectedError(
                    _("This company is looked after by another sales rep; ask a manager to import it.")
                )
            overrides["company_id"] = company.company_id
        return overrides

    def _write(
        self,
        item: ParsedRow,
        key: str,
        current: Contact | None,
        companies: dict[str, CompanyRef],
        context: RunContext,
    ) -> RowResult:
        row = item.row
        labels = self.labels()
        before = stored_values(ContactIn, current)
        after = before | self._overrides(item, current, companies, context)
        if current is None and not after.get("name"):
            return rejected(row, _("Name: a new contact needs a name."), key)
        if current is not None and after == before:
            return RowResult(row.number, RowOutcome.UNCHANGED, key)
        data = ContactIn(**after)
        outcome = attempt(lambda: contact_upsert(source=context.source, external_id=key, data=data), labels)
        if isinstance(outcome, str):
            return rejected(row, outcome, key)
        return upserted(row.number, key, outcome, changed_labels(before, after, labels))
