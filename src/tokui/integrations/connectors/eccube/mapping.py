"""EC-CUBE 4 payloads (GraphQL nodes) → Tokui records, through the owning apps' services. Every function is idempotent.

EC-CUBE is mostly a B2C cart: a member (会員) is a contact, keyed by its id. A member who gave a company name also
gets a company of the same id, the contact under it. A guest order (非会員購入) becomes a contact keyed
``guest:<email>``. A product becomes one Tokui product per product class (``class:<id>``; Tokui sells SKUs).

Prices: EC-CUBE stores an order line's ``price`` without tax and its ``tax`` per unit (tax display type 1, 税抜), or
with tax (type 2, 税込). Order lines are stored with tax, as the shop's customers paid them, and no tax is added
again; the delivery fee and the payment fee are the shipping fee; the discount and the points used are the discount.
So the stored total equals EC-CUBE's ``payment_total``. Catalog prices are ``price02`` as EC-CUBE keeps it (without
tax), like the product list price in its admin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _

from tokui.catalog.selectors import categories_by_external_id, product_refs_by_sku
from tokui.catalog.services import category_upsert, product_upsert
from tokui.catalog.types import CategoryIn, ProductIn
from tokui.commerce.services import order_upsert
from tokui.commerce.types import FavoriteRecordIn, OrderIn, OrderLineIn
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

POINTS_REASON = "EC-CUBEのポイント残高に合わせる"
TOKUI_CONTACT_FIELDS = frozenset({"title", "line_user_id", "custom_fields"})
# EC-CUBE masters as shipped (see client.py).
ORDER_STATUSES = {"1": "pending", "3": "cancelled", "4": "confirmed", "5": "shipped", "6": "confirmed", "9": "refunded"}
UNFINISHED_ORDER_STATUSES = frozenset({"7", "8"})  # 決済処理中, 購入処理中: a checkout, not an order yet
PRODUCT_LINE = "1"
TAX_EXCLUDED = "1"
PRODUCT_STATUSES = {"1": "active", "2": "hidden", "3": "discontinued"}
APPROVALS = {"1": ApprovalStatus.PENDING, "2": ApprovalStatus.APPROVED, "3": ApprovalStatus.SUSPENDED}
# Tokui has no "unlimited" stock: a product class EC-CUBE sells without a stock limit counts as plenty.
UNLIMITED_STOCK = 999_999


def parse_time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(str(value)) if value else None


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else "0"))


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _joined(*parts: Any, sep: str = " ") -> str:
    return sep.join(str(part).strip() for part in parts if part and str(part).strip())


def _id(node: Any) -> str:
    return str(node.get("id") or "") if isinstance(node, dict) else ""


def _combined(outcomes: Iterable[UpsertOutcome]) -> UpsertOutcome:
    seen = set(outcomes)
    if UpsertOutcome.CREATED in seen:
        return UpsertOutcome.CREATED
    if UpsertOutcome.UPDATED in seen:
        return UpsertOutcome.UPDATED
    return UpsertOutcome.UNCHANGED


def product_key(product_class_id: Any) -> str:
    return f"class:{product_class_id}"


def guest_key(email: str) -> str:
    return f"guest:{email.strip().lower()}"


def _prefecture(pref: Any) -> str:
    found = prefecture_from_text(str(pref.get("name") or "")) if isinstance(pref, dict) else None
    return str(found.value) if found is not None else ""


# --- Catalog ---------------------------------------------------------------------------------------------------------


def _category_chain(category: dict[str, Any]) -> list[dict[str, Any]]:
    """A category and its ancestors as fetched, top first."""
    chain: list[dict[str, Any]] = []
    current: Any = category
    while isinstance(current, dict) and current.get("id") and len(chain) < 10:
        chain.append(current)
        current = current.get("Parent")
    return chain[::-1]


def _category_upsert(source: str, chain: list[dict[str, Any]]) -> tuple[int, list[UpsertOutcome]]:
    """Store a category chain top down; the top keeps its stored parent when the query stopped above it."""
    outcomes = []
    parent_id: int | None = None
    for index, node in enumerate(chain):
        key = _id(node)
        if index == 0 and "Parent" not in node:
            stored = categories_by_external_id(source=source, external_ids=[key]).get(key)
            parent_id = stored.parent_id if stored is not None else None
        result = category_upsert(
            source=source,
            external_id=key,
            data=CategoryIn(
                name=_text(node.get("name"), 100) or f"カテゴリ {key}",
                slug=slugify(f"{source}-category-{key}", allow_unicode=True)[:100],
                parent_id=parent_id,
                sort_order=int(node.get("sort_no") or 0),
            ),
        )
        outcomes.append(result.outcome)
        parent_id = result.instance.pk
    assert parent_id is not None
    return parent_id, outcomes


def _main_category(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The deepest category of the product (the most specific), lowest id among equals, as a chain."""
    chains = [
        _category_chain(link["Category"])
        for link in product.get("ProductCategories") or []
        if isinstance(link, dict) and isinstance(link.get("Category"), dict)
    ]
    chains = [chain for chain in chains if chain]
    if not chains:
        return []
    return min(chains, key=lambda chain: (-len(chain), int(_id(chain[-1]) or 0)))


def product_apply(*, source: str, payload: dict[str, Any], shop_url: str = "") -> UpsertOutcome:
    """Upsert the category of an EC-CUBE product and one Tokui product per product class."""
    outcomes: list[UpsertOutcome] = []
    category_id = None
    chain = _main_category(payload)
    if chain:
        category_id, outcomes = _category_upsert(source, chain)
    status = PRODUCT_STATUSES.get(_id(payload.get("Status")), "active")
    for product_class in payload.get("ProductClasses") or []:
        if not isinstance(product_class, dict) or not product_class.get("id"):
            continue
        outcomes.append(_product_class_upsert(source, payload, product_class, category_id, status, shop_url))
    return _combined(outcomes)


def _product_class_upsert(
    source: str,
    product: dict[str, Any],
    product_class: dict[str, Any],
    category_id: int | None,
    status: str,
    shop_url: str,
) -> UpsertOutcome:
    class_id = str(product_class["id"])
    sku = _text(product_class.get("code"), 64) or f"eccube-class-{class_id}"
    holder = product_refs_by_sku(skus=[sku]).get(sku)
    if holder is not None and (holder.source, holder.external_id) != (source, product_key(class_id)):
        raise DomainError(
            _("The SKU “%(sku)s” already belongs to another product (%(source)s / %(external_id)s).")
            % {"sku": sku, "source": holder.source, "external_id": holder.external_id or "-"},
            field="code",
        )
    variant = _joined(
        *(
            (product_class.get(name) or {}).get("name")
            for name in ("ClassCategory1", "ClassCategory2")
            if isinstance(product_class.get(name), dict)
        ),
        sep=" / ",
    )
    name = _joined(product.get("name"), variant) or sku
    stock = UNLIMITED_STOCK if product_class.get("stock_unlimited") else int(_money(product_class.get("stock")))
    data = ProductIn(
        sku=sku,
        name=name[:200],
        price=_money(product_class.get("price02")),
        category_id=category_id,
        url=f"{shop_url.rstrip('/')}/products/detail/{product['id']}" if shop_url else "",
        stock=stock,
        launched_at=parse_time(product.get("create_date")),
        # A class EC-CUBE no longer shows (its class categories were changed) is no longer sold.
        status=status if product_class.get("visible", True) else "discontinued",
    )
    return product_upsert(source=source, external_id=product_key(class_id), data=data).outcome


# --- Members ---------------------------------------------------------------------------------------------------------


def customer_apply(*, source: str, payload: dict[str, Any], mailmaga_field: str = "") -> UpsertOutcome:
    """Upsert the contact of an EC-CUBE member (and its company when it gave one), its consent and its points."""
    external_id = str(payload["id"])
    prefecture = _prefecture(payload.get("Pref"))
    outcomes = []
    company_id = None
    if company_name := _text(payload.get("company_name"), 200):
        company = _company_upsert(
            source,
            external_id,
            CompanyIn(
                name=company_name,
                prefecture=prefecture,
                postal_code=_text(payload.get("postal_code"), 8),
                address=_joined(payload.get("addr01"), payload.get("addr02"))[:300],
                phone=_text(payload.get("phone_number"), 32),
                approval_status=APPROVALS.get(_id(payload.get("Status")), ApprovalStatus.APPROVED),
            ),
        )
        company_id = company.instance.pk
        outcomes.append(company.outcome)
    birth = parse_time(payload.get("birth"))
    contact = _contact_upsert(
        source,
        external_id,
        # Without a company name from EC-CUBE, a company Tokui's staff put the contact under is kept.
        keep=frozenset() if company_id is not None else frozenset({"company_id", "is_primary"}),
        data=ContactIn(
            name=_joined(payload.get("name01"), payload.get("name02"))[:100] or _text(payload.get("email"), 100),
            company_id=company_id,
            name_kana=_joined(payload.get("kana01"), payload.get("kana02"))[:100],
            email=_text(payload.get("email"), 254),
            phone=_text(payload.get("phone_number"), 32),
            birthday=birth.date() if birth is not None else None,
            prefecture=prefecture,
            is_primary=company_id is not None,
        ),
    )
    outcomes.append(contact.outcome)
    if mailmaga_field and _apply_consent(source, contact.instance, payload, mailmaga_field):
        outcomes.append(UpsertOutcome.UPDATED)
    if _mirror_points(source, contact.instance, payload):
        outcomes.append(UpsertOutcome.UPDATED)
    return _combined(outcomes)


def _company_upsert(source: str, external_id: str, data: CompanyIn) -> UpsertResult[Company]:
    stored = companies_by_external_id(source=source, external_ids=[external_id]).get(external_id)
    keep = TOKUI_COMPANY_FIELDS | {"custom_fields", "name_kana", "code", "industry", "size", "fax", "rank"}
    return company_upsert(source=source, external_id=external_id, data=keep_stored(data, stored, keep))


def _contact_upsert(
    source: str, external_id: str, *, data: ContactIn, keep: frozenset[str] = frozenset()
) -> UpsertResult[Contact]:
    stored = contacts_by_external_id(source=source, external_ids=[external_id]).get(external_id)
    return contact_upsert(
        source=source, external_id=external_id, data=keep_stored(data, stored, TOKUI_CONTACT_FIELDS | keep)
    )


def consent_source(source: str) -> str:
    """Where consent from this connection is recorded as coming from (shown in the consent history)."""
    return f"EC-CUBE ({source})"[:100]


def _apply_consent(source: str, contact: Contact, payload: dict[str, Any], mailmaga_field: str) -> bool:
    """Record the mail-magazine flag as email consent when EC-CUBE's answer changed since it was last recorded
    (not compared with the current state: an opt-out made in Tokui stands until the member changes the flag)."""
    value = payload.get(mailmaga_field)
    if value in (None, ""):
        return False
    status = ConsentStatus.GRANTED if str(value).lower() in ("1", "true") else ConsentStatus.WITHDRAWN
    label = consent_source(source)
    if consent_last_from(contact=contact, channel=Channel.EMAIL, source=label) == status:
        return False  # unchanged: a re-sync must not add history
    at = parse_time(payload.get("update_date")) or parse_time(payload.get("create_date"))
    consent_record(contact=contact, channel=Channel.EMAIL, status=status, source=label, recorded_at=at)
    return True


def _mirror_points(source: str, contact: Contact, payload: dict[str, Any]) -> bool:
    """EC-CUBE keeps the point ledger and shows only the balance: grant or use the difference so Tokui's matches."""
    if payload.get("point") in (None, ""):
        return False
    wanted = int(_money(payload["point"]))
    held = point_balance(contact=contact)
    if wanted > held:
        points_grant(
            contact=contact,
            points=wanted - held,
            expires_at=None,
            reason=POINTS_REASON,
            source=source,
        )
        return True
    if wanted < held:
        points_use(contact=contact, points=held - wanted, reason=POINTS_REASON)
        return True
    return False


def favorite_records(payload: dict[str, Any]) -> list[FavoriteRecordIn]:
    """The member's favourites, each on the product's first product class (EC-CUBE favours whole products)."""
    records = []
    for favourite in payload.get("CustomerFavoriteProducts") or []:
        product = favourite.get("Product") if isinstance(favourite, dict) else None
        classes = sorted(
            (int(_id(c)) for c in (product or {}).get("ProductClasses") or [] if _id(c).isdigit()),
        )
        if not classes:
            continue
        records.append(
            FavoriteRecordIn(
                contact_external_id=str(payload["id"]),
                product_external_id=product_key(classes[0]),
                added_at=parse_time(favourite.get("create_date")),
            )
        )
    return records


# --- Orders ----------------------------------------------------------------------------------------------------------


def _order_customer(source: str, order: dict[str, Any]) -> tuple[int | None, int]:
    """The company and contact of an order: its member (created from the order if not synced yet), or a guest."""
    member_id = _id(order.get("Customer"))
    email = _text(order.get("email"), 254)
    key = member_id or (guest_key(email) if email else "")
    if not key:
        raise DomainError(_("The order has neither a member nor an email address."), field="email")
    refs = contact_ids_by_external_id(source=source, external_ids=[key])
    if key in refs:
        contact_id, company_id = refs[key]
        return company_id, contact_id
    prefecture = _prefecture(order.get("Pref"))
    company_id = None
    if company_name := _text(order.get("company_name"), 200):
        stored = companies_by_external_id(source=source, external_ids=[key]).get(key)
        company_id = (
            stored.pk
            if stored is not None
            else company_upsert(
                source=source,
                external_id=key,
                data=CompanyIn(
                    name=company_name,
                    prefecture=prefecture,
                    postal_code=_text(order.get("postal_code"), 8),
                    address=_joined(order.get("addr01"), order.get("addr02"))[:300],
                    phone=_text(order.get("phone_number"), 32),
                ),
            ).instance.pk
        )
    contact = _contact_upsert(
        source,
        key,
        data=ContactIn(
            name=_joined(order.get("name01"), order.get("name02"))[:100] or email[:100],
            company_id=company_id,
            name_kana=_joined(order.get("kana01"), order.get("kana02"))[:100],
            email=email,
            phone=_text(order.get("phone_number"), 32),
            prefecture=prefecture,
            is_primary=company_id is not None,
        ),
    ).instance
    return company_id, contact.pk


def _line(item: dict[str, Any]) -> OrderLineIn:
    price = _money(item.get("price"))
    if _id(item.get("TaxDisplayType")) in ("", TAX_EXCLUDED):
        price += _money(item.get("tax"))  # stored with tax, as the customer paid it
    variant = _joined(item.get("class_category_name1"), item.get("class_category_name2"), sep=" / ")
    sku = _text(item.get("product_code"), 64) or f"eccube-class-{_id(item.get('ProductClass')) or item.get('id')}"
    return OrderLineIn(
        sku=sku,
        product_name=_joined(item.get("product_name"), variant)[:200],
        quantity=int(_money(item.get("quantity"))),
        unit_price=price,
    )


def order_apply(*, source: str, payload: dict[str, Any]) -> UpsertOutcome | None:
    """Upsert an EC-CUBE order (web channel); a checkout still in progress (購入処理中, 決済処理中) is skipped."""
    status_id = _id(payload.get("OrderStatus"))
    if status_id in UNFINISHED_ORDER_STATUSES:
        return None
    company_id, contact_id = _order_customer(source, payload)
    items = [item for item in payload.get("OrderItems") or [] if isinstance(item, dict)]
    lines = [_line(item) for item in items if _id(item.get("OrderItemType")) == PRODUCT_LINE]
    shippings = [s for s in payload.get("Shippings") or [] if isinstance(s, dict)]
    dates = [parse_time(s.get("shipping_date")) for s in shippings]
    shipped_at = max(d for d in dates if d is not None) if dates and all(dates) else None
    points_in_yen = _money(payload.get("total")) - _money(payload.get("payment_total"))
    placed_at = parse_time(payload.get("order_date") or payload.get("create_date"))
    if placed_at is None:
        raise DomainError(_("The order has no order date."), field="order_date")
    data = OrderIn(
        company_id=company_id,
        contact_id=contact_id,
        number=_text(payload.get("order_no") or payload["id"], 64),
        channel="web",
        status=ORDER_STATUSES.get(status_id, "confirmed"),
        placed_at=placed_at,
        shipped_at=shipped_at,
        lines=lines,
        discount_total=_money(payload.get("discount")) + points_in_yen,
        shipping_fee=_money(payload.get("delivery_fee_total")) + _money(payload.get("charge")),
        tax_total=Decimal(0),  # lines include tax: not added again
    )
    return order_upsert(source=source, external_id=str(payload["id"]), data=data).outcome
