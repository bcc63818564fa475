"""What customers did on the shop: carts (open, abandoned, ordered), favourites and 180 days of web behaviour.

The web events are sessions, not loose clicks: a buyer logs in, opens a category, looks at a few products (mostly
in the categories the company carries, often new arrivals), searches, adds to the cart and checks out. Sessions
end in the carts and web orders created before, so a cart's products were viewed and added to it by its owner.
A few large accounts keep viewing new arrivals across several buyers: the pattern the behaviour alerts look for.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import Any

from tokui.commerce.enums import CartState, OrderChannel, OrderStatus
from tokui.commerce.models import Cart, CartLine, Favorite
from tokui.demo.demo_orders import (
    SEASON_INTENSITY,
    ContactPlan,
    DemoClock,
    DemoWorld,
    Line,
    PlannedOrder,
    bounded_gauss,
    distinct_lines,
)
from tokui.demo.images import CategoryRef, ProductPicker, ProductPlan
from tokui.demo.names import DEMO_SOURCE, NEW_ARRIVALS_PATH, PAGES, SEARCH_QUERIES, SHOP_URL
from tokui.tracking.enums import EventType
from tokui.tracking.services import events_record_batch
from tokui.tracking.types import EventIn

WEB_EVENT_DAYS = 180
KNOWN_SESSION_SHARE = 0.78  # the special sessions (carts, orders, favourites) are all by known buyers
LONGEST_STEP_SECONDS = 150

# --- Carts ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PlannedCart:
    """A cart decided in memory; a converted one carries the order it became."""

    state: str
    last_activity_at: dt.datetime
    lines: list[Line]
    contact: ContactPlan | None = None
    anonymous_id: str = ""
    order: PlannedOrder | None = None
    external_id: str = ""
    cart_id: int = 0

    @property
    def abandoned_at(self) -> dt.datetime | None:
        return self.last_activity_at + dt.timedelta(hours=1) if self.state == CartState.ABANDONED.value else None


def _open_cart(
    rng: random.Random,
    state: str,
    at: dt.datetime,
    owners: Sequence[ContactPlan],
    cumulative: Sequence[float],
    picker: ProductPicker,
) -> PlannedCart | None:
    """A cart left open by a buyer active at ``at`` (or, sometimes, by an anonymous visitor)."""
    if rng.random() < 0.05:
        owner, anonymous_id = None, f"anon-{rng.getrandbits(64):016x}"
    else:
        owner = rng.choices(owners, cum_weights=cumulative)[0]
        if not owner.active_on(at.date()):
            return None
        anonymous_id = owner.anonymous_id
    tops = owner.tops if owner else ()
    b2b = owner is not None and owner.company is not None
    count = rng.choices((1, 2, 3, 4, 5), weights=(30, 30, 20, 12, 8))[0]
    lines = distinct_lines(
        rng,
        lambda: picker.pick(rng, at=at, tops=tops, live_only=True),
        count,
        lambda: rng.choice((3, 5, 6, 10, 12)) if b2b else rng.choice((1, 1, 1, 2)),
        owner.rate if owner else Decimal(1),
    )
    return PlannedCart(state, at, lines, owner, anonymous_id) if lines else None


def carts_plan(world: DemoWorld, orders: Sequence[PlannedOrder]) -> list[PlannedCart]:
    """~70% abandoned, ~20% converted into a web order placed minutes later, ~10% active in the last hours."""
    rng, clock, contacts = world.rng("carts"), world.clock, world.contacts
    total = world.scaled(1_200, minimum=10)
    converted_count, active_count = round(total * 0.2), round(total * 0.1)
    by_contact_id = {contact.contact_id: contact for contact in contacts}
    since = clock.ago(days=60, hours=-1)
    recent_web = [
        o
        for o in orders
        if o.channel == OrderChannel.WEB.value and o.placed_at >= since and o.status != OrderStatus.CANCELLED.value
    ]
    carts: list[PlannedCart] = []
    for order in rng.sample(recent_web, min(converted_count, len(recent_web))):
        at = order.placed_at - dt.timedelta(minutes=rng.randint(3, 45))
        carts.append(
            PlannedCart(
                CartState.CONVERTED.value,
                at,
                list(order.lines),
                by_contact_id[order.contact_id],
                by_contact_id[order.contact_id].anonymous_id,
                order,
            )
        )
    owners = [c for c in contacts if c.company is None or (c.company.approval == "approved" and not c.company.dormant)]
    cumulative = list(accumulate(c.weight for c in owners))
    wanted = [
        (CartState.ACTIVE.value, active_count),
        (CartState.CONVERTED.value, converted_count - len(carts)),
        (CartState.ABANDONED.value, total - converted_count - active_count),
    ]
    for state, count in wanted:
        made = 0
        while made < count:
            if state == CartState.ACTIVE.value:
                at = clock.ago(seconds=rng.uniform(5 * 60, 3 * 3600))
            else:
                at = clock.ago(seconds=rng.uniform(1.5 * 3600, 60 * 86_400))
            if (cart := _open_cart(rng, state, at, owners, cumulative, world.picker)) is not None:
                carts.append(cart)
                made += 1
    carts.sort(key=lambda cart: (cart.last_activity_at, cart.anonymous_id))
    for number, cart in enumerate(carts, start=1):
        cart.external_id = f"CART-{number:05d}"
    return carts


def carts_load(carts: Sequence[PlannedCart]) -> None:
    """Bulk insert: cart_upsert would mark every cart active again and query per cart."""
    rows = Cart.objects.bulk_create(
        [
            Cart(
                source=DEMO_SOURCE,
                external_id=c.external_id,
                contact_id=c.contact.contact_id if c.contact else None,
                company_id=c.contact.company_id if c.contact else None,
                anonymous_id=c.anonymous_id,
                state=c.state,
                last_activity_at=c.last_activity_at,
                abandoned_at=c.abandoned_at,
                converted_order_id=c.order.order_id if c.order else None,
                recovery_url=f"{SHOP_URL}/cart?restore={c.external_id}",
            )
            for c in carts
        ]
    )
    for cart, row in zip(carts, rows, strict=True):
        cart.cart_id = row.pk
    CartLine.objects.bulk_create(
        [
            CartLine(
                cart_id=cart.cart_id,
                product_id=product.product_id,
                quantity=quantity,
                unit_price=price,
                added_at=cart.last_activity_at - dt.timedelta(minutes=2 * (len(cart.lines) - index - 1)),
            )
            for cart in carts
            for index, (product, quantity, price) in enumerate(cart.lines)
        ],
        batch_size=2000,
    )


# --- Favourites -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedFavorite:
    """A favourite as stored, kept for the favorite_added facts of the last 180 days."""

    contact: ContactPlan
    product: ProductPlan
    added_at: dt.datetime


def favorites_load(world: DemoWorld) -> list[PlannedFavorite]:
    """Favourites added over the last year, in each buyer's categories; one per (contact, product)."""
    rng, clock, contacts = world.rng("favorites"), world.clock, world.contacts
    target = world.scaled(3_000, minimum=5)
    cumulative = list(accumulate(contact.weight for contact in contacts))
    seen: set[tuple[int, int]] = set()
    favorites: list[PlannedFavorite] = []
    for _attempt in range(target * 20):
        if len(favorites) == target:
            break
        contact = rng.choices(contacts, cum_weights=cumulative)[0]
        added_at = clock.ago(days=rng.uniform(0.02, 365))
        if not contact.active_on(added_at.date()):
            continue
        product = world.picker.pick(rng, at=added_at, tops=contact.tops, loyalty=0.9)
        if product is None or (contact.contact_id, product.product_id) in seen:
            continue
        seen.add((contact.contact_id, product.product_id))
        favorites.append(PlannedFavorite(contact, product, added_at))
    favorites.sort(key=lambda f: (f.added_at, f.contact.external_id, f.product.sku))
    Favorite.objects.bulk_create(
        [
            Favorite(
                source=DEMO_SOURCE,
                external_id=f"FAV-{number:05d}",
                contact_id=f.contact.contact_id,
                company_id=f.contact.company_id,
                product_id=f.product.product_id,
                added_at=f.added_at,
            )
            for number, f in enumerate(favorites, start=1)
        ],
        batch_size=2000,
    )
    return favorites


# --- Web events -----------------------------------------------------------------------------------------------


class _Timeline:
    """Collects the generated facts; they get their idempotency keys in time order when written."""

    def __init__(self, clock: DemoClock) -> None:
        self.clock = clock
        self.rows: list[tuple[dt.datetime, int, str, int | None, int | None, str, dict[str, Any]]] = []

    def add(
        self, at: dt.datetime, type: str, visitor: ContactPlan | None, anonymous_id: str, properties: dict[str, Any]
    ) -> bool:
        if at >= self.clock.horizon:
            return False
        contact_id = visitor.contact_id if visitor else None
        company_id = visitor.company_id if visitor else None
        self.rows.append((at, len(self.rows), type, contact_id, company_id, anonymous_id, properties))
        return True

    def write(self) -> int:
        self.rows.sort(key=lambda row: (row[0], row[1]))
        return events_record_batch(
            events=(
                EventIn(
                    type=type,
                    occurred_at=at,
                    contact_id=contact_id,
                    company_id=company_id,
                    anonymous_id=anonymous_id,
                    properties=properties,
                    source=DEMO_SOURCE,
                    idempotency_key=f"demo-ev-{number}",
                )
                for number, (at, _seq, type, contact_id, company_id, anonymous_id, properties) in enumerate(
                    self.rows, start=1
                )
            ),
            dispatch=False,
        )


class _Session:
    """One visit: events a few seconds to minutes apart, ending when the demo's "now" is reached."""

    def __init__(
        self,
        timeline: _Timeline,
        rng: random.Random,
        start: dt.datetime,
        visitor: ContactPlan | None,
        anonymous_id: str,
    ) -> None:
        self.timeline, self.rng, self.at = timeline, rng, start
        self.visitor, self.anonymous_id = visitor, anonymous_id
        self.alive = True

    def emit(self, type: str, properties: dict[str, Any], *, at: dt.datetime | None = None) -> bool:
        if at is None:
            self.at += dt.timedelta(seconds=round(self.rng.uniform(8, LONGEST_STEP_SECONDS)))
        else:
            self.at = at
        self.alive = self.alive and self.timeline.add(self.at, type, self.visitor, self.anonymous_id, properties)
        return self.alive

    def page(self, path: str, title: str) -> bool:
        return self.emit(EventType.PAGE_VIEWED, {"url": f"{SHOP_URL}{path}", "title": title})

    def product(self, product: ProductPlan | None, *, at: dt.datetime | None = None) -> bool:
        return product is None or self.emit(EventType.PRODUCT_VIEWED, product.event_properties(), at=at)

    def category(self, category: CategoryRef) -> bool:
        properties = {"category_id": category.category_id, "name": category.name, "url": category.url}
        return self.emit(EventType.CATEGORY_VIEWED, properties)

    def cart_add(
        self,
        product: ProductPlan,
        quantity: int,
        price: Decimal,
        *,
        at: dt.datetime | None = None,
        cart_id: int | None = None,
    ) -> bool:
        properties: dict[str, Any] = {**product.event_properties(), "quantity": quantity, "price": str(price)}
        if cart_id is not None:
            properties["cart_id"] = cart_id
        return self.emit(EventType.CART_ITEM_ADDED, properties, at=at)


class _Browsing:
    """The shared context of session generation: the catalog, the visitors and the random stream."""

    def __init__(self, world: DemoWorld, timeline: _Timeline) -> None:
        self.world, self.rng, self.timeline, self.picker = world, world.rng("events"), timeline, world.picker
        self.categories_by_top: dict[str, list[CategoryRef]] = defaultdict(list)
        for category in world.categories:
            self.categories_by_top[category.top_key].append(category)
        self.top_keys = sorted(self.categories_by_top)
        self.page_weights = [weight for _path, _title, weight in PAGES]

    def session(self, start: dt.datetime, visitor: ContactPlan | None, anonymous_id: str) -> _Session:
        return _Session(self.timeline, self.rng, start, visitor, anonymous_id)

    def category_for(self, tops: Sequence[str]) -> CategoryRef:
        rng = self.rng
        top = rng.choice(tops) if tops and rng.random() < 0.8 else rng.choice(self.top_keys)
        return rng.choice(self.categories_by_top[top])

    def browse(self, session: _Session, tops: Sequence[str], steps: int) -> None:
        """Wander: categories, products (a third of them new arrivals), a search now and then, other pages."""
        rng, picker = self.rng, self.picker
        for _step in range(steps):
            roll = rng.random()
            if roll < 0.22:
                session.category(self.category_for(tops))
            elif roll < 0.70:
                if rng.random() < 0.3:
                    session.product(picker.pick_recent(rng, at=session.at))
                else:
                    session.product(picker.pick(rng, at=session.at, tops=tops, live_only=True))
            elif roll < 0.78:
                query, leaf_key = rng.choice(SEARCH_QUERIES)
                session.emit(EventType.SEARCHED, {"query": query, "results": rng.randint(0, 60)})
                for _result in range(rng.randint(0, 2)):
                    if leaf_key == "new":
                        session.product(picker.pick_recent(rng, at=session.at))
                    elif leaf_key:
                        session.product(picker.pick_in_leaf(rng, leaf_key=leaf_key, at=session.at))
            else:
                path, title, _weight = rng.choices(PAGES, weights=self.page_weights)[0]
                session.page(path, title)
            if not session.alive:
                return

    def visit(self, start: dt.datetime, visitor: ContactPlan | None, anonymous_id: str, steps: int) -> None:
        """A whole ordinary visit: maybe a login, a landing page, then browsing."""
        rng = self.rng
        session = self.session(start, visitor, anonymous_id)
        if visitor is not None and rng.random() < 0.45:
            session.emit(EventType.LOGGED_IN, {"method": "password"})
        tops = visitor.tops if visitor else ()
        landing = rng.random()
        if landing < 0.45:
            path, title, _weight = PAGES[0]
            session.page(path, title)
        elif landing < 0.75:
            session.category(self.category_for(tops))
        else:
            session.product(self.picker.pick(rng, at=session.at, tops=tops, live_only=True))
        self.browse(session, tops, steps)


def _cart_sessions(browsing: _Browsing, carts: Sequence[PlannedCart]) -> None:
    """Each cart was filled in a visit ending at its last change; abandoned ones end with a cart_abandoned fact."""
    rng = browsing.rng
    for cart in carts:
        # Early enough that every step fits before the last change, whatever the step lengths drawn.
        start = cart.last_activity_at - dt.timedelta(seconds=LONGEST_STEP_SECONDS * (2 * len(cart.lines) + 1))
        session = browsing.session(start, cart.contact, cart.anonymous_id)
        session.page(*PAGES[0][:2])
        for index, (product, quantity, price) in enumerate(cart.lines):
            session.product(product)
            last = index == len(cart.lines) - 1
            session.cart_add(product, quantity, price, at=cart.last_activity_at if last else None, cart_id=cart.cart_id)
        total = sum((price * quantity for _p, quantity, price in cart.lines), Decimal(0))
        checkout = {"cart_id": cart.cart_id, "total": str(total), "items": len(cart.lines)}
        if cart.state == CartState.CONVERTED.value or (cart.state == CartState.ABANDONED.value and rng.random() < 0.35):
            session.emit(EventType.CHECKOUT_STARTED, checkout, at=cart.last_activity_at + dt.timedelta(seconds=40))
        if cart.abandoned_at is not None:
            idle = {"cart_id": cart.cart_id, "idle_since": cart.last_activity_at.isoformat()}
            browsing.timeline.add(cart.abandoned_at, EventType.CART_ABANDONED, cart.contact, cart.anonymous_id, idle)


def _order_sessions(
    browsing: _Browsing,
    orders: Sequence[PlannedOrder],
    contacts: dict[int, ContactPlan],
    since: dt.datetime,
    converted: set[int],
) -> None:
    """A web order not coming from a stored cart was still put together on the site just before it was placed."""
    rng = browsing.rng
    for order in orders:
        if order.channel != OrderChannel.WEB.value or order.placed_at < since or order.order_id in converted:
            continue
        buyer = contacts[order.contact_id]
        start = order.placed_at - dt.timedelta(seconds=LONGEST_STEP_SECONDS * (2 * len(order.lines) + 2))
        session = browsing.session(start, buyer, buyer.anonymous_id)
        session.emit(EventType.LOGGED_IN, {"method": "password"})
        for product, quantity, price in order.lines:
            if rng.random() < 0.7:
                session.product(product)
            session.cart_add(product, quantity, price)
        checkout = {"total": str(order.subtotal), "items": len(order.lines)}
        session.emit(EventType.CHECKOUT_STARTED, checkout, at=order.placed_at - dt.timedelta(seconds=30))


def _favorite_sessions(browsing: _Browsing, favorites: Sequence[PlannedFavorite], since: dt.datetime) -> None:
    for favorite in favorites:
        if favorite.added_at < since:
            continue
        session = browsing.session(
            favorite.added_at - dt.timedelta(seconds=45), favorite.contact, favorite.contact.anonymous_id
        )
        session.product(favorite.product, at=session.at)
        product = favorite.product
        properties = {"product_id": product.product_id, "sku": product.sku, "name": product.name}
        session.emit(EventType.FAVORITE_ADDED, properties, at=favorite.added_at)


def _sign_ups(browsing: _Browsing, since: dt.datetime) -> None:
    """New B2C members and new wholesale applicants sign up; applicants awaiting approval come back to look."""
    rng, clock = browsing.rng, browsing.world.clock
    for contact in browsing.world.contacts:
        company = contact.company
        if company is not None and contact.contact_id != company.primary_contact_id:
            continue
        at = clock.moment(contact.since, rng.uniform(9 * 60, 23 * 60))
        if at < since:
            continue
        form = "wholesale_application" if company else "member_registration"
        session = browsing.session(at, contact, contact.anonymous_id)
        if session.emit(EventType.SIGNED_UP, {"form": form}, at=at):
            browsing.browse(session, contact.tops, rng.randint(2, 6))
        if company is not None and company.approval == "pending":
            for _visit in range(2):
                later = at + dt.timedelta(days=rng.uniform(1, max(1.5, (clock.horizon - at).days)))
                browsing.visit(later, contact, contact.anonymous_id, rng.randint(3, 8))


def _new_arrival_watchers(browsing: _Browsing, by_company: dict[int, list[ContactPlan]]) -> None:
    """A few large accounts whose buyers keep opening the new-arrivals page this week (行動トリガーの見本)."""
    rng, world = browsing.rng, browsing.world
    candidates = [
        c
        for c in world.companies
        if c.size in {"large", "medium"}
        and c.rank == "A"
        and not c.dormant
        and c.approval == "approved"
        and len(by_company[c.company_id]) >= 2
    ]
    for company in rng.sample(candidates, min(len(candidates), world.scaled(5))):
        buyers = rng.sample(by_company[company.company_id], len(by_company[company.company_id]))
        for visit in range(rng.randint(4, 6)):
            buyer = buyers[visit % len(buyers)]  # across several buyers: the company-level roll-up is the point
            session = browsing.session(world.clock.ago(days=rng.uniform(0.05, 7)), buyer, buyer.anonymous_id)
            session.emit(EventType.LOGGED_IN, {"method": "password"})
            session.page(NEW_ARRIVALS_PATH, "新着商品一覧")
            for _view in range(rng.randint(2, 4)):
                session.product(browsing.picker.pick_recent(rng, at=session.at))


def web_events_load(
    world: DemoWorld, orders: Sequence[PlannedOrder], carts: Sequence[PlannedCart], favorites: Sequence[PlannedFavorite]
) -> int:
    """About 100,000 × scale facts of web behaviour over the last 180 days; returns the number written."""
    clock, contacts = world.clock, world.contacts
    timeline = _Timeline(clock)
    browsing = _Browsing(world, timeline)
    rng = browsing.rng
    since = clock.ago(days=WEB_EVENT_DAYS)
    by_contact_id = {contact.contact_id: contact for contact in contacts}
    by_company: dict[int, list[ContactPlan]] = defaultdict(list)
    for contact in contacts:
        if contact.company is not None:
            by_company[contact.company.company_id].append(contact)
    _cart_sessions(browsing, carts)
    converted = {cart.order.order_id for cart in carts if cart.order is not None}
    _order_sessions(browsing, orders, by_contact_id, since, converted)
    _favorite_sessions(browsing, favorites, since)
    _sign_ups(browsing, since)
    _new_arrival_watchers(browsing, by_company)

    days = [clock.today - dt.timedelta(days=offset) for offset in range(WEB_EVENT_DAYS)]
    day_weights = [
        SEASON_INTENSITY[d.month] * (1.0 if d.weekday() < 5 else 0.75) * (1.3 - 0.3 * i / WEB_EVENT_DAYS)
        for i, d in enumerate(days)
    ]
    day_cumulative = list(accumulate(day_weights))
    visitor_cumulative = list(accumulate(contact.weight for contact in contacts))
    anonymous_ids = [f"anon-{rng.getrandbits(64):016x}" for _ in range(world.scaled(5_000, minimum=30))]
    target = world.scaled(100_000)
    while len(timeline.rows) < target:
        day = rng.choices(days, cum_weights=day_cumulative)[0]
        visitor = _known_visitor(rng, contacts, visitor_cumulative, day) if rng.random() < KNOWN_SESSION_SHARE else None
        if visitor is not None and visitor.company is not None:
            minutes = bounded_gauss(rng, 14 * 60, 200, 7 * 60, 23 * 60 + 30)
        else:
            minutes = rng.uniform(19 * 60, 24 * 60 - 20) if rng.random() < 0.5 else rng.uniform(7 * 60, 19 * 60)
        anonymous_id = visitor.anonymous_id if visitor else rng.choice(anonymous_ids)
        steps = 1 + min(int(rng.expovariate(1 / 6)), 25)
        browsing.visit(clock.moment(day, minutes), visitor, anonymous_id, steps)
    return timeline.write()


def _known_visitor(
    rng: random.Random, contacts: Sequence[ContactPlan], cumulative: Sequence[float], day: dt.date
) -> ContactPlan | None:
    """A buyer likely to visit on ``day``; a dormant account's buyers still drop by, rarely."""
    for _attempt in range(30):
        contact = rng.choices(contacts, cum_weights=cumulative)[0]
        if contact.active_on(day) or (day >= contact.since and rng.random() < 0.1):
            return contact
    return None
