"""A small demo shop at /shop/ that carries the tracking tag, so a user can play a customer of the wholesaler.

The shop keeps its own state (cart, favourites, who is logged in) in the session, like a real cart system would in
its database; Tokui learns about the visit only through the tag, exactly as it would from a real shop. Events that
follow an action (added to cart, logged in, order complete) are written into the next page as tag commands in a
JSON element, which works under the strict Content-Security-Policy with no inline script.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tokui.catalog.models import Category, Product
from tokui.catalog.selectors import products_on_sale
from tokui.core.money import quantize
from tokui.customers.models import Contact
from tokui.demo.demo_tracking import demo_tracking_site_ensure

PRODUCTS_PER_PAGE = 24
LOGIN_CHOICES = 40
CART = "shop_cart"
FAVORITES = "shop_favorites"
CONTACT = "shop_contact_id"
PENDING = "shop_tag_commands"
LAST_ORDER = "shop_last_order"


@dataclass(frozen=True, slots=True)
class CartRow:
    product: Product
    quantity: int
    price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.price * self.quantity


def _contact(request: HttpRequest) -> Contact | None:
    contact_id = request.session.get(CONTACT)
    if not contact_id:
        return None
    return Contact.objects.select_related("company", "company__price_group").filter(pk=contact_id).first()


def _price(product: Product, contact: Contact | None) -> Decimal:
    """The price the visitor sees: a logged-in wholesale buyer gets the company's rate (掛け率)."""
    rate = contact.company.effective_rate if contact is not None and contact.company is not None else None
    return quantize(Decimal(product.price) * rate, product.currency) if rate else Decimal(product.price)


def _product_properties(product: Product, price: Decimal) -> dict[str, Any]:
    return {
        "product_id": product.external_id or product.sku,
        "sku": product.sku,
        "name": product.name,
        "price": int(price) if price == price.to_integral_value() else str(price),
        "currency": product.currency,
    }


def _later(request: HttpRequest, *command: Any) -> None:
    """A tag command for the next page the visitor sees (after the redirect that follows a form)."""
    request.session[PENDING] = [*request.session.get(PENDING, []), list(command)]


def _render(request: HttpRequest, template: str, context: dict[str, Any], *commands: list[Any]) -> HttpResponse:
    pending = request.session.pop(PENDING, [])
    contact = _contact(request)
    site = demo_tracking_site_ensure(origins=[f"{request.scheme}://{request.get_host()}"])
    cart: dict[str, int] = request.session.get(CART, {})
    return render(
        request,
        f"demo/shop/{template}",
        {
            **context,
            "tag_key": site.write_key,
            "tag_require_consent": site.require_consent,
            "tag_commands": [*pending, *commands],
            "shop_contact": contact,
            "cart_count": sum(cart.values()),
            "top_categories": Category.objects.filter(parent__isnull=True).order_by("sort_order", "name"),
        },
    )


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = fallback
    return HttpResponseRedirect(target or fallback)


def product_list(request: HttpRequest, category_slug: str | None = None) -> HttpResponse:
    products = products_on_sale().order_by("-is_new", "-launched_at", "sku")
    commands: list[list[Any]] = []
    category = None
    if category_slug is not None:
        category = Category.objects.filter(slug=category_slug).first()
        if category is None:
            raise Http404(_("No such category."))
        products = products.filter(Q(category=category) | Q(category__parent=category))
        commands.append(
            ["track", "category_viewed", {"category_id": category.external_id or category.slug, "name": category.name}]
        )
    query = request.GET.get("q", "").strip()[:100]
    if query:
        products = products.filter(Q(name__icontains=query) | Q(sku__icontains=query))
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    if query:
        commands.append(["track", "searched", {"query": query, "results": page.paginator.count}])
    contact = _contact(request)
    rows = [(product, _price(product, contact)) for product in page]
    context = {"page": page, "rows": rows, "category": category, "query": query}
    return _render(request, "products.html", context, *commands)


def product_detail(request: HttpRequest, sku: str) -> HttpResponse:
    product = products_on_sale().filter(sku=sku).first()
    if product is None:
        raise Http404(_("No such product."))
    contact = _contact(request)
    price = _price(product, contact)
    properties = _product_properties(product, price)
    if product.category is not None:
        properties["category"] = product.category.name
    context = {
        "product": product,
        "price": price,
        "is_favorite": product.sku in request.session.get(FAVORITES, []),
    }
    return _render(request, "product.html", context, ["track", "product_viewed", properties])


def _cart_rows(request: HttpRequest) -> list[CartRow]:
    cart: dict[str, int] = request.session.get(CART, {})
    contact = _contact(request)
    products = {product.sku: product for product in Product.objects.filter(sku__in=list(cart))}
    return [
        CartRow(product=products[sku], quantity=quantity, price=_price(products[sku], contact))
        for sku, quantity in cart.items()
        if sku in products
    ]


def _cart_items(rows: list[CartRow]) -> list[dict[str, Any]]:
    return [{**_product_properties(row.product, row.price), "quantity": row.quantity} for row in rows]


def cart(request: HttpRequest) -> HttpResponse:
    rows = _cart_rows(request)
    total = sum((row.amount for row in rows), Decimal(0))
    return _render(request, "cart.html", {"rows": rows, "total": total})


def _quantity(request: HttpRequest, default: int) -> int:
    try:
        return max(0, min(999, int(request.POST.get("quantity", default))))
    except ValueError:
        return default


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    product = products_on_sale().filter(sku=request.POST.get("sku", "")).first()
    if product is None:
        raise Http404(_("No such product."))
    quantity = _quantity(request, 1) or 1
    cart_state: dict[str, int] = request.session.get(CART, {})
    cart_state[product.sku] = cart_state.get(product.sku, 0) + quantity
    request.session[CART] = cart_state
    properties = {**_product_properties(product, _price(product, _contact(request))), "quantity": quantity}
    _later(request, "track", "cart_item_added", properties)
    return HttpResponseRedirect(reverse("demo:shop_cart"))


@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    sku = request.POST.get("sku", "")
    cart_state: dict[str, int] = request.session.get(CART, {})
    if sku in cart_state:
        quantity = _quantity(request, cart_state[sku])
        if quantity == 0:
            del cart_state[sku]
            request.session[CART] = cart_state
            _later(request, "track", "cart_item_removed", {"sku": sku, "product_id": sku})
        else:
            cart_state[sku] = quantity
            request.session[CART] = cart_state
            _later(request, "track", "cart_updated", {"items": _cart_items(_cart_rows(request))})
    return HttpResponseRedirect(reverse("demo:shop_cart"))


@require_POST
def favorite_toggle(request: HttpRequest) -> HttpResponse:
    product = products_on_sale().filter(sku=request.POST.get("sku", "")).first()
    if product is None:
        raise Http404(_("No such product."))
    favorites: list[str] = request.session.get(FAVORITES, [])
    properties = {"product_id": product.external_id or product.sku, "sku": product.sku, "name": product.name}
    if product.sku in favorites:
        favorites.remove(product.sku)
        _later(request, "track", "favorite_removed", properties)
    else:
        favorites.append(product.sku)
        _later(request, "track", "favorite_added", properties)
    request.session[FAVORITES] = favorites
    return _back(request, reverse("demo:shop_product", args=[product.sku]))


def login(request: HttpRequest) -> HttpResponse:
    """Log in as one of the demo's customers: pick a buyer by email. (A real shop checks a password.)"""
    error = ""
    if request.method == "POST":
        email = request.POST.get("email", "").strip()
        contact = (
            Contact.objects.filter(email=email, archived_at__isnull=True).order_by("id").first() if email else None
        )
        if contact is not None:
            request.session[CONTACT] = contact.pk
            _later(request, "identify", {"contact_external_id": contact.external_id or "", "email": contact.email})
            return _back(request, reverse("demo:shop_home"))
        error = _("No demo customer has this email. Pick one from the list.")
    choices = (
        Contact.objects.filter(archived_at__isnull=True, company__archived_at__isnull=True)
        .exclude(email="")
        .filter(Q(is_primary=True) | Q(company__isnull=True))
        .filter(orders__isnull=False)
        .select_related("company")
        .distinct()
        .order_by(F("company__name_kana").asc(nulls_last=True), "id")[:LOGIN_CHOICES]
    )
    return _render(request, "login.html", {"choices": choices, "error": error, "next": request.GET.get("next", "")})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    for key in (CONTACT, CART, FAVORITES):
        request.session.pop(key, None)
    _later(request, "reset")  # the next visitor on this browser starts with a new anonymous id
    return HttpResponseRedirect(reverse("demo:shop_home"))


def checkout(request: HttpRequest) -> HttpResponse:
    rows = _cart_rows(request)
    if not rows:
        return HttpResponseRedirect(reverse("demo:shop_cart"))
    total = sum((row.amount for row in rows), Decimal(0))
    if request.method == "POST":
        number = f"DEMO-{secrets.randbelow(10**8):08d}"
        request.session[LAST_ORDER] = {"number": number, "total": str(total)}
        request.session.pop(CART, None)
        properties = {"order_id": number, "total": int(total), "currency": "JPY", "items": _cart_items(rows)}
        _later(request, "track", "order_placed", properties)
        return HttpResponseRedirect(reverse("demo:shop_thanks"))
    started = ["track", "checkout_started", {"total": int(total), "currency": "JPY", "items": _cart_items(rows)}]
    return _render(request, "checkout.html", {"rows": rows, "total": total}, started)


def thanks(request: HttpRequest) -> HttpResponse:
    return _render(request, "thanks.html", {"order": request.session.get(LAST_ORDER)})
