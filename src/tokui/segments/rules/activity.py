"""Conditions on what customers did: orders (bought / never bought), page views, carts and favourites.

Each compiles to ``Exists`` over the fact rows of the subject (``company_id`` or ``contact_id``); "at least N times"
becomes ``Exists`` over a grouped subquery with ``HAVING``, so the whole rule stays one query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import Field, model_validator

from tokui.catalog.models import Category, Product
from tokui.catalog.selectors import categories_with_descendants
from tokui.commerce.enums import NON_REVENUE_STATUSES, CartState
from tokui.commerce.models import CartLine, Favorite, Order, OrderLine
from tokui.core.lookups import ids_q
from tokui.segments.enums import PeriodKind, Subject, ValueKind
from tokui.segments.rules.base import (
    ConditionConfig,
    ConditionType,
    RuleContext,
    RuleError,
    condition_types,
    options,
)
from tokui.segments.rules.values import Period
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event, property_text

DID_OPERATORS = {"did": gettext_lazy("did"), "did_not": gettext_lazy("did not")}


def operator_check(op: str, operators: dict[str, Any]) -> None:
    if op not in operators:
        raise ValueError(_("“%(op)s” is not an operator for this field. Choose one of the list.") % {"op": op})


def category_ids_with_descendants(category_ids: list[int]) -> list[int]:
    """The chosen categories and every category under them (buying a T-shirt is buying トップス)."""
    return sorted(categories_with_descendants(category_ids))


def _check_products(products: list[int]) -> None:
    known = set(Product.objects.filter(pk__in=products).values_list("pk", flat=True))
    if missing := [p for p in products if p not in known]:
        raise RuleError(_("Product %(id)s no longer exists. Remove it from the condition.") % {"id": missing[0]})


def _check_categories(categories: list[int]) -> None:
    known = set(Category.objects.filter(pk__in=categories).values_list("pk", flat=True))
    if missing := [c for c in categories if c not in known]:
        raise RuleError(_("Category %(id)s no longer exists. Remove it from the condition.") % {"id": missing[0]})


def _names(model: Any, ids: list[int]) -> str:
    return "、".join(str(name) for name in model.objects.filter(pk__in=ids).values_list("name", flat=True))


def _at_least(
    rows: QuerySet[Any],
    ctx: RuleContext,
    *,
    group: str,
    count: str,
    min_count: int,
    amount: str = "",
    min_amount: int | None = None,
) -> Q:
    """The subject has ``rows`` (``group`` names the subject in them), or at least ``min_count`` distinct ``count``
    and ``min_amount`` yen of ``amount``.

    Once is a correlated ``EXISTS`` (PostgreSQL turns it into a semi-join). "At least N" is ``pk IN (SELECT ...
    GROUP BY ... HAVING ...)``, uncorrelated, so the database aggregates the matching rows once instead of once
    per customer; refreshing a few customers restricts it to them.
    """
    # Rows without a customer never count: NOT IN over a NULL would be NULL for everyone, and the stated condition
    # lets PostgreSQL use the partial indexes of known customers' facts (implied by it, not by a join clause).
    rows = rows.filter(**{f"{group}__isnull": False})
    if min_count <= 1 and not min_amount:
        return Q(Exists(rows.filter(**{group: OuterRef("pk")})))
    grouped = rows
    if ctx.customer_ids is not None:
        grouped = grouped.filter(ids_q(group, ctx.customer_ids))
    # Distinct only where rows repeat what is counted (lines of one order). Ids are unique and never NULL, so they
    # are counted as COUNT(*): a plain count lets PostgreSQL hash-aggregate instead of sorting, and needs no id
    # column, so the covering indexes of orders and views answer it alone.
    counted = Count("*") if count == "id" else Count(count, distinct=True)
    grouped = grouped.order_by().values(group).annotate(_n=counted)
    having = Q(_n__gte=min_count)
    if min_amount:
        grouped = grouped.annotate(_amount=Sum(amount))
        having &= Q(_amount__gte=min_amount)
    return Q(pk__in=grouped.filter(having).values(group))


# --- Purchases -----------------------------------------------------------------------------------------------------

BOUGHT_OPERATORS = {"bought": gettext_lazy("bought"), "not_bought": gettext_lazy("did not buy")}


class PurchasedConfig(ConditionConfig):
    op: str = "bought"
    products: list[int] = []
    categories: list[int] = []
    period: Period = Period()
    min_count: int = Field(default=1, ge=1, le=100000)
    min_amount: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _valid(self) -> PurchasedConfig:
        operator_check(self.op, BOUGHT_OPERATORS)
        return self


@condition_types.register("purchased")
class PurchasedCondition(ConditionType[PurchasedConfig]):
    """Bought (or never bought) anything, a product or a category, in a period, at least N orders or N yen.

    Cancelled and refunded orders do not count, as in every sales figure.
    """

    label = gettext_lazy("Purchases")
    section = gettext_lazy("Orders and RFM")
    config_model = PurchasedConfig
    value_kind = ValueKind.PRODUCTS
    operators = BOUGHT_OPERATORS
    inputs = [
        {"type": "period", "name": "period"},
        {"type": "products", "name": "products", "label": gettext_lazy("Products (empty: any)")},
        {"type": "categories", "name": "categories", "label": gettext_lazy("Categories (empty: any)")},
        {"type": "select", "name": "op", "options": options(BOUGHT_OPERATORS)},
        {"type": "number", "name": "min_count", "label": gettext_lazy("at least (orders)"), "min": 1},
        {"type": "number", "name": "min_amount", "label": gettext_lazy("at least (yen)"), "min": 1, "optional": True},
    ]
    defaults = {
        "op": "bought",
        "products": [],
        "categories": [],
        "period": {"kind": "last_days", "days": 30},
        "min_count": 1,
    }

    def check(self, config: PurchasedConfig, *, subject: Subject) -> PurchasedConfig:
        _check_products(config.products)
        _check_categories(config.categories)
        return config

    def compile(self, config: PurchasedConfig, ctx: RuleContext) -> Q:
        if not (config.products or config.categories):
            # "Bought anything": the orders themselves (an order without lines still counts), N yen of totals.
            orders = Order.objects.filter(config.period.q("placed_at", ctx)).exclude(status__in=NON_REVENUE_STATUSES)
            q = _at_least(
                orders,
                ctx,
                group=ctx.customer_field,
                count="id",
                min_count=config.min_count,
                amount="total",
                min_amount=config.min_amount,
            )
            return q if config.op == "bought" else ~q
        lines = OrderLine.objects.filter(config.period.q("order__placed_at", ctx)).exclude(
            order__status__in=NON_REVENUE_STATUSES
        )
        what = Q()
        if config.products:
            what |= Q(product_id__in=config.products)
        if config.categories:
            what |= Q(product__category_id__in=category_ids_with_descendants(config.categories))
        q = _at_least(
            lines.filter(what),
            ctx,
            group=f"order__{ctx.customer_field}",
            count="order_id",
            min_count=config.min_count,
            amount="amount",
            min_amount=config.min_amount,
        )
        return q if config.op == "bought" else ~q

    def describe(self, config: PurchasedConfig) -> str:
        parts = []
        if config.products:
            parts.append(_names(Product, config.products))
        if config.categories:
            parts.append(_("category %(names)s") % {"names": _names(Category, config.categories)})
        period = config.period.describe()
        if not parts:
            text = _("%(period)s placed an order") if config.op == "bought" else _("%(period)s placed no order")
            text = text % {"period": period}
        else:
            text = _("%(period)s bought %(what)s") if config.op == "bought" else _("%(period)s did not buy %(what)s")
            text = text % {"period": period, "what": _(" or ").join(parts)}
        if config.min_count > 1:
            text += _(" (at least %(n)s orders)") % {"n": config.min_count}
        if config.min_amount:
            text += _(" (at least %(amount)s yen)") % {"amount": f"{config.min_amount:,}"}
        return " ".join(text.split())


# --- Page views ----------------------------------------------------------------------------------------------------

VIEWED_OPERATORS = {"did": gettext_lazy("viewed"), "did_not": gettext_lazy("did not view")}
VIEW_TARGETS = {
    "any_product": gettext_lazy("any product"),
    "product": gettext_lazy("chosen products"),
    "new_product": gettext_lazy("new arrivals"),
    "category": gettext_lazy("chosen categories"),
    "url": gettext_lazy("pages whose URL contains"),
}
PAGE_TYPES = (EventType.PAGE_VIEWED, EventType.PRODUCT_VIEWED, EventType.CATEGORY_VIEWED)


def event_text(key: str) -> Any:
    """A property of the fact as text on both databases (SQLite's json_extract returns numbers as numbers); the
    same expression as the event indexes of the view conditions, so PostgreSQL uses them."""
    return property_text(key)


class ViewedConfig(ConditionConfig):
    op: str = "did"
    target: str = "any_product"
    products: list[int] = []
    categories: list[int] = []
    url: str = ""
    min_count: int = Field(default=1, ge=1, le=100000)
    period: Period = Period(kind=PeriodKind.LAST_DAYS, days=30)

    @model_validator(mode="after")
    def _valid(self) -> ViewedConfig:
        operator_check(self.op, DID_OPERATORS)
        operator_check(self.target, VIEW_TARGETS)
        if self.target == "product" and not self.products:
            raise ValueError(_("Choose at least one product."))
        if self.target == "category" and not self.categories:
            raise ValueError(_("Choose at least one category."))
        if self.target == "url" and not self.url.strip():
            raise ValueError(_("Enter part of the page address."))
        return self


@condition_types.register("viewed")
class ViewedCondition(ConditionType[ViewedConfig]):
    """Viewed products, new arrivals, categories or pages at least N times in a period (facts of the tag).

    Products are matched by the ``sku`` the tag sends; categories by ``category_id`` (category pages, and product
    pages that carry it).
    """

    label = gettext_lazy("Page views")
    section = gettext_lazy("Behaviour on the shop")
    config_model = ViewedConfig
    value_kind = ValueKind.PRODUCTS
    operators = DID_OPERATORS
    inputs = [
        {"type": "period", "name": "period"},
        {"type": "select", "name": "target", "options": options(VIEW_TARGETS)},
        {"type": "products", "name": "products", "show_if": {"target": "product"}},
        {"type": "categories", "name": "categories", "show_if": {"target": "category"}},
        {"type": "text", "name": "url", "label": gettext_lazy("part of the URL"), "show_if": {"target": "url"}},
        {"type": "number", "name": "min_count", "label": gettext_lazy("at least (times)"), "min": 1},
        {"type": "select", "name": "op", "options": options(VIEWED_OPERATORS)},
    ]
    defaults = {"op": "did", "target": "any_product", "min_count": 1, "period": {"kind": "last_days", "days": 7}}

    def check(self, config: ViewedConfig, *, subject: Subject) -> ViewedConfig:
        _check_products(config.products)
        _check_categories(config.categories)
        return config

    def compile(self, config: ViewedConfig, ctx: RuleContext) -> Q:
        events = Event.objects.filter(config.period.q("occurred_at", ctx))
        match config.target:
            case "any_product":
                events = events.filter(type=EventType.PRODUCT_VIEWED)
            case "product":
                skus = list(Product.objects.filter(pk__in=config.products).values_list("sku", flat=True))
                events = (
                    events.filter(type=EventType.PRODUCT_VIEWED).alias(_sku=event_text("sku")).filter(_sku__in=skus)
                )
            case "new_product":
                # The list, not a subquery: a hashed IN list keeps the plan independent of the catalog's statistics.
                new_skus = list(Product.objects.filter(is_new=True).values_list("sku", flat=True))
                events = (
                    events.filter(type=EventType.PRODUCT_VIEWED).alias(_sku=event_text("sku")).filter(_sku__in=new_skus)
                )
            case "category":
                ids = [str(c) for c in category_ids_with_descendants(config.categories)]
                events = (
                    events.filter(type__in=(EventType.CATEGORY_VIEWED, EventType.PRODUCT_VIEWED))
                    .alias(_category=event_text("category_id"))
                    .filter(_category__in=ids)
                )
            case _:
                events = (
                    events.filter(type__in=PAGE_TYPES).alias(_url=event_text("url")).filter(_url__icontains=config.url)
                )
        q = _at_least(events, ctx, group=ctx.customer_field, count="id", min_count=config.min_count)
        return q if config.op == "did" else ~q

    def describe(self, config: ViewedConfig) -> str:
        match config.target:
            case "product":
                what = _names(Product, config.products)
            case "category":
                what = _("category %(names)s") % {"names": _names(Category, config.categories)}
            case "url":
                what = _("pages whose URL contains “%(url)s”") % {"url": config.url}
            case _:
                what = str(VIEW_TARGETS[config.target])
        times = _("%(n)s times or more") % {"n": config.min_count} if config.min_count > 1 else ""
        text = (
            _("%(period)s viewed %(what)s %(times)s")
            if config.op == "did"
            else _("%(period)s did not view %(what)s %(times)s")
        )
        return " ".join((text % {"what": what, "times": times, "period": config.period.describe()}).split())


# --- Carts and favourites ------------------------------------------------------------------------------------------

HAS_OPERATORS = {"has": gettext_lazy("has"), "has_not": gettext_lazy("does not have")}


class CartIdleConfig(ConditionConfig):
    op: str = "has"
    minutes: int = Field(default=60, ge=1, le=525600)

    @model_validator(mode="after")
    def _valid(self) -> CartIdleConfig:
        operator_check(self.op, HAS_OPERATORS)
        return self


@condition_types.register("cart_idle")
class CartIdleCondition(ConditionType[CartIdleConfig]):
    """Items left in an active cart untouched for more than X minutes (カゴ落ち)."""

    label = gettext_lazy("Items left in the cart")
    section = gettext_lazy("Behaviour on the shop")
    config_model = CartIdleConfig
    value_kind = ValueKind.NUMBER
    operators = HAS_OPERATORS
    inputs = [
        {"type": "number", "name": "minutes", "label": gettext_lazy("untouched for more than (minutes)"), "min": 1},
        {"type": "select", "name": "op", "options": options(HAS_OPERATORS)},
    ]
    defaults = {"op": "has", "minutes": 60}

    def compile(self, config: CartIdleConfig, ctx: RuleContext) -> Q:
        idle_since = ctx.now - dt.timedelta(minutes=config.minutes)
        q = Q(
            Exists(
                CartLine.objects.filter(
                    cart__state=CartState.ACTIVE,
                    cart__last_activity_at__lt=idle_since,
                    **{f"cart__{ctx.customer_field}": OuterRef("pk")},
                )
            )
        )
        return q if config.op == "has" else ~q

    def describe(self, config: CartIdleConfig) -> str:
        if config.op == "has":
            return _("has items in the cart untouched for more than %(minutes)s minutes") % {"minutes": config.minutes}
        return _("has no items in the cart untouched for more than %(minutes)s minutes") % {"minutes": config.minutes}


class FavoriteConfig(ConditionConfig):
    op: str = "has"
    products: list[int] = []

    @model_validator(mode="after")
    def _valid(self) -> FavoriteConfig:
        operator_check(self.op, HAS_OPERATORS)
        return self


@condition_types.register("favorite")
class FavoriteCondition(ConditionType[FavoriteConfig]):
    label = gettext_lazy("Favourites")
    section = gettext_lazy("Behaviour on the shop")
    config_model = FavoriteConfig
    value_kind = ValueKind.PRODUCTS
    operators = HAS_OPERATORS
    inputs = [
        {"type": "products", "name": "products", "label": gettext_lazy("Products (empty: any)")},
        {"type": "select", "name": "op", "options": options(HAS_OPERATORS)},
    ]
    defaults = {"op": "has", "products": []}

    def check(self, config: FavoriteConfig, *, subject: Subject) -> FavoriteConfig:
        _check_products(config.products)
        return config

    def compile(self, config: FavoriteConfig, ctx: RuleContext) -> Q:
        favorites = Favorite.objects.filter(**{ctx.customer_field: OuterRef("pk")})
        if config.products:
            favorites = favorites.filter(product_id__in=config.products)
        q = Q(Exists(favorites))
        return q if config.op == "has" else ~q

    def describe(self, config: FavoriteConfig) -> str:
        what = _names(Product, config.products) if config.products else _("any product")
        if config.op == "has":
            return _("has %(what)s in favourites") % {"what": what}
        return _("does not have %(what)s in favourites") % {"what": what}
