"""The demo data of Tokui: an apparel wholesaler (アパレル卸) with two years of customers, orders and web behaviour.

``load_demo_data`` fills an empty database so that every screen, analysis and recipe has something true-looking to
show on first start: companies with buyers and sales reps, seasons in the orders, dormant and late accounts,
abandoned carts, favourites, new arrivals being viewed. It is deterministic: the same seed, day and scale give the
same rows (random.Random per phase, never the global one, no uuid4, sorted iteration), so screenshots, tests and
bug reports can rely on it. Writes go through the domain services, or bulk paths where speed needs them.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q

from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.accounts.services import user_create
from tokui.catalog.models import Category, Product
from tokui.commerce.enums import NON_REVENUE_STATUSES, CartState
from tokui.commerce.models import Cart, Favorite, Order, OrderLine
from tokui.core.errors import DomainError
from tokui.core.time import local_today
from tokui.customers.enums import ApprovalStatus, Channel, ConsentStatus, Industry
from tokui.customers.models import Agency, Company, Contact, PriceGroup, ShipToAddress, Tag
from tokui.customers.services import company_upsert, consent_record, contact_upsert, points_grant
from tokui.customers.types import CompanyIn, ContactIn
from tokui.demo import names
from tokui.demo.demo_behaviour import carts_load, carts_plan, favorites_load, web_events_load
from tokui.demo.demo_orders import (
    DORMANT_AFTER_DAYS,
    WINDOW_DAYS,
    CompanyPlan,
    ContactPlan,
    DemoClock,
    DemoWorld,
    lifecycles_assign,
    orders_load,
    orders_plan,
    weighted_sample,
)
from tokui.demo.images import ProductPicker, catalog_create
from tokui.demo.names import DEMO_SOURCE, TOP_KEYS, TOP_WEIGHTS
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event

PRICE_GROUPS = (("A掛け", "0.600"), ("B掛け", "0.650"), ("C掛け", "0.700"), ("一般", "0.750"))
OWN_RATES = ("0.550", "0.580", "0.620", "0.630", "0.680")
TAGS = (
    ("重点顧客", "danger"),
    ("展示会", "info"),
    ("新規開拓", "success"),
    ("EC専業", "primary"),
    ("百貨店", "warning"),
)
# Apparel shop 30, select shop 25, department store 4, general goods 10, online shop 15, uniform 5, wholesale 4, other 7
INDUSTRY_WEIGHTS = dict(zip(Industry.values, (30, 25, 4, 10, 15, 5, 4, 7), strict=True))
SIZES = ("micro", "small", "medium", "large")
CYCLE_MEDIAN_DAYS = {"micro": 20.0, "small": 13.0, "medium": 8.0, "large": 5.0}
RANK_WEIGHTS = {"micro": (5, 35, 60), "small": (10, 50, 40), "medium": (40, 50, 10), "large": (80, 20, 0)}
# (web, sales rep, FAX, phone) order channel habits: web-first, rep-managed, traditional (FAX), balanced. Shops
# without a rep and online shops are all web-first; the weights of the others bring the whole ledger near
# web 60% / rep 25% / FAX 10% / phone 5%.
CHANNEL_PROFILES = (
    (0.88, 0.07, 0.03, 0.02),
    (0.30, 0.56, 0.09, 0.05),
    (0.15, 0.25, 0.42, 0.18),
    (0.5, 0.3, 0.12, 0.08),
)
CHANNEL_PROFILE_WEIGHTS = (0.26, 0.42, 0.19, 0.13)
REP_WEIGHTS = (0.26, 0.22, 0.20, 0.18, 0.14)
CONSENT_SOURCES_B2B = (("会員登録フォーム", 5), ("展示会 名刺", 3), ("営業ヒアリング", 2))
CONSENT_SOURCES_B2C = (("会員登録フォーム", 8), ("購入時チェックボックス", 2))
PERSONAL_DOMAINS = ("example.jp", "example.com", "example.ne.jp", "example.net")
B2C_TOPS = ("tops", "onepiece", "goods", "bottoms")


@dataclass(frozen=True)
class DemoSummary:
    """What was loaded. ``events`` counts the web behaviour (not the order, consent and point facts)."""

    companies: int
    contacts: int
    b2c_contacts: int
    products: int
    categories: int
    orders: int
    order_lines: int
    carts: int
    abandoned_carts: int
    favorites: int
    events: int
    dormant_companies: int
    users: int


class DemoDataAlreadyLoadedError(DomainError):
    code = "demo_already_loaded"


def load_demo_data(
    *,
    seed: int = 20261125,
    today: dt.date | None = None,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Load the demo into an empty database (one transaction); refuses when demo data is already there."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    say = progress or (lambda _message: None)
    if Company.objects.filter(source=DEMO_SOURCE).exists() or Product.objects.filter(source=DEMO_SOURCE).exists():
        raise DemoDataAlreadyLoadedError(
            "The demo data is already loaded. Reset the database (tokui demo --reset) to load it again."
        )
    clock = DemoClock.for_day(today or local_today())
    started = time.perf_counter()
    with transaction.atomic():
        say("Creating staff users")
        with transaction.atomic():
            staff, users_created = _staff_create()
        say("Creating the catalog and drawing product images")
        with transaction.atomic():
            products, categories = catalog_create(seed=seed, clock=clock, scale=scale)
        say("Creating customer companies")
        with transaction.atomic():
            companies = _companies_create(seed, clock, scale, staff)
        say("Creating contacts and B2C customers")
        with transaction.atomic():
            contacts = _contacts_create(seed, clock, scale, companies)
        say("Recording consent and granting points")
        with transaction.atomic():
            _consents_record(seed, clock, contacts)
            _points_grant(seed, clock, scale, contacts, companies)
        world = DemoWorld(
            seed=seed,
            scale=scale,
            clock=clock,
            companies=[created.plan for created in companies],
            contacts=[plan for plan, _row in contacts],
            categories=categories,
            picker=ProductPicker(products),
        )
        say("Loading two years of orders")
        with transaction.atomic():
            orders = orders_plan(world)
            orders_load(world, orders)
        say("Creating carts and favourites")
        with transaction.atomic():
            carts = carts_plan(world, orders)
            carts_load(carts)
            favorites = favorites_load(world)
        say("Writing web behaviour events")
        with transaction.atomic():
            web_events_load(world, orders, carts, favorites)
        summary = _summary(clock, users=users_created)
    say(f"Demo data loaded in {time.perf_counter() - started:.1f} s")
    return summary


def _staff_create() -> tuple[list[User], int]:
    """The sales reps, a marketer and a viewer. Returns the reps and how many users were created.

    Password hashing is deliberately slow (~0.5 s each), so it is done once and the hash shared: these are demo
    accounts with a published password anyway.
    """
    reps: list[User] = []
    created = 0
    password_hash = ""
    for username, display_name, role in names.STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                password=None if password_hash else settings.DEMO_PASSWORD,
                role=Role(role),
                email=f"{username}@tokui-demo.example.jp",
                display_name=display_name,
            )
            if password_hash:
                User.objects.filter(pk=user.pk).update(password=password_hash)
            password_hash = password_hash or user.password
            created += 1
        if role == Role.SALES_REP.value:
            reps.append(user)
    return reps, created


# --- Companies ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CreatedCompany:
    plan: CompanyPlan
    row: Company
    domain: str
    prefecture: str


def _company_plan(rng: random.Random, number: int, clock: DemoClock, reps: Sequence[User]) -> CompanyPlan:
    industry = rng.choices(list(INDUSTRY_WEIGHTS), weights=list(INDUSTRY_WEIGHTS.values()))[0]
    size_weights = (0, 10, 50, 40) if industry == Industry.DEPARTMENT_STORE.value else (35, 40, 18, 7)
    size = rng.choices(SIZES, weights=size_weights)[0]
    existing = rng.random() < 0.55
    if existing:
        acquired_on = clock.window_start - dt.timedelta(days=rng.randint(30, 1500))
    else:
        acquired_on = clock.window_start + dt.timedelta(days=rng.randint(20, WINDOW_DAYS - 3))
    rep = rng.choices(reps, weights=REP_WEIGHTS[: len(reps)])[0] if reps and rng.random() < 0.9 else None
    profile = rng.choices(CHANNEL_PROFILES, weights=CHANNEL_PROFILE_WEIGHTS)[0]
    if rep is None or industry == Industry.ONLINE_SHOP.value:
        profile = CHANNEL_PROFILES[0]
    top_weights = {Industry.UNIFORM.value: (4, 3, 3, 0, 0), Industry.GENERAL_STORE.value: (2, 1, 0, 2, 4)}
    tops = weighted_sample(rng, TOP_KEYS, top_weights.get(industry, TOP_WEIGHTS), rng.choice((2, 2, 3)))
    cycle = min(max(CYCLE_MEDIAN_DAYS[size] * rng.lognormvariate(0, 0.35), 3.0), 60.0)
    rank = rng.choices(("A", "B", "C"), weights=RANK_WEIGHTS[size])[0]
    return CompanyPlan(
        external_id=f"C{number:04d}",
        industry=industry,
        size=size,
        rank=rank,
        approval=ApprovalStatus.APPROVED.value,
        acquired_on=acquired_on,
        cycle_days=cycle,
        channel_weights=profile,
        tops=tops,
        rep_id=rep.pk if rep else None,
    )


def _companies_create(seed: int, clock: DemoClock, scale: float, reps: Sequence[User]) -> list[_CreatedCompany]:
    rng = random.Random(f"{seed}/companies")
    groups = {
        name: PriceGroup.objects.get_or_create(name=name, defaults={"rate": Decimal(rate)})[0]
        for name, rate in PRICE_GROUPS
    }
    agencies = [
        (
            Agency.objects.get_or_create(source=DEMO_SOURCE, external_id=code, defaults={"name": name, "code": code})[
                0
            ],
            region.split(),
        )
        for code, name, region in names.AGENCIES
    ]
    tags = {name: Tag.objects.get_or_create(name=name, defaults={"color": color})[0] for name, color in TAGS}
    plans = [_company_plan(rng, number, clock, reps) for number in range(1, max(6, round(300 * scale)) + 1)]
    lifecycles_assign(rng, plans, clock)
    taken_names: set[str] = set()
    taken_domains: set[str] = set()
    created: list[_CreatedCompany] = []
    tag_links: list[tuple[int, int]] = []
    ship_tos: list[ShipToAddress] = []
    for plan in plans:
        shop = names.shop_name(rng, plan.industry)
        while shop.name in taken_names:
            shop = names.shop_name(rng, plan.industry)
        taken_names.add(shop.name)
        domain = f"{shop.slug}.example.jp"
        for suffix in range(2, 100):
            if domain not in taken_domains:
                break
            domain = f"{shop.slug}{suffix}.example.jp"
        taken_domains.add(domain)
        place = names.address(rng, names.prefecture_pick(rng))
        group = None
        if plan.approval != ApprovalStatus.PENDING.value:
            group = groups[{"A": "A掛け", "B": "B掛け", "C": "C掛け"}[plan.rank]]
            if plan.acquired_on > clock.today - dt.timedelta(days=120) and rng.random() < 0.5:
                group = groups["一般"]
        own_rate = Decimal(rng.choice(OWN_RATES)) if group and rng.random() < 0.08 else None
        plan.rate = own_rate or (group.rate if group else Decimal(1))
        agency = None
        if rng.random() < 0.15:
            agency = next((a for a, region in agencies if place.prefecture in region), agencies[0][0])
        data = CompanyIn(
            name=shop.name,
            name_kana=shop.kana,
            code=plan.external_id,
            industry=plan.industry,
            size=plan.size,
            prefecture=place.prefecture,
            postal_code=place.postal_code,
            address=place.text,
            phone=names.landline(rng, place.area_code),
            fax=names.landline(rng, place.area_code) if rng.random() < 0.6 else "",
            rank=plan.rank,
            approval_status=plan.approval,
            price_rate=own_rate,
            assigned_rep_id=plan.rep_id,
            price_group_id=group.pk if group else None,
            agency_id=agency.pk if agency else None,
        )
        row = company_upsert(source=DEMO_SOURCE, external_id=plan.external_id, data=data).instance
        plan.company_id = row.pk
        created.append(_CreatedCompany(plan, row, domain, place.prefecture))
        for tag_name in _tag_names(rng, plan, clock):
            tag_links.append((row.pk, tags[tag_name].pk))
        if plan.size in {"medium", "large"} and plan.industry not in {"online_shop", "wholesale", "uniform"}:
            for index in range(rng.randint(1, 3)):
                branch = names.address(rng, names.prefecture_pick(rng) if index else place.prefecture)
                label = "本店" if index == 0 else f"{branch.area}店"
                ship_tos.append(
                    ShipToAddress(
                        company=row,
                        label=label,
                        recipient=f"{shop.name} {label}",
                        postal_code=branch.postal_code,
                        prefecture=branch.prefecture,
                        address=branch.text,
                        phone=names.landline(rng, branch.area_code),
                        is_default=index == 0,
                    )
                )
    Company.tags.through.objects.bulk_create(
        [Company.tags.through(company_id=company_id, tag_id=tag_id) for company_id, tag_id in tag_links]
    )
    ShipToAddress.objects.bulk_create(ship_tos)
    return created


def _tag_names(rng: random.Random, plan: CompanyPlan, clock: DemoClock) -> list[str]:
    tags = []
    if plan.rank == "A" and plan.size in {"medium", "large"} and rng.random() < 0.7:
        tags.append("重点顧客")
    if plan.industry == Industry.ONLINE_SHOP.value:
        tags.append("EC専業")
    if plan.industry == Industry.DEPARTMENT_STORE.value:
        tags.append("百貨店")
    if plan.acquired_on >= clock.today - dt.timedelta(days=180):
        tags.append("新規開拓")
    if rng.random() < 0.2:
        tags.append("展示会")
    return tags


# --- Contacts, consent and points -----------------------------------------------------------------------------


def _birthday(rng: random.Random, clock: DemoClock) -> dt.date:
    return dt.date(clock.today.year - rng.randint(22, 62), 1, 1) + dt.timedelta(days=rng.randint(0, 364))


def _contacts_create(
    seed: int, clock: DemoClock, scale: float, companies: Sequence[_CreatedCompany]
) -> list[tuple[ContactPlan, Contact]]:
    """2-4 buyers per company (the first is the primary contact) and ~150 B2C members without a company."""
    rng = random.Random(f"{seed}/contacts")
    contacts: list[tuple[ContactPlan, Contact]] = []
    for created in companies:
        plan, taken = created.plan, set()
        size_factor = {"large": 3.0, "medium": 2.0, "small": 1.3, "micro": 1.0}[plan.size]
        for index in range(1, rng.choices((2, 3, 4), weights=(30, 45, 25))[0] + 1):
            person = names.person_name(rng)
            local = f"{person.family_romaji}.{person.given_romaji}"
            while local in taken:
                local = f"{person.family_romaji}.{person.given_romaji}{rng.randint(2, 9)}"
            taken.add(local)
            department, title = rng.choice(names.PRIMARY_ROLES if index == 1 else names.OTHER_ROLES)
            data = ContactIn(
                name=person.name,
                company_id=plan.company_id,
                name_kana=person.kana,
                email=f"{local}@{created.domain}",
                phone=names.mobile(rng),
                department=department,
                title=title,
                birthday=_birthday(rng, clock) if rng.random() < 0.3 else None,
                prefecture=created.prefecture,
                line_user_id=f"U{rng.getrandbits(128):032x}" if rng.random() < 0.08 else None,
                is_primary=index == 1,
            )
            row = contact_upsert(source=DEMO_SOURCE, external_id=f"{plan.external_id}-{index}", data=data).instance
            since = plan.acquired_on
            if index > 1 and plan.approval != ApprovalStatus.PENDING.value:
                since = min(plan.acquired_on + dt.timedelta(days=rng.randint(0, 300)), clock.today)
            weight = size_factor * (0.3 + plan.channel_weights[0])
            weight *= 0.4 if plan.approval == ApprovalStatus.PENDING.value else 1.0
            contact = ContactPlan(
                row.external_id or "",
                plan,
                since,
                plan.tops,
                f"anon-{rng.getrandbits(64):016x}",
                weight,
                contact_id=row.pk,
            )
            plan.contact_ids.append(row.pk)
            plan.primary_contact_id = plan.primary_contact_id or row.pk
            contacts.append((contact, row))
    taken_emails: set[str] = set()
    for number in range(1, max(5, round(150 * scale)) + 1):
        person = names.person_name(rng, female_share=0.75)
        email = f"{person.given_romaji}.{person.family_romaji}{rng.randint(1, 99)}@{rng.choice(PERSONAL_DOMAINS)}"
        while email in taken_emails:
            email = f"{person.given_romaji}{rng.randint(100, 999)}@{rng.choice(PERSONAL_DOMAINS)}"
        taken_emails.add(email)
        prefecture = names.prefecture_pick(rng)
        data = ContactIn(
            name=person.name,
            name_kana=person.kana,
            email=email,
            phone=names.mobile(rng),
            birthday=_birthday(rng, clock) if rng.random() < 0.9 else None,
            prefecture=prefecture,
            line_user_id=f"U{rng.getrandbits(128):032x}" if rng.random() < 0.25 else None,
        )
        row = contact_upsert(source=DEMO_SOURCE, external_id=f"B{number:04d}", data=data).instance
        if rng.random() < 0.2:
            since = clock.window_start - dt.timedelta(days=rng.randint(10, 400))
        else:
            since = clock.window_start + dt.timedelta(days=rng.randint(0, WINDOW_DAYS - 1))
        tops = weighted_sample(rng, B2C_TOPS, (4, 3, 3, 2), 2)
        contact = ContactPlan(
            row.external_id or "",
            None,
            since,
            tops,
            f"anon-{rng.getrandbits(64):016x}",
            0.8,
            cycle_days=60 * rng.lognormvariate(0, 0.4),
            churn=_b2c_churn(rng),
            contact_id=row.pk,
        )
        contacts.append((contact, row))
    return contacts


def _b2c_churn(rng: random.Random) -> float:
    """A third of B2C members buy once or twice and are gone; the rest keep coming back for a long time."""
    return rng.uniform(0.5, 0.8) if rng.random() < 0.3 else rng.uniform(0.01, 0.08)


def _consents_record(seed: int, clock: DemoClock, contacts: Sequence[tuple[ContactPlan, Contact]]) -> None:
    """Mail consent for ~85% (where it was given, when), a few later withdrawn; LINE for linked friends."""
    rng = random.Random(f"{seed}/consent")
    for plan, row in contacts:
        b2b = plan.company is not None
        day = min(plan.since + dt.timedelta(days=rng.randint(0, 14)), clock.today)
        at = clock.moment(day, rng.uniform(9 * 60, 21 * 60))
        if rng.random() < (0.85 if b2b else 0.9):
            sources = CONSENT_SOURCES_B2B if b2b else CONSENT_SOURCES_B2C
            source = rng.choices([s for s, _w in sources], weights=[w for _s, w in sources])[0]
            consent_record(
                contact=row, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source=source, recorded_at=at
            )
            if rng.random() < 0.04:
                later = at + (clock.horizon - at) * rng.uniform(0.2, 0.9)
                consent_record(
                    contact=row,
                    channel=Channel.EMAIL,
                    status=ConsentStatus.WITHDRAWN,
                    source="配信停止リンク",
                    recorded_at=later.replace(microsecond=0),
                )
        if row.line_user_id:
            consent_record(
                contact=row, channel=Channel.LINE, status=ConsentStatus.GRANTED, source="LINE友だち追加", recorded_at=at
            )


def _points_grant(
    seed: int,
    clock: DemoClock,
    scale: float,
    contacts: Sequence[tuple[ContactPlan, Contact]],
    companies: Sequence[_CreatedCompany],
) -> None:
    """Point lots valid for a year, granted over the last year: some expire within the next 30 days."""
    rng = random.Random(f"{seed}/points")
    number = 0

    def grant(
        points: int, reason: str, since: dt.date, contact: Contact | None = None, company: Company | None = None
    ) -> None:
        nonlocal number
        number += 1
        days_ago = rng.uniform(336, 362) if rng.random() < 0.2 else rng.uniform(1, 360)
        granted_at = max(clock.ago(days=days_ago), clock.moment(since, 10 * 60))
        points_grant(
            points=points,
            expires_at=granted_at + dt.timedelta(days=365),
            reason=reason,
            granted_at=granted_at,
            source=DEMO_SOURCE,
            external_id=f"PL-{number:05d}",
            contact=contact,
            company=company,
        )

    for plan, row in contacts:
        if plan.company is None and rng.random() < 0.8:
            for _lot in range(rng.randint(1, 3)):
                reason = rng.choice(("購入ポイント", "誕生日ポイント", "新規会員登録ポイント", "レビュー投稿ポイント"))
                grant(rng.choice((100, 200, 300, 500, 1000, 1500)), reason, plan.since, contact=row)
    steady = [c for c in companies if c.plan.approval == ApprovalStatus.APPROVED.value and not c.plan.dormant]
    for created in rng.sample(steady, min(len(steady), max(1, round(30 * scale)))):
        for _lot in range(rng.randint(1, 2)):
            reason = rng.choice(("年間取引ポイント", "展示会来場ポイント", "早期発注キャンペーン"))
            grant(rng.choice((1000, 2000, 3000, 5000, 10000)), reason, created.plan.acquired_on, company=created.row)


def _summary(clock: DemoClock, *, users: int) -> DemoSummary:
    companies = Company.objects.filter(source=DEMO_SOURCE)
    revenue = ~Q(orders__status__in=NON_REVENUE_STATUSES)
    last_orders = companies.annotate(last_order_at=Max("orders__placed_at", filter=revenue))
    dormant_before = clock.horizon - dt.timedelta(days=DORMANT_AFTER_DAYS)
    contacts = Contact.objects.filter(source=DEMO_SOURCE)
    carts = Cart.objects.filter(source=DEMO_SOURCE)
    order_facts = (EventType.ORDER_PLACED, EventType.ORDER_CANCELLED)
    return DemoSummary(
        companies=companies.count(),
        contacts=contacts.filter(company__isnull=False).count(),
        b2c_contacts=contacts.filter(company__isnull=True).count(),
        products=Product.objects.filter(source=DEMO_SOURCE).count(),
        categories=Category.objects.filter(source=DEMO_SOURCE).count(),
        orders=Order.objects.filter(source=DEMO_SOURCE).count(),
        order_lines=OrderLine.objects.filter(order__source=DEMO_SOURCE).count(),
        carts=carts.count(),
        abandoned_carts=carts.filter(state=CartState.ABANDONED).count(),
        favorites=Favorite.objects.filter(source=DEMO_SOURCE).count(),
        events=Event.objects.filter(source=DEMO_SOURCE).exclude(type__in=order_facts).count(),
        dormant_companies=last_orders.filter(last_order_at__lt=dormant_before).count(),
        users=users,
    )
