"""Products from a product master: keyed by the product id of the source, else by the SKU (品番)."""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tokui.catalog.models import Product
from tokui.catalog.selectors import categories, product_refs_by_sku, products_by_external_id
from tokui.catalog.services import product_upsert
from tokui.catalog.types import ProductIn
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
from tokui.integrations.importers.reading import SourceRow
from tokui.integrations.types import RowResult

SKU_ALIASES = ("品番", "商品コード", "商品番号", "型番", "品目コード", "SKU", "item code", "product code", "style no")


def _category_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def category_ids_by_name() -> dict[str, int | None]:
    """Categories by name, by “parent > name” and by slug; a name two categories share maps to ``None``."""
    found: dict[str, int | None] = {}
    for category in categories():
        for name in {category.name, str(category), category.slug}:
            key = _category_key(name)
            found[key] = None if key in found and found[key] != category.pk else category.pk
    return found


@importers.register
class ProductImporter(Importer):
    object_type: ClassVar[str] = ImportObjectType.PRODUCTS
    key_fields = ("external_id", "sku")
    new_record_fields = (("name",), ("price",))
    fields = (
        ImportField(
            "external_id",
            gettext_lazy("Product id (key)"),
            values.code,
            ("商品ID", "商品管理番号", "product id", "item id", "external id", "id"),
            max_length=128,
        ),
        ImportField("sku", gettext_lazy("SKU (品番)"), values.code, SKU_ALIASES, max_length=64),
        ImportField(
            "name",
            gettext_lazy("Product name"),
            values.text,
            ("商品名", "品名", "名称", "product name", "item name", "name"),
            max_length=200,
        ),
        ImportField(
            "price",
            gettext_lazy("List price"),
            values.decimal,
            ("上代", "定価", "価格", "販売価格", "標準価格", "単価", "price", "retail price"),
        ),
        ImportField("category", gettext_lazy("Category"), values.text, ("カテゴリ", "カテゴリー", "分類", "商品分類")),
        ImportField("stock", gettext_lazy("Stock"), values.integer, ("在庫", "在庫数", "inventory")),
        ImportField("season", gettext_lazy("Season"), values.text, ("シーズン", "season"), max_length=16),
        ImportField("description", gettext_lazy("Description"), values.text, ("説明", "商品説明", "説明文")),
        ImportField("is_new", gettext_lazy("New arrival"), values.boolean, ("新作", "新商品", "new")),
        ImportField("url", gettext_lazy("Product page"), values.text, ("商品URL", "URL", "商品ページ"), max_length=200),
    )

    def apply(self, rows: list[SourceRow], columns: ColumnMap, context: RunContext) -> list[RowResult]:
        parsed = [self.parse(row, columns) for row in rows]
        keys = [self.key_of(row, columns) for row in rows]
        present = [key for key in keys if key]
        problems = context.key_problems(present)
        stored = products_by_external_id(source=context.source, external_ids=present)
        holders = product_refs_by_sku(skus=[item.values["sku"] for item in parsed if "sku" in item.values])
        key_label = self.field(self.key_field(columns)).label
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
                sku = item.values.get("sku")
                holder = holders.get(sku) if sku else None
                if holder is not None and (holder.source, holder.external_id) != (context.source, key):
                    results.append(
                        rejected(
                            row,
                            _(
                                "SKU (品番): “%(sku)s” already belongs to another product (source “%(source)s”). "
                                "Import with that source name to update it, or correct the SKU."
                            )
                            % {"sku": sku, "source": holder.source},
                            key,
                        )
                    )
                    continue
                try:
                    results.append(self._write(item, key, stored.get(key), context))
                except RowRejectedError as problem:
                    results.append(rejected(row, str(problem), key))
        return results

    def _overrides(self, item: ParsedRow, context: RunContext) -> dict[str, Any]:
        found = item.values
        overrides: dict[str, Any] = {
            name: found[name]
            for name in ("sku", "name", "stock", "season", "description", "is_new", "url")
            if name in found
        }
        if "price" in found:
            if found["price"] < 0:
                raise RowRejectedError(_("List price: the price cannot be negative."))
            overrides["price"] = found["price"]
        if "category" in found:
            category_id = context.cached("categories", category_ids_by_name).get(
                _category_key(found["category"]), "missing"
            )
            if category_id == "missing":
                raise RowRejectedError(
                    _("Category: there is no category “%(name)s”. Add it first, or leave the column out.")
                    % {"name": found["category"]}
                )
            if category_id is None:
                raise RowRejectedError(
                    _("Category: several categories are called “%(name)s”; write it as “parent > name”.")
                    % {"name": found["category"]}
                )
            overrides["category_id"] = category_id
        return overrides

    def _write(self, item: ParsedRow, key: str, current: Product | None, context: RunContext) -> RowResult:
        row = item.row
        labels = self.labels()
        before = stored_values(ProductIn, current)
        after = before | self._overrides(item, context)
        if current is None:
            after.setdefault("sku", key)
            missing = [str(self.field(name).label) for name in ("name", "price") if name not in after]
            if missing:
                return rejected(row, _("A new product needs: %(fields)s.") % {"fields": ", ".join(missing)}, key)
        elif after == before:
            return RowResult(row.number, RowOutcome.UNCHANGED, key)
        data = ProductIn(**after)
        outcome = attempt(lambda: product_upsert(source=context.source, external_id=key, data=data), labels)
        if isinstance(outcome, str):
            return rejected(row, outcome, key)
        return upserted(row.number, key, outcome, changed_labels(before, after, labels))
