"""Companies (取引先) from a customer list: one row per company, keyed by its customer code (得意先コード)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tokui.customers.enums import Industry
from tokui.customers.models import Company
from tokui.customers.selectors import companies_by_external_id
from tokui.customers.services import company_upsert
from tokui.customers.types import CompanyIn
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
    person_key,
    rejected,
    sales_rep_ids_by_name,
    stored_values,
    upserted,
)
from tokui.integrations.importers.reading import SourceRow
from tokui.integrations.types import RowResult

CUSTOMER_CODE_ALIASES = (
    "得意先コード",
    "得意先CD",
    "得意先番号",
    "取引先コード",
    "取引先番号",
    "顧客コード",
    "顧客番号",
    "顧客ID",
    "会社コード",
    "customer code",
    "customer id",
    "company code",
    "company id",
)


@importers.register
class CompanyImporter(Importer):
    object_type: ClassVar[str] = ImportObjectType.COMPANIES
    key_fields = ("external_id",)
    new_record_fields = (("name",),)
    fields = (
        ImportField(
            "external_id",
            gettext_lazy("Customer code (key)"),
            values.code,
            (*CUSTOMER_CODE_ALIASES, "取引先ID", "external id", "id"),
            max_length=128,
        ),
        ImportField(
            "name",
            gettext_lazy("Company name"),
            values.text,
            (
                "会社名",
                "取引先名",
                "得意先名",
                "社名",
                "法人名",
                "店舗名",
                "店名",
                "屋号",
                "company",
                "company name",
                "name",
            ),
            max_length=200,
        ),
        ImportField(
            "name_kana",
            gettext_lazy("Company name (kana)"),
            values.kana,
            (
                "会社名カナ",
                "会社名フリガナ",
                "取引先名カナ",
                "得意先名カナ",
                "フリガナ",
                "カナ",
                "ふりがな",
                "company kana",
            ),
            max_length=200,
        ),
        ImportField(
            "prefecture", gettext_lazy("Prefecture"), values.prefecture, ("都道府県", "都道府県名", "県", "state")
        ),
        ImportField(
            "postal_code",
            gettext_lazy("Postal code"),
            values.postal_code,
            ("郵便番号", "〒", "zip", "zip code", "postcode"),
        ),
        ImportField(
            "address", gettext_lazy("Address"), values.text, ("住所", "住所1", "所在地", "address1"), max_length=300
        ),
        ImportField(
            "address2",
            gettext_lazy("Address (building)"),
            values.text,
            ("住所2", "建物名", "ビル名", "建物", "address2", "building"),
            max_length=300,
            target="address",
        ),
        ImportField(
            "phone",
            gettext_lazy("Phone"),
            values.phone,
            ("電話番号", "電話", "TEL", "代表電話", "telephone", "phone number"),
            max_length=32,
        ),
        ImportField("fax", gettext_lazy("FAX"), values.phone, ("FAX番号", "ファックス", "fax number"), max_length=32),
        ImportField("industry", gettext_lazy("Industry"), values.choice(Industry), ("業種", "業態", "industry")),
        ImportField(
            "rank", gettext_lazy("Customer rank"), values.text, ("ランク", "顧客ランク", "取引先ランク"), max_length=32
        ),
        ImportField(
            "price_rate", gettext_lazy("Rate (掛け率)"), values.rate, ("掛け率", "掛率", "卸掛率", "price rate")
        ),
        ImportField(
            "assigned_rep",
            gettext_lazy("Sales rep"),
            values.text,
            ("担当営業", "営業担当", "営業担当者", "自社担当", "sales rep", "rep"),
            target="assigned_rep_id",
        ),
    )

    def labels(self) -> dict[str, str | Promise]:
        return super().labels() | {"code": gettext_lazy("Customer code (key)")}

    def apply(self, rows: list[SourceRow], columns: ColumnMap, context: RunContext) -> list[RowResult]:
        parsed = [self.parse(row, columns) for row in rows]
        keys = [item.values.get("external_id", "") for item in parsed]
        problems = context.key_problems([key for key in keys if key])
        stored = companies_by_external_id(source=context.source, external_ids=[key for key in keys if key])
        results: list[RowResult] = []
        for item, key in zip(parsed, keys, strict=True):
            row = item.row
            if not key:
                results.append(rejected(row, _("The customer code is empty: every row needs one to be matched.")))
            elif key in problems:
                results.append(rejected(row, problems[key], key))
            elif item.errors:
                results.append(rejected(row, " / ".join(item.errors), key))
            else:
                try:
                    results.append(self._write(item, key, stored.get(key), context))
                except RowRejectedError as problem:
                    results.append(rejected(row, str(problem), key))
        return results

    def _overrides(self, item: ParsedRow, current: Company | None, context: RunContext) -> dict[str, Any]:
        """The fields this row sets; a blank cell leaves the stored value as it is."""
        found = item.values
        overrides: dict[str, Any] = {
            name: found[name]
            for name in ("name", "name_kana", "prefecture", "postal_code", "phone", "fax", "industry", "rank")
            if name in found
        }
        if "price_rate" in found:
            overrides["price_rate"] = found["price_rate"]
        address = " ".join(part for part in (found.get("address", ""), found.get("address2", "")) if part)
        if address:
            overrides["address"] = address
            if "prefecture" not in found and (prefecture := values.prefecture_of_address(address)):
                overrides["prefecture"] = prefecture
        if current is None or not current.code:
            overrides["code"] = found["external_id"][:64]
        if "assigned_rep" in found:
            rep_id = context.cached("sales_reps", sales_rep_ids_by_name).get(person_key(found["assigned_rep"]))
            if rep_id is None:
                raise RowRejectedError(
                    _("Sales rep: nobody called “%(name)s” is a sales rep in Tokui. Write their login name or name.")
                    % {"name": found["assigned_rep"]}
                )
            overrides["assigned_rep_id"] = rep_id
        if not context.sees_all_accounts:
            if current is not None and current.assigned_rep_id != context.user_id:
                raise RowRejectedError(
                    _("This company is looked after by another sales rep; ask a manager to import it.")
                )
            if overrides.get("assigned_rep_id", context.user_id) != context.user_id:
                raise RowRejectedError(_("Sales rep: you can only import companies you look after yourself."))
            if current is None:
                overrides["assigned_rep_id"] = context.user_id
        return overrides

    def _write(self, item: ParsedRow, key: str, current: Company | None, context: RunContext) -> RowResult:
        row = item.row
        labels = self.labels()
        before = stored_values(CompanyIn, current)
        after = before | self._overrides(item, current, context)
        if current is None and not after.get("name"):
            return rejected(row, _("Company name: a new company needs a name."), key)
        if current is not None and after == before:
            return RowResult(row.number, RowOutcome.UNCHANGED, key)
        data = CompanyIn(**after)
        outcome = attempt(lambda: company_upsert(source=context.source, external_id=key, data=data), labels)
        if isinstance(outcome, str):
            return rejected(row, outcome, key)
        return upserted(row.number, key, outcome, changed_labels(before, after, labels))
