"""Two years of demo orders with the rhythms of apparel wholesale, and the plans every later phase shares.

Each company reorders on its own cycle, faster in the buying seasons (SS in February-March, AW in August-September),
from the 2-3 top categories it carries, and only products already launched on the order date. Some companies
stop ordering (休眠), some are late on their usual interval (発注遅延予備軍): the analyses and recipes of Tokui
need both to show something. The plans of companies and contacts are made by ``generator`` and defined here, with
the clock that keeps every time before "now".
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from tokui.commerce.enums import OrderChannel, OrderStatus
from tokui.commerce.models import Order
from tokui.commerce.services import orders_load_new
from tokui.commerce.types import OrderIn, OrderLineIn
from tokui.core.money import quantize
from tokui.core.time import local_now, site_zone
from tokui.customers.enums import ApprovalStatus
from tokui.demo.images import CategoryRef, ProductPicker, ProductPlan
from tokui.demo.names import DEMO_SOURCE
from tokui.tracking.enums import EventType
from tokui.tracking.services import events_record_batch
from tokui.tracking.types import EventIn

WINDOW_DAYS = 730
DORMANT_AFTER_DAYS = 120
ORDER_BATCH = 1000

# How much more (or less) shops buy in each month, January to December: the SS and AW buying seasons stand out.
SEASON_INTENSITY = dict(enumerate((0.8, 1.55, 1.45, 1.0, 0.9, 0.8, 0.95, 1.45, 1.55, 1.05, 1.0, 0.9), start=1))
CHANNELS = (OrderChannel.WEB.value, OrderChannel.SALES_REP.value, OrderChannel.FAX.value, OrderChannel.PHONE.value)
WHOLESALE_QUANTITIES = (3, 4, 5, 6, 8, 10, 12, 15, 18, 20, 24)
WHOLESALE_QUANTITY_WEIGHTS = (14, 10, 12, 16, 10, 12, 10, 5, 4, 4, 3)
TAX_RATE = Decimal("0.10")
Line = tuple["ProductPlan", int, Decimal]


@dataclass(frozen=True, slots=True)
class DemoClock:
    """The demo's idea of "now": everything is placed relative to ``today`` and strictly before ``horizon``.

    ``horizon`` is the end of ``today``, or the real current time when ``today`` is the current day, so that no
    order or visit is in the future. Times generated for later today are squeezed into the part of the day that
    has passed, which keeps every random draw (and so every other row) the same whatever the time of loading.
    """

    today: dt.date
    horizon: dt.datetime
    zone: ZoneInfo

    @classmethod
    def for_day(cls, today: dt.date) -> DemoClock:
        zone = site_zone()
        real_now = local_now()
        end_of_today = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        horizon = real_now if today == real_now.date() else end_of_today - dt.timedelta(seconds=1)
        return cls(today=today, horizon=horizon, zone=zone)

    @property
    def window_start(self) -> dt.date:
        return self.today - dt.timedelta(days=WINDOW_DAYS)

    def moment(self, day: dt.date, minutes: float) -> dt.datetime:
        """``minutes`` after midnight of ``day`` in the site zone, never at or after the horizon."""
        value = dt.datetime.combine(day, dt.time.min, tzinfo=self.zone) + dt.timedelta(minutes=minutes)
        return self.squeeze(value)

    def squeeze(self, value: dt.datetime) -> dt.datetime:
        if value < self.horizon:
            return value.replace(microsecond=0)
        day_start = dt.datetime.combine(self.horizon.date(), dt.time.min, tzinfo=self.zone)
        if day_start <= value < day_start + dt.timedelta(days=1):
            passed = (self.horizon - day_start) * ((value - day_start) / dt.timedelta(days=1))
            return (day_start + passed).replace(microsecond=0)
        return (self.horizon - dt.timedelta(seconds=1)).replace(microsecond=0)

    def ago(self, **delta: float) -> dt.datetime:
        return (self.horizon - dt.timedelta(**delta)).replace(microsecond=0)


@dataclass(slots=True)
class CompanyPlan:
    """What the generator decided about a company: who it is, how it buys, when it started and stopped."""

    external_id: str
    industry: str
    size: str
    rank: str
    approval: str
    acquired_on: dt.date
    cycle_days: float
    channel_weights: tuple[float, float, float, float]
    tops: tuple[str, ...]
    rate: Decimal = Decimal(1)
    rep_id: int | None = None
    stops_on: dt.date | None = None
    dormant: bool = False
    slip: float = 0.0  # > 0: late on its usual interval by this many cycles
    company_id: int = 0
    contact_ids: list[int] = field(default_factory=list)
    primary_contact_id: int = 0

    @property
    def may_order(self) -> bool:
        return self.approval in {ApprovalStatus.APPROVED.value, ApprovalStatus.SUSPENDED.value}


@dataclass(slots=True)
class ContactPlan:
    """A buyer of a company or a B2C member: since when, what they like, how often they visit (``weight``)."""

    external_id: str
    company: CompanyPlan | None
    since: dt.date
    tops: tuple[str, ...]
    anonymous_id: str
    weight: float
    cycle_days: float = 60.0  # B2C only
    churn: float = 0.25  # B2C only: chance of not coming back after an order
    contact_id: int = 0

    @property
    def company_id(self) -> int | None:
        return self.company.company_id if self.company else None

    @property
    def rate(self) -> Decimal:
        return self.company.rate if self.company else Decimal(1)

    def active_on(self, day: dt.date) -> bool:
        """Whether the person plausibly still deals with the shop on ``day`` (dormant accounts rarely do)."""
        if day < self.since:
            return False
        company = self.company
        return company is None or company.stops_on is None or day <= company.stops_on


@dataclass(frozen=True, slots=True)
class DemoWorld:
    """What the later phases build on: the clock, the customers, the catalog, and the seeded random streams."""

    seed: int
    scale: float
    clock: DemoClock
    companies: Sequence[CompanyPlan]
    contacts: Sequence[ContactPlan]  # B2B buyers and B2C members
    categories: Sequence[CategoryRef]
    picker: ProductPicker

    def rng(self, stream: str) -> random.Random:
        """A random stream of its own per phase (or customer): changing one phase leaves the others' data alone."""
        return random.Random(f"{self.seed}/{stream}")

    def scaled(self, count: int, *, minimum: int = 1) -> int:
        return max(minimum, round(count * self.scale))


@dataclass(slots=True)
class PlannedOrder:
    """An order decided in memory; it is numbered once all are sorted by time, and gets its id when loaded."""

    placed_at: dt.datetime
    sort_key: str
    company: CompanyPlan | None
    contact_id: int
    channel: str
    lines: list[Line]
    status: str = OrderStatus.DELIVERED.value
    shipped_at: dt.datetime | None = None
    sales_rep_id: int | None = None
    note: str = ""
    number: str = ""
    order_id: int = 0

    @property
    def subtotal(self) -> Decimal:
        return sum((price * quantity for _product, quantity, price in self.lines), Decimal(0))


def weighted_sample(rng: random.Random, keys: Sequence[str], weights: Sequence[float], count: int) -> tuple[str, ...]:
    """``count`` different keys drawn by weight (random.choices may repeat, random.sample has no weights)."""
    chosen: list[str] = []
    while len(chosen) < count:
        key = rng.choices(keys, weights=weights)[0]
        if key not in chosen:
            chosen.append(key)
    return tuple(chosen)


def lifecycles_assign(rng: random.Random, plans: Sequence[CompanyPlan], clock: DemoClock) -> None:
    """Make ~3% new applicants awaiting approval, ~25% dormant (2% suspended) and ~8% late on their cycle."""
    newcomers = [p for p in plans if p.acquired_on >= clock.window_start]
    for plan in rng.sample(newcomers, min(len(newcomers), max(1, round(0.03 * len(plans))))):
        plan.approval = ApprovalStatus.PENDING.value
        plan.acquired_on = clock.today - dt.timedelta(days=rng.randint(2, 40))
    veterans = [p for p in plans if p.may_order and p.acquired_on <= clock.today - dt.timedelta(days=300)]
    dormant = rng.sample(veterans, min(len(veterans), round(0.25 * len(plans))))
    for index, plan in enumerate(dormant):
        plan.dormant = True
        lower = max(plan.acquired_on, clock.window_start) + dt.timedelta(days=150)
        upper = clock.today - dt.timedelta(days=DORMANT_AFTER_DAYS + 5)
        plan.stops_on = lower + dt.timedelta(days=rng.randint(0, max(0, (upper - lower).days)))
        if index < round(0.02 * len(plans)):
            plan.approval = ApprovalStatus.SUSPENDED.value
    steady = [
        p for p in plans if p.may_order and not p.dormant and p.acquired_on <= clock.today - dt.timedelta(days=120)
    ]
    for plan in rng.sample(steady, min(len(steady), round(0.08 * len(plans)))):
        plan.slip = rng.uniform(1.8, 3.2)


def _calibrated_factor(target: int, count_at: Callable[[float], int]) -> float:
    """The factor on every reorder cycle that yields about ``target`` orders (fewer orders as cycles lengthen)."""
    low, high = 0.05, 40.0
    for _step in range(24):
        middle = math.sqrt(low * high)
        if count_at(middle) > target:
            low = middle
        else:
            high = middle
    return math.sqrt(low * high)


def company_order_days(company: CompanyPlan, world: DemoWorld, factor: float) -> list[dt.date]:
    """The days a company orders on: its cycle with jitter, shortened in the buying seasons, until it stops."""
    if not company.may_order:
        return []
    rng, clock = world.rng(f"order-days/{company.external_id}"), world.clock
    cycle = company.cycle_days * factor
    end = company.stops_on or clock.today
    if company.slip:
        end = min(end, clock.today - dt.timedelta(days=min(100.0, cycle * company.slip)))
    begin = max(company.acquired_on, clock.window_start)
    offset = rng.uniform(0, cycle) if company.acquired_on < clock.window_start else rng.uniform(0, min(cycle, 10))
    days: list[dt.date] = []
    while (day := begin + dt.timedelta(days=int(offset))) <= end:
        days.append(day)
        gap = cycle * rng.lognormvariate(0, 0.3) / SEASON_INTENSITY[day.month]
        offset += min(max(gap, 1.0), 90.0)
    return days


def _b2c_order_days(contact: ContactPlan, world: DemoWorld, factor: float) -> list[dt.date]:
    """A B2C member buys now and then until, after some order, they do not come back (``churn``)."""
    rng, clock = world.rng(f"b2c-days/{contact.external_id}"), world.clock
    begin = max(contact.since, clock.window_start)
    offset = rng.uniform(0, 20)
    days: list[dt.date] = []
    while (day := begin + dt.timedelta(days=int(offset))) <= clock.today:
        days.append(day)
        if rng.random() < contact.churn:
            break
        offset += max(contact.cycle_days * factor * rng.lognormvariate(0, 0.5) / SEASON_INTENSITY[day.month], 2.0)
    return days


def _offline_weekday(day: dt.date, today: dt.date) -> dt.date:
    """FAX, phone and rep orders come in on weekdays: a weekend day moves to Monday (or back to Friday)."""
    if day.weekday() < 5:
        return day
    monday = day + dt.timedelta(days=7 - day.weekday())
    return monday if monday <= today else day - dt.timedelta(days=day.weekday() - 4)


def bounded_gauss(rng: random.Random, mean: float, deviation: float, low: float, high: float) -> float:
    """A normal draw kept within [low, high] by drawing again (clamping would pile values up at the bounds)."""
    for _attempt in range(12):
        value = rng.gauss(mean, deviation)
        if low <= value <= high:
            return value
    return rng.uniform(low, high)


def _order_minutes(rng: random.Random, channel: str) -> float:
    """Offline orders come in business hours (busiest late morning and early afternoon); web orders also at night."""
    if channel != OrderChannel.WEB.value or rng.random() < 0.75:
        return bounded_gauss(rng, 13 * 60, 150, 9 * 60, 18 * 60 + 30)
    return rng.uniform(19 * 60, 24 * 60 - 1)


def _order_status(rng: random.Random, order: PlannedOrder, clock: DemoClock) -> None:
    """Older orders are delivered (shipped 1-3 days later), last week's confirmed or shipped, ~2% cancelled."""
    age = clock.horizon - order.placed_at
    if rng.random() < 0.02 and age > dt.timedelta(days=2):
        order.status = OrderStatus.CANCELLED.value
        return
    shipped_at = (order.placed_at + dt.timedelta(days=rng.randint(1, 3))).replace(hour=rng.randint(13, 18))
    if age > dt.timedelta(days=7):
        order.status, order.shipped_at = OrderStatus.DELIVERED.value, shipped_at
    elif shipped_at < clock.horizon:
        order.status, order.shipped_at = OrderStatus.SHIPPED.value, shipped_at
    else:
        order.status = OrderStatus.CONFIRMED.value


def distinct_lines(
    rng: random.Random, picks: Callable[[], ProductPlan | None], count: int, quantity: Callable[[], int], rate: Decimal
) -> list[Line]:
    """Up to ``count`` lines of different products, priced at ``rate`` × list price in whole yen."""
    lines: list[Line] = []
    seen: set[int] = set()
    for _attempt in range(count * 3):
        product = picks()
        if product is None or product.product_id in seen:
            continue
        seen.add(product.product_id)
        lines.append((product, quantity(), quantize(product.price * rate, "JPY")))
        if len(lines) == count:
            break
    return lines


def _b2b_order(
    world: DemoWorld, rng: random.Random, company: CompanyPlan, day: dt.date, seq: int
) -> PlannedOrder | None:
    clock, picker = world.clock, world.picker
    weights = list(company.channel_weights)
    if company.rep_id is None:
        weights[0], weights[1] = weights[0] + weights[1], 0.0
    channel = rng.choices(CHANNELS, weights=weights)[0]
    if channel != OrderChannel.WEB.value:
        day = _offline_weekday(day, clock.today)
    placed_at = clock.moment(day, _order_minutes(rng, channel))
    peak = SEASON_INTENSITY[day.month] > 1.3
    count = rng.choices(range(1, 7), weights=(15, 30, 25, 15, 10, 5))[0]
    if peak and rng.random() < 0.4:
        count = min(6, count + 1)
    bulky = company.size in {"large", "medium"}

    def quantity() -> int:
        units = rng.choices(WHOLESALE_QUANTITIES, weights=WHOLESALE_QUANTITY_WEIGHTS)[0]
        return min(24, units * 2) if (bulky or peak) and rng.random() < 0.3 else units

    lines = distinct_lines(
        rng, lambda: picker.pick(rng, at=placed_at, tops=company.tops), count, quantity, company.rate
    )
    if not lines:
        return None
    if channel == OrderChannel.WEB.value:
        contacts = company.contact_ids
        buyer = rng.choices(contacts, weights=[2 if c == company.primary_contact_id else 1 for c in contacts])[0]
    else:
        buyer = company.primary_contact_id
    note = {"fax": "FAX注文書より入力", "phone": "電話受注"}.get(channel, "")
    if channel == OrderChannel.SALES_REP.value and peak and rng.random() < 0.3:
        note = "展示会受注"
    order = PlannedOrder(
        placed_at,
        f"{company.external_id}/{seq:05d}",
        company,
        buyer,
        channel,
        lines,
        sales_rep_id=company.rep_id if channel == OrderChannel.SALES_REP.value else None,
        note=note,
    )
    _order_status(rng, order, clock)
    return order


def _b2c_order(
    world: DemoWorld, rng: random.Random, contact: ContactPlan, day: dt.date, seq: int
) -> PlannedOrder | None:
    clock, picker = world.clock, world.picker
    minutes = rng.uniform(20 * 60, 24 * 60 - 1) if rng.random() < 0.45 else rng.uniform(8 * 60, 20 * 60)
    placed_at = clock.moment(day, minutes)
    count = rng.choices((1, 2, 3), weights=(55, 33, 12))[0]
    lines = distinct_lines(
        rng,
        lambda: picker.pick(rng, at=placed_at, tops=contact.tops, loyalty=0.7),
        count,
        lambda: rng.choices((1, 2), weights=(85, 15))[0],
        Decimal(1),
    )
    if not lines:
        return None
    order = PlannedOrder(
        placed_at, f"{contact.external_id}/{seq:05d}", None, contact.contact_id, OrderChannel.WEB.value, lines
    )
    _order_status(rng, order, clock)
    return order


def orders_plan(world: DemoWorld) -> list[PlannedOrder]:
    """Every order of the two years, numbered TK-YYYYMMDD-NNNNN in the order they were placed."""
    b2c = [contact for contact in world.contacts if contact.company is None]
    b2b_factor = _calibrated_factor(
        round(18_500 * world.scale), lambda f: sum(len(company_order_days(c, world, f)) for c in world.companies)
    )
    b2c_factor = _calibrated_factor(
        round(1_500 * world.scale), lambda f: sum(len(_b2c_order_days(c, world, f)) for c in b2c)
    )
    orders: list[PlannedOrder] = []
    for company in world.companies:
        rng = world.rng(f"orders/{company.external_id}")
        for sequence, day in enumerate(company_order_days(company, world, b2b_factor)):
            if (order := _b2b_order(world, rng, company, day, sequence)) is not None:
                orders.append(order)
    for contact in b2c:
        rng = world.rng(f"orders/{contact.external_id}")
        for sequence, day in enumerate(_b2c_order_days(contact, world, b2c_factor)):
            if (order := _b2c_order(world, rng, contact, day, sequence)) is not None:
                orders.append(order)
    orders.sort(key=lambda order: (order.placed_at, order.sort_key))
    per_day: dict[dt.date, int] = defaultdict(int)
    for order in orders:
        local_day = order.placed_at.astimezone(world.clock.zone).date()
        per_day[local_day] += 1
        order.number = f"TK-{local_day:%Y%m%d}-{per_day[local_day]:05d}"
    return orders


def _order_in(order: PlannedOrder) -> OrderIn:
    b2b = order.company is not None
    subtotal = order.subtotal
    threshold, fee = (Decimal(30_000), Decimal(1_100)) if b2b else (Decimal(5_500), Decimal(550))
    shipping = Decimal(0) if subtotal >= threshold else fee
    return OrderIn(
        placed_at=order.placed_at,
        lines=[
            OrderLineIn(sku=p.sku, quantity=q, unit_price=price, product_name=p.name, product_id=p.product_id)
            for p, q, price in order.lines
        ],
        company_id=order.company.company_id if order.company else None,
        contact_id=order.contact_id,
        number=order.number,
        channel=order.channel,
        status=order.status,
        shipping_fee=shipping,
        tax_total=((subtotal + shipping) * TAX_RATE).quantize(Decimal(1), rounding=ROUND_DOWN),
        shipped_at=order.shipped_at,
        sales_rep_id=order.sales_rep_id,
        note=order.note,
    )


def orders_load(world: DemoWorld, orders: Sequence[PlannedOrder]) -> None:
    """Insert the orders through the bulk import path (which writes the order_placed facts), then the cancellations.

    Facts are stored already dispatched: two years of history must not start scenarios or send mail on load.
    """
    for start in range(0, len(orders), ORDER_BATCH):
        chunk = orders[start : start + ORDER_BATCH]
        orders_load_new(source=DEMO_SOURCE, orders=[(o.number, _order_in(o)) for o in chunk], dispatch_facts=False)
    ids = dict(Order.objects.filter(source=DEMO_SOURCE).values_list("external_id", "id"))
    for order in orders:
        order.order_id = ids[order.number]
    # orders_load_new has no cancellation time and writes no cancellation fact; add both as order_upsert would.
    rng = world.rng("cancellations")
    cancelled = [order for order in orders if order.status == OrderStatus.CANCELLED.value]
    cancelled_at = {o.order_id: o.placed_at + dt.timedelta(minutes=rng.randint(60, 36 * 60)) for o in cancelled}
    Order.objects.bulk_update([Order(pk=pk, cancelled_at=at) for pk, at in cancelled_at.items()], ["cancelled_at"])
    events_record_batch(
        events=[
            EventIn(
                type=EventType.ORDER_CANCELLED,
                occurred_at=cancelled_at[o.order_id],
                contact_id=o.contact_id,
                company_id=o.company.company_id if o.company else None,
                properties={"order_id": o.order_id, "number": o.number, "status": o.status},
                source=DEMO_SOURCE,
                idempotency_key=f"order:{o.order_id}:{o.status}",
            )
            for o in cancelled
        ],
        dispatch=False,
    )
