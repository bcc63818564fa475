"""B-Cart payloads → Tokui records, through the owning apps' services. Every function is idempotent.

B-Cart is a B2B cart: a member (会員) is a company, and its person in charge (担当者, ``tanto_*``) becomes the
company's primary contact. Ids are B-Cart's own, keyed by the connection's ``source``: the company is the member id,
the contact ``<member id>:tanto``, a product ``set:<product set id>`` (Tokui sells SKUs; B-Cart's SKU is the product
set), a category its id, an order its id.

Prices: B-Cart marks every order line as with or without tax (``tax_incl``). Lines without tax (the usual B2B case)
are stored as they are and B-Cart's ``tax`` is added once; lines with tax are stored with tax and no tax is added
again. Either way the stored total equals B-Cart's ``final_price``. Points used on an order are a discount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _

from tokui.catalog.selectors import product_refs_by_sku
from tokui.catalog.services import category_upsert, product_upsert
from tokui.catalog.types import CategoryIn, ProductIn
from tokui.commerce.services import order_upsert
from tokui.commerce.types import OrderIn, OrderLineIn
from tokui.core.batches import keep_stored
from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError
from tokui.core.upserts import UpsertResult
from tokui.customers.enums import ApprovalStatus, Channel, ConsentStatus
from tokui.customers.models import Company, Contact
from tokui.customers.prefectures import prefecture_from_text
from tokui.customers.selectors import (
    companies_by_external_id,
    consent_last_from,
    contact_ids_by_external_id,
    contacts_by_external_id,
    point_balance,
)
from tokui.customers.services import (
    TOKUI_COMPANY_FIELDS,
    company_upsert,
    consent_record,
    contact_upsert,
    points_grant,
    points_use,
)
from tokui.customers.types import CompanyIn, ContactIn
from tokui.integrations.connectors.bcart.client import JST

POINTS_REASON = "Bカートのポイント残高に合わせる"
# Contact fields B-Cart does not have: a sync never clears what Tokui keeps there.
TOKUI_CONTACT_FIELDS = frozenset({"title", "birthday", "line_user_id", "custom_fields"})
SHIPPED = "発送済"


def parse_time(value: Any) -> dt.datetime | None:
    """B-Cart's ``Y-m-d H:i:s`` / ``Y-m-d`` (Japan time), or an ISO 8601 time with its own offset."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value).strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=JST)


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else "0"))


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _joined(*parts: Any) -> str:
    return " ".join(str(part).strip() for part in parts if part and str(part).strip())


def _combined(outcomes: Iterable[UpsertOutcome]) -> UpsertOutcome:
    seen = set(outcomes)
    if UpsertOutcome.CREATED in seen:
        return UpsertOutcome.CREATED
    if UpsertOutcome.UPDATED in seen:
        return UpsertOutcome.UPDATED
    return UpsertOutcome.UNCHANGED


def contact_key(customer_id: Any) -> str:
    return f"{customer_id}:tanto"


def product_key(product_set_id: Any) -> str:
    return f"set:{product_set_id}"


def _prefecture_and_address(pref: Any, *lines: Any) -> tuple[str, str]:
    """The JIS code of ``pref`` and the rest of the address; a text that names no prefecture stays in the address."""
    prefecture = prefecture_from_text(str(pref or ""))
    street = _joined(*lines)
    if prefecture is None:
        return "", _joined(pref, street)[:300]
    return str(prefecture.value), street[:300]


# --- Catalog ---------------------------------------------------------------------------------------------------------


def category_apply(*, source: str, payload: dict[str, Any], parent_id: int | None) -> UpsertOutcome:
    name = _text(payload.get("name"), 100) or f"カテゴリ {payload['id']}"
    data = CategoryIn(
        name=name,
        slug=slugify(f"{source}-category-{payload['id']}", allow_unicode=True)[:100],
        parent_id=parent_id,
        sort_order=int(payload.get("priority") or 0),
    )
    return category_upsert(source=source, external_id=str(payload["id"]), data=data).outcome


def product_set_apply(
    *,
    source: str,
    payload: dict[str, Any],
    product: dict[str, Any] | None,
    category_ids: Mapping[str, int],
    shop_url: str = "",
) -> UpsertOutcome:
    """Upsert the Tokui product of one B-Cart product set (SKU), named and categorised after its product."""
    product = product or {}
    set_id = payload["id"]
    sku = _text(payload.get("product_no") or payload.get("jan_code"), 64) or f"bcart-set-{set_id}"
    holder = product_refs_by_sku(skus=[sku]).get(sku)
    if holder is not None and (holder.source, holder.external_id) != (source, product_key(set_id)):
        raise DomainError(
            _("The SKU “%(sku)s” already belongs to another product (%(source)s / %(external_id)s).")
            % {"sku": sku, "source": holder.source, "external_id": holder.external_id or "-"},
            field="product_no",
        )
    product_name = str(product.get("name") or "").strip()
    set_name = str(payload.get("name") or "").strip()
    name = product_name if not set_name or set_name == product_name else _joined(product_name, set_name)
    product_id = payload.get("product_id") or product.get("id")
    data = ProductIn(
        sku=sku,
        name=(name or sku)[:200],
        price=_money(payload.get("unit_price")),
        category_id=category_ids.get(str(product.get("category_id") or "")),
        url=f"{shop_url.rstrip('/')}/product.php?id={product_id}" if shop_url and product_id else "",
        stock=int(_money(payload.get("stock"))),
        is_new="new" in str(product.get("tag") or "").split(","),
        launched_at=parse_time(product.get("hanbai_start")),
        status="hidden" if product.get("flag") == "非表示" else "active",
    )
    return product_upsert(source=source, external_id=product_key(set_id), data=data).outcome


# --- Members (companies and their 担当者) ----------------------------------------------------------------------------


def _approval(status: Any) -> str:
    text = str(status or "").strip()
    if text in ("未承認", "承認待ち", "仮登録"):
        return ApprovalStatus.PENDING
    if text in ("無効", "停止", "休止"):
        return ApprovalStatus.SUSPENDED
    if text in ("否認", "拒否", "却下"):
        return ApprovalStatus.REJECTED
    return ApprovalStatus.APPROVED


def _rank(payload: dict[str, Any], price_groups: Mapping[str, str]) -> str:
    """The member's price group (会員価格グループ) as its rank: by name when a product set named it, else by id."""
    group_id = payload.get("price_group_id")
    if group_id in (None, "", 0, "0"):
        return ""
    return (price_groups.get(str(group_id)) or f"価格グループ{group_id}")[:32]


def customer_apply(
    *, source: str, payload: dict[str, Any], price_groups: Mapping[str, str] | None = None
) -> UpsertOutcome:
    """Upsert the company of a B-Cart member and its 担当者, record a change of mail consent, mirror the points."""
    external_id = str(payload["id"])
    prefecture, address = _prefecture_and_address(
        payload.get("pref"), payload.get("address1"), payload.get("address2"), payload.get("address3")
    )
    person = _joined(payload.get("tanto_last_name"), payload.get("tanto_first_name"))
    company_data = CompanyIn(
        name=_text(payload.get("comp_name"), 200) or person[:200] or f"Bカート会員 {external_id}",
        name_kana=_text(payload.get("comp_name_kana"), 200),
        code=_text(payload.get("ext_id"), 64),
        prefecture=prefecture,
        postal_code=_text(payload.get("zip"), 8),
        address=address,
        phone=_text(payload.get("tel"), 32),
        fax=_text(payload.get("fax"), 32),
        rank=_rank(payload, price_groups or {}),
        approval_status=_approval(payload.get("status")),
    )
    keep = TOKUI_COMPANY_FIELDS | {"custom_fields", "industry", "size"}  # not in B-Cart: Tokui's to set
    if price_groups is None:
        keep |= {"rank"}  # group names unknown here (a webhook): keep the rank the last sync set
    stored = companies_by_external_id(source=source, external_ids=[external_id]).get(external_id)
    company = company_upsert(source=source, external_id=external_id, data=keep_stored(company_data, stored, keep))
    contact = _contact_upsert(
        source=source,
        external_id=contact_key(external_id),
        data=ContactIn(
            name=(person or company_data.name)[:100],
            company_id=company.instance.pk,
            name_kana=_joined(payload.get("tanto_last_name_kana"), payload.get("tanto_first_name_kana"))[:100],
            email=_text(payload.get("email"), 254),
            phone=_text(payload.get("tel") or payload.get("mobile_phone"), 32),
            department=_text(payload.get("department"), 100),
            prefecture=prefecture,
            is_primary=True,
        ),
    )
    outcomes = [company.outcome, contact.outcome]
    if _apply_consent(source, contact.instance, payload):
        outcomes.append(UpsertOutcome.UPDATED)
    if _mirror_points(source, company.instance, payload):
        outcomes.append(UpsertOutcome.UPDATED)
    return _combined(outcomes)


def _contact_upsert(*, source: str, external_id: str, data: ContactIn) -> UpsertResult[Contact]:
    stored = contacts_by_external_id(source=source, external_ids=[external_id]).get(external_id)
    return contact_upsert(source=source, external_id=external_id, data=keep_stored(data, stored, TOKUI_CONTACT_FIELDS))


def consent_source(source: str) -> str:
    """Where consent from this connection is recorded as coming from (shown in the consent history)."""
    return f"Bカート ({source})"[:100]


def _apply_consent(source: str, contact: Contact, payload: dict[str, Any]) -> bool:
    """Record the mail-magazine flag as email consent when B-Cart's answer changed since it was last recorded.

    Compared with what B-Cart said last, not with the current state: a contact who opted out in Tokui (an
    unsubscribe link) stays out until the member changes the flag in B-Cart; a late record never overrides a newer
    decision (``consent_record`` keeps the newest).
    """
    if payload.get("mm_flag") in (None, ""):
        return False
    status = ConsentStatus.GRANTED if str(payload["mm_flag"]) == "1" else ConsentStatus.WITHDRAWN
    label = consent_source(source)
    if consent_last_from(contact=contact, channel=Channel.EMAIL, source=label) == status:
        return False  # unchanged: a re-sync must not add history
    at = parse_time(payload.get("updated_at")) or parse_time(payload.get("created_at"))
    consent_record(contact=contact, channel=Channel.EMAIL, status=status, source=label, recorded_at=at)
    return True


def _mirror_points(source: str, company: Company, payload: dict[str, Any]) -> bool:
    """B-Cart keeps the point ledger and shows only the balance: grant or use the difference so Tokui's matches."""
    if payload.get("point") in (None, ""):
        return False
    wanted = int(_money(payload["point"]))
    held = point_balance(company=company)
    if wanted > held:
        points_grant(
            company=company,
            points=wanted - held,
            expires_at=None,
            reason=POINTS_REASON,
            source=source,
        )
        return True
    if wanted < held:
        points_use(company=company, points=held - wanted, reason=POINTS_REASON)
        return True
    return False


def _customer_refs(source: str, order: dict[str, Any]) -> tuple[int, int | None]:
    """The company and contact of an order's member; a member not synced yet is created from the order's copy."""
    member_id = str(order.get("customer_id") or "")
    if not member_id:
        raise DomainError(_("The order names no member (customer_id)."), field="customer_id")
    refs = contact_ids_by_external_id(source=source, external_ids=[contact_key(member_id)])
    if contact_key(member_id) in refs:
        contact_id, company_id = refs[contact_key(member_id)]
        if company_id is not None:
            return company_id, contact_id
    prefecture, address = _prefecture_and_address(
        order.get("customer_pref"),
        order.get("customer_address1"),
        order.get("customer_address2"),
        order.get("customer_address3"),
    )
    person = _text(order.get("customer_name"), 100)
    stored = companies_by_external_id(source=source, external_ids=[member_id]).get(member_id)
    company = (
        stored
        or company_upsert(
            source=source,
            external_id=member_id,
            data=CompanyIn(
                name=_text(order.get("customer_comp_name"), 200) or person or f"Bカート会員 {member_id}",
                code=_text(order.get("customer_ext_id"), 64),
                prefecture=prefecture,
                postal_code=_text(order.get("customer_zip"), 8),
                address=address,
                phone=_text(order.get("customer_tel"), 32),
            ),
        ).instance
    )
    contact = _contact_upsert(
        source=source,
        external_id=contact_key(member_id),
        data=ContactIn(
            name=person or company.name[:100],
            company_id=company.pk,
            email=_text(order.get("customer_email"), 254),
            phone=_text(order.get("customer_tel") or order.get("customer_mobile_phone"), 32),
            department=_text(order.get("customer_department"), 100),
            prefecture=prefecture,
            is_primary=True,
        ),
    ).instance
    return company.pk, contact.pk


# --- Orders ----------------------------------------------------------------------------------------------------------


def _line_sku(line: dict[str, Any]) -> str:
    return _text(line.get("product_no") or line.get("jan_code"), 64) or f"bcart-set-{line.get('product_set_id')}"


def _status_and_shipped_at(order: dict[str, Any]) -> tuple[str, dt.datetime | None]:
    status = str(order.get("status") or "")
    logistics = [item for item in order.get("logistics") or [] if isinstance(item, dict)]
    shipped = bool(logistics) and all(str(item.get("status") or "") == SHIPPED for item in logistics)
    dates = [d for d in (parse_time(item.get("shipment_date")) for item in logistics) if d is not None]
    shipped_at = max(dates) if shipped and dates else None
    if "キャンセル" in status or "取消" in status:
        return "cancelled", shipped_at
    if "返品" in status or "返金" in status:
        return "refunded", shipped_at
    if shipped or "発送済" in status or "完了" in status:
        return "shipped", shipped_at
    if status == "新規注文":
        return "pending", None
    return "confirmed", None


def order_apply(*, source: str, payload: dict[str, Any]) -> UpsertOutcome:
    """Upsert a B-Cart order (web channel) with its product lines, status, shipment time and totals."""
    company_id, contact_id = _customer_refs(source, payload)
    products = [
        line
        for line in payload.get("order_products") or []
        if isinstance(line, dict) and str(line.get("item_type") or "product") == "product"
    ]
    lines = []
    for line in products:
        name = str(line.get("product_name") or "").strip()
        set_name = str(line.get("set_name") or "").strip()
        lines.append(
            OrderLineIn(
                sku=_line_sku(line),
                product_name=(name if not set_name or set_name == name else _joined(name, set_name))[:200],
                quantity=int(_money(line.get("order_pro_count"))),
                unit_price=_money(line.get("unit_price")),
            )
        )
    shipping_fee = _money(payload.get("shipping_cost")) + _money(payload.get("COD_cost"))
    discount = _money(payload.get("use_point"))
    included = {str(line.get("tax_incl")) == "1" for line in products}
    if included == {True}:
        tax_total = Decimal(0)  # prices include tax: not added again
    elif included == {False} or not products:
        tax_total = _money(payload.get("tax"))
    else:
        # Lines with and without tax in one order: the tax still to add is what makes B-Cart's final price.
        subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
        tax_total = _money(payload.get("final_price")) - (subtotal - discount + shipping_fee)
    status, shipped_at = _status_and_shipped_at(payload)
    placed_at = parse_time(payload.get("ordered_at"))
    if placed_at is None:
        raise DomainError(_("The order has no order time (ordered_at)."), field="ordered_at")
    data = OrderIn(
        company_id=company_id,
        contact_id=contact_id,
        number=_text(payload.get("code") or payload["id"], 64),
        channel="web",
        status=status,
        placed_at=placed_at,
        shipped_at=shipped_at,
        lines=lines,
        discount_total=discount,
        shipping_fee=shipping_fee,
        tax_total=tax_total,
    )
    return order_upsert(source=source, external_id=str(payload["id"]), data=data).outcome


def price_group_names(product_sets: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Price-group names by id, as product sets' ``group_price`` name them (members carry only the id)."""
    names: dict[str, str] = {}
    for product_set in product_sets:
        groups = product_set.get("group_price")
        if isinstance(groups, dict):
            for group_id, group in groups.items():
                if isinstance(group, dict) and group.get("name"):
                    names.setdefault(str(group_id), str(group["name"]))
    return names
