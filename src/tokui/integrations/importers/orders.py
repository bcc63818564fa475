"""Orders from an order list with one row per order line, the lines of an order next to each other and sharing
its order number (受注番号) — the usual layout of Japanese order exports and of the Excel sheets staff keep for FAX,
phone and sales-rep orders. An order is stored whole or not at all: one bad line rejects its whole order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tokui.catalog.selectors import product_refs_by_sku
from tokui.commerce.enums import OrderChannel
from tokui.commerce.models import Order
from tokui.commerce.selectors import order_headers_by_external_id, order_line_values
from tokui.commerce.services import order_upsert, orders_load_new
from tokui.commerce.types import OrderIn, OrderLineIn
from tokui.core.enums import UpsertOutcome
from tokui.core.money import quantize
from tokui.customers.selectors import company_refs_by_code, contact_refs_by_key
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
)
from tokui.integrations.importers.companies import CUSTOMER_CODE_ALIASES
from tokui.integrations.importers.products import SKU_ALIASES
from tokui.integrations.importers.reading import SourceRow, cell_text
from tokui.integrations.types import RowResult

# An order longer than this is almost certainly a file whose order numbers are wrong; it would also have to be
# held in memory whole.
MAX_ORDER_LINES = 2000
DEFAULT_CHANNEL = OrderChannel.SALES_REP

# Order-level columns: every line of an order must agree on them (or leave them blank).
HEADER_FIELDS = (
    "placed_at",
    "company_code",
    "contact_key",
    "channel",
    "status",
    "currency",
    "shipping_fee",
    "discount_total",
    "tax_total",
    "shipped_at",
    "sales_rep",
    "note",
)
# Stored order fields the file may leave out; a stored order keeps them.
KEPT_FIELDS = (
    "contact_id",
    "channel",
    "status",
    "currency",
    "shipping_fee",
    "discount_total",
    "tax_total",
    "shipped_at",
    "sales_rep_id",
    "note",
)


class _BulkPathRefusedError(RowRejectedError):
    """The fast path did not store every new order of the batch (a concurrent writer, a bad order): go one by one."""


@dataclass(slots=True)
class _Order:
    key: str
    rows: list[ParsedRow]
    data: OrderIn
    current: Order | None


def _money(value: Any) -> Decimal:
    return Decimal(value) if value is not None else Decimal(0)


def _same_as_stored(data: OrderIn, current: Order, lines: list[tuple[int | None, str, str, int, Decimal]]) -> bool:
    """Whether ``order_upsert`` would find nothing to change: the same header values and the same lines.

    Totals follow from the lines and fees, so they need no comparing. When in doubt this says "different" and the
    service decides.
    """
    currency = data.currency.upper()
    wanted_header = (
        data.number,
        data.company_id,
        data.contact_id,
        data.channel,
        data.status,
        data.placed_at,
        data.shipped_at,
        currency,
        quantize(data.discount_total, currency),
        quantize(data.shipping_fee, currency),
        quantize(data.tax_total, currency),
        data.sales_rep_id,
        data.note,
    )
    stored_header = (
        current.number,
        current.company_id,
        current.contact_id,
        current.channel,
        current.status,
        current.placed_at,
        current.shipped_at,
        current.currency,
        current.discount_total,
        current.shipping_fee,
        current.tax_total,
        current.sales_rep_id,
        current.note,
    )
    if wanted_header != stored_header:
        return False
    wanted_lines = [
        (line.product_id, line.sku, line.product_name, line.quantity, quantize(line.unit_price, currency))
        for line in data.lines
    ]
    return wanted_lines == lines


@importers.register
class OrderImporter(Importer):
    object_type: ClassVar[str] = ImportObjectType.ORDERS
    key_fields = ("order_number",)
    mapping_required = ("placed_at", "sku", "quantity", "unit_price")
    mapping_one_of = (("company_code", "contact_key"),)
    groups_rows = True
    fields = (
        ImportField(
            "order_number",
            gettext_lazy("Order number (key)"),
            values.code,
            (
                "受注番号",
                "注文番号",
                "受注No",
                "注文No",
                "伝票番号",
                "受注ID",
                "注文ID",
                "order number",
                "order no",
                "order id",
            ),
            max_length=64,
        ),
        ImportField(
            "placed_at",
            gettext_lazy("Order date"),
            values.local_datetime,
            ("受注日", "注文日", "受注日時", "注文日時", "受注年月日", "伝票日付", "order date", "ordered at", "date"),
        ),
        ImportField("company_code", gettext_lazy("Customer code"), values.code, CUSTOMER_CODE_ALIASES),
        ImportField(
            "contact_key",
            gettext_lazy("Contact code or email"),
            values.code,
            ("担当者コード", "担当者ID", "会員ID", "会員番号", "メールアドレス", "メール", "email", "contact id"),
        ),
        ImportField(
            "channel",
            gettext_lazy("Channel (FAX, phone, sales rep, web)"),
            values.channel,
            ("チャネル", "チャネル区分", "受注区分", "受注方法", "受注経路", "注文方法", "注文経路", "channel"),
        ),
        ImportField(
            "status", gettext_lazy("Order status"), values.order_status, ("ステータス", "受注ステータス", "状態")
        ),
        ImportField("sku", gettext_lazy("SKU (品番)"), values.code, SKU_ALIASES, max_length=64),
        ImportField(
            "product_name",
            gettext_lazy("Product name"),
            values.text,
            ("商品名", "品名", "product name", "item name"),
            max_length=200,
        ),
        ImportField(
            "quantity",
            gettext_lazy("Quantity"),
            values.integer,
            ("数量", "個数", "受注数", "注文数", "数", "qty"),
        ),
        ImportField(
            "unit_price",
            gettext_lazy("Unit price"),
            values.decimal,
            ("単価", "卸単価", "販売単価", "売単価", "unit price", "price"),
        ),
        ImportField("shipping_fee", gettext_lazy("Shipping fee"), values.decimal, ("送料", "配送料", "shipping")),
        ImportField(
            "discount_total", gettext_lazy("Discount"), values.decimal, ("値引", "値引額", "割引", "割引額", "discount")
        ),
        ImportField("tax_total", gettext_lazy("Tax"), values.decimal, ("消費税", "消費税額", "税額", "tax")),
        ImportField("shipped_at", gettext_lazy("Shipped on"), values.local_datetime, ("出荷日", "発送日", "ship date")),
        ImportField(
            "sales_rep",
            gettext_lazy("Sales rep"),
            values.text,
            ("担当営業", "営業担当", "営業担当者", "受注担当", "sales rep"),
            target="sales_rep_id",
        ),
        ImportField("note", gettext_lazy("Note"), values.text, ("備考", "メモ", "摘要", "note", "memo")),
        ImportField("currency", gettext_lazy("Currency"), values.code, ("通貨", "currency"), max_length=3),
    )

    def apply(self, rows: list[SourceRow], columns: ColumnMap, context: RunContext) -> list[RowResult]:
        parsed = [self.parse(row, columns) for row in rows]
        groups: list[tuple[str, list[ParsedRow]]] = []
        for item in parsed:
            key = self.key_of(item.row, columns)
            if key and groups and groups[-1][0] == key:
                groups[-1][1].append(item)
            else:
                groups.append((key, [item]))
        keys = sorted({key for key, _items in groups if key})
        problems = context.key_problems(keys)
        stored = order_headers_by_external_id(source=context.source, external_ids=keys)
        found = [item.values for item in parsed]
        companies = company_refs_by_code(
            source=context.source, codes=[value["company_code"] for value in found if "company_code" in value]
        )
        contacts = contact_refs_by_key(
            source=context.source, keys=[value["contact_key"] for value in found if "contact_key" in value]
        )
        products = product_refs_by_sku(skus=[value["sku"] for value in found if "sku" in value])
        own = context.own_company_ids(
            [ref.company_id for ref in companies.values()]
            + [ref.company_id for ref in contacts.values()]
            + [order.company_id for order in stored.values()]
        )
        results: dict[int, RowResult] = {}
        prepared: list[_Order] = []
        for key, items in groups:
            try:
                if not key:
                    raise RowRejectedError(_("The order number is empty: every line needs its order's number."))
                if key in problems:
                    raise RowRejectedError(problems[key])
                self._reject_bad_lines(items)
                data = self._order_in(key, items, stored.get(key), companies, contacts, products, own, context)
                prepared.append(_Order(key=key, rows=items, data=data, current=stored.get(key)))
            except RowRejectedError as problem:
                for item in items:
                    message = " / ".join(item.errors) if item.errors else str(problem)
                    results[item.row.number] = rejected(item.row, message, key)
        self._write_new([order for order in prepared if order.current is None], results, context)
        existing = [order for order in prepared if order.current is not None]
        stored_lines = order_line_values(order_ids=[order.current.pk for order in existing if order.current])
        for order in existing:
            assert order.current is not None
            if _same_as_stored(order.data, order.current, stored_lines.get(order.current.pk, [])):
                # Nothing to write: re-importing last month's file costs one read per batch, not a write per order.
                for item in order.rows:
                    results[item.row.number] = RowResult(item.row.number, RowOutcome.UNCHANGED, order.key)
            else:
                self._write_existing(order, results, context)
        return [results[row.number] for row in rows]

    # --- Preparing ------------------------------------------------------------------------------------------------

    def _reject_bad_lines(self, items: list[ParsedRow]) -> None:
        for item in items:
            missing = [
                str(self.field(name).label) for name in ("sku", "quantity", "unit_price") if name not in item.values
            ]
            if missing:
                item.errors.append(_("Empty: %(fields)s.") % {"fields": ", ".join(missing)})
            if item.values.get("quantity", 1) <= 0:
                item.errors.append(_("Quantity: must be at least 1 (returns are not imported as orders)."))
            if item.values.get("unit_price", 0) < 0:
                item.errors.append(_("Unit price: cannot be negative."))
        bad = [item.row.number for item in items if item.errors]
        if bad:
            raise RowRejectedError(
                _("Not imported because row %(rows)s of the same order has an error; an order is imported whole.")
                % {"rows": ", ".join(f"{number:,}" for number in bad[:10])}
            )

    def _header(self, items: list[ParsedRow]) -> dict[str, Any]:
        """The order-level values of an order's lines; lines that disagree reject the order."""
        header: dict[str, Any] = {}
        for name in HEADER_FIELDS:
            seen = [item.values[name] for item in items if name in item.values]
            distinct = list(dict.fromkeys(seen))
            if len(distinct) > 1:
                shown = ", ".join(cell_text(value) for value in distinct[:3])
                raise RowRejectedError(
                    _("The lines of this order disagree on %(field)s (%(values)s). Give every line the same value.")
                    % {"field": self.field(name).label, "values": shown}
                )
            if distinct:
                header[name] = distinct[0]
        if "placed_at" not in header:
            raise RowRejectedError(_("Order date: empty. Every order needs the date it was placed."))
        return header

    def _order_in(
        self,
        key: str,
        items: list[ParsedRow],
        current: Order | None,
        companies: dict[str, Any],
        contacts: dict[str, Any],
        products: dict[str, Any],
        own: set[int],
        context: RunContext,
    ) -> OrderIn:
        header = self._header(items)
        kept: dict[str, Any] = {name: getattr(current, name) for name in KEPT_FIELDS} if current else {}
        company_id: int | None = current.company_id if current else None
        contact_id: int | None = kept.get("contact_id")
        if "contact_key" in header:
            contact = contacts.get(header["contact_key"])
            if contact is None:
                raise RowRejectedError(
                    _("There is no contact with the code or email “%(key)s”. Import the contacts first.")
                    % {"key": header["contact_key"]}
                )
            contact_id, company_id = contact.contact_id, contact.company_id
        if "company_code" in header:
            company = companies.get(header["company_code"])
            if company is None:
                raise RowRejectedError(
                    _("There is no company with the customer code “%(code)s”. Import the companies first.")
                    % {"code": header["company_code"]}
                )
            company_id = company.company_id
        if company_id is None and contact_id is None:
            raise RowRejectedError(_("Customer code: empty. Every order needs the customer who placed it."))
        if company_id is not None and company_id not in own:
            raise RowRejectedError(_("This customer is looked after by another sales rep; ask a manager to import it."))
        if current is not None and current.company_id is not None and current.company_id not in own:
            raise RowRejectedError(_("This order belongs to another sales rep's customer; ask a manager to import it."))
        sales_rep_id = kept.get("sales_rep_id")
        if "sales_rep" in header:
            sales_rep_id = context.cached("sales_reps", sales_rep_ids_by_name).get(person_key(header["sales_rep"]))
            if sales_rep_id is None:
                raise RowRejectedError(
                    _("Sales rep: nobody called “%(name)s” is a sales rep in Tokui. Write their login name or name.")
                    % {"name": header["sales_rep"]}
                )
        lines = []
        for item in items:
            product = products.get(item.values["sku"])
            name = item.values.get("product_name") or (product.name if product else item.values["sku"])
            lines.append(
                OrderLineIn(
                    sku=item.values["sku"],
                    quantity=item.values["quantity"],
                    unit_price=item.values["unit_price"],
                    product_name=name,
                    product_id=product.id if product else None,
                )
            )
        channel = header.get("channel") or kept.get("channel") or context.options.get("channel") or DEFAULT_CHANNEL
        shipped_at: dt.datetime | None = header.get("shipped_at", kept.get("shipped_at"))
        return OrderIn(
            placed_at=header["placed_at"],
            lines=lines,
            company_id=company_id,
            contact_id=contact_id,
            number=key,
            channel=str(channel),
            status=header.get("status") or kept.get("status") or "confirmed",
            currency=(header.get("currency") or kept.get("currency") or "JPY").upper(),
            discount_total=_money(header.get("discount_total", kept.get("discount_total"))),
            shipping_fee=_money(header.get("shipping_fee", kept.get("shipping_fee"))),
            tax_total=_money(header.get("tax_total", kept.get("tax_total"))),
            shipped_at=shipped_at,
            sales_rep_id=sales_rep_id,
            note=header.get("note", kept.get("note", "")),
        )

    # --- Writing --------------------------------------------------------------------------------------------------

    def _write_new(self, orders: list[_Order], results: dict[int, RowResult], context: RunContext) -> None:
        """New orders go in bulk (``orders_load_new``); if the bulk path refuses, they go one by one."""
        if not orders:
            return
        batch = [(order.key, order.data) for order in orders]

        def load_all() -> int:
            created = orders_load_new(source=context.source, orders=batch)
            if created != len(batch):
                raise _BulkPathRefusedError
            return created

        if isinstance(attempt(load_all, self.labels()), int):
            for order in orders:
                for item in order.rows:
                    results[item.row.number] = RowResult(item.row.number, RowOutcome.CREATED, order.key)
            return
        for order in orders:
            self._write_existing(order, results, context)

    def _write_existing(self, order: _Order, results: dict[int, RowResult], context: RunContext) -> None:
        labels = self.labels()
        outcome = attempt(lambda: order_upsert(source=context.source, external_id=order.key, data=order.data), labels)
        if isinstance(outcome, str):
            for item in order.rows:
                results[item.row.number] = rejected(item.row, outcome, order.key)
            return
        message = ""
        if outcome.outcome == UpsertOutcome.UPDATED:
            message = self._changes(order) or _("Changes: the order lines")
        for item in order.rows:
            results[item.row.number] = RowResult(item.row.number, str(outcome.outcome.value), order.key, message)

    def _changes(self, order: _Order) -> str:
        if order.current is None:
            return ""
        names = ("placed_at", "company_id", "contact_id", *KEPT_FIELDS[1:])
        before = {name: getattr(order.current, name) for name in names}
        after = {name: getattr(order.data, name) for name in names}
        labels = self.labels() | {
            "company_id": self.field("company_code").label,
            "contact_id": self.field("contact_key").label,
        }
        return changed_labels(before, after, labels)
