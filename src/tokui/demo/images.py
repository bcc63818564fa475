"""Product pictures for the demo, drawn locally with Pillow, and the demo catalog they are drawn for.

Each picture is a garment silhouette in the product's colour on a pastel background with the SKU underneath:
enough for product cards, cart mails and recommendation blocks to look like a real catalogue, with no network and
no image files. Only ASCII text is drawn, so Pillow's built-in font suffices. The products are created here too,
because each product's category, colour and SKU decide its picture.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFont

from tokui.catalog.models import Product
from tokui.catalog.services import category_upsert, product_upsert
from tokui.catalog.types import CategoryIn, ProductIn
from tokui.demo import names
from tokui.demo.names import DEMO_SOURCE, SHOP_URL, TOP_KEYS, TOP_WEIGHTS, season_of, season_ordinal

if TYPE_CHECKING:
    from tokui.demo.demo_orders import DemoClock  # demo_orders builds on the catalog, not the other way round

IMAGE_SIZE = 320
# Drawn at twice the size and scaled down: ImageDraw does not anti-alias, the downscale does.
_SUPERSAMPLE = 2

PASTELS: tuple[tuple[int, int, int], ...] = (
    (246, 232, 234), (232, 240, 248), (236, 246, 236), (250, 244, 228), (240, 234, 248), (232, 246, 244),
    (248, 238, 228), (238, 238, 242),
)  # fmt: skip

Point = tuple[float, float]

# Outlines in a 100×100 box; the picture is scaled to the image.
_OUTLINES: dict[str, tuple[Point, ...]] = {
    "tshirt": ((30, 20), (42, 16), (50, 22), (58, 16), (70, 20), (88, 34), (78, 45), (70, 39), (70, 82), (30, 82),
               (30, 39), (22, 45), (12, 34)),
    "shirt": ((31, 18), (43, 14), (50, 24), (57, 14), (69, 18), (84, 58), (76, 61), (69, 40), (69, 84), (31, 84),
              (31, 40), (24, 61), (16, 58)),
    "knit": ((32, 20), (44, 17), (50, 21), (56, 17), (68, 20), (84, 62), (76, 65), (68, 40), (68, 82), (32, 82),
             (32, 40), (24, 65), (16, 62)),
    "trousers": ((33, 16), (67, 16), (71, 86), (57, 86), (50, 36), (43, 86), (29, 86)),
    "skirt": ((38, 22), (62, 22), (77, 80), (23, 80)),
    "jacket": ((33, 14), (44, 12), (50, 30), (56, 12), (67, 14), (82, 28), (85, 70), (76, 70), (72, 40), (70, 76),
               (30, 76), (28, 40), (24, 70), (15, 70), (18, 28)),
    "coat": ((34, 12), (44, 10), (50, 28), (56, 10), (66, 12), (80, 28), (82, 78), (74, 78), (72, 42), (72, 84),
             (28, 84), (28, 42), (26, 78), (18, 78), (20, 28)),
    "dress": ((40, 12), (46, 12), (50, 18), (54, 12), (60, 12), (62, 30), (58, 38), (76, 88), (24, 88), (42, 38),
              (38, 30)),
    "bag": ((24, 40), (76, 40), (80, 84), (20, 84)),
    "hat": ((34, 42), (38, 24), (50, 20), (62, 24), (66, 42)),
    "stole": ((30, 12), (48, 12), (48, 78), (44, 86), (40, 78), (36, 86), (30, 78)),
}  # fmt: skip


def _darker(colour: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    red, green, blue = colour
    return (int(red * amount), int(green * amount), int(blue * amount))


def _details(draw: ImageDraw.ImageDraw, silhouette: str, scale: float, line: tuple[int, int, int]) -> None:
    """The few strokes that make a shape read as a garment: a collar, buttons, a handle, a brim, pleats."""

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * scale, y0 * scale, x1 * scale, y1 * scale]

    width = max(2, int(scale * 0.8))
    if silhouette in {"shirt", "coat", "jacket"}:
        bottom = {"shirt": 80, "coat": 80, "jacket": 72}[silhouette]
        draw.line(box(50, 28, 50, bottom), fill=line, width=width)
        for y in range(34, bottom, 10):
            draw.ellipse(box(52, y - 1.2, 54.4, y + 1.2), fill=line)
    elif silhouette in {"knit", "tshirt"}:
        draw.arc(box(42, 12, 58, 26), start=20, end=160, fill=line, width=width)
        if silhouette == "knit":
            for x in range(34, 68, 4):
                draw.line(box(x, 76, x, 82), fill=line, width=max(1, width // 2))
    elif silhouette == "skirt":
        for x in (42, 50, 58):
            draw.line(box(x, 24, x + (x - 50) * 0.6, 78), fill=line, width=max(1, width // 2))
    elif silhouette == "bag":
        draw.arc(box(34, 20, 66, 56), start=180, end=360, fill=line, width=width * 2)
    elif silhouette == "hat":
        return  # the brim is drawn with the body
    elif silhouette == "stole":
        for x in range(52, 70, 3):
            draw.line(box(x, 80, x, 88), fill=line, width=max(1, width // 2))


def product_image_png(
    *, sku: str, silhouette: str, colour: tuple[int, int, int], background: tuple[int, int, int]
) -> bytes:
    """A square PNG of the product: ``silhouette`` filled with ``colour``, the SKU at the bottom."""
    size = IMAGE_SIZE * _SUPERSAMPLE
    scale = size / 100
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    outline = _darker(colour, 0.7) if sum(colour) > 200 else _darker(background, 0.55)
    if sum(colour) > 690:  # white on pastel disappears without a visible edge
        outline = _darker(background, 0.6)
    points = [(x * scale, y * scale) for x, y in _OUTLINES.get(silhouette, _OUTLINES["tshirt"])]
    if silhouette == "hat":
        draw.ellipse([18 * scale, 38 * scale, 82 * scale, 50 * scale], fill=colour, outline=outline, width=3)
    if silhouette == "stole":
        second = [(x + 22 * scale, y + 4 * scale) for x, y in points]
        draw.polygon(second, fill=_darker(colour, 0.85), outline=outline, width=3)
    draw.polygon(points, fill=colour, outline=outline, width=3)
    _details(draw, silhouette, scale, outline)
    image = image.reduce(_SUPERSAMPLE)
    _draw_label(image, sku)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _draw_label(image: Image.Image, text: str) -> None:
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (IMAGE_SIZE - (right - left)) / 2
    y = IMAGE_SIZE - 30
    draw.rectangle([x - 8, y - 3, x + (right - left) + 8, y + (bottom - top) + 7], fill=(255, 255, 255))
    draw.text((x - left, y - top + 2), text, fill=(60, 60, 68), font=font)


def product_image_store(*, name: str, content: bytes) -> str:
    """Write the picture under ``name`` in the media storage, replacing an older file of a previous load.

    Deleting first keeps the stored name exactly ``name`` (storage would otherwise add a random suffix), so the
    same seed always yields the same image paths, whatever ``MEDIA_ROOT`` is.
    """
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(content))


# --- The catalog the pictures are drawn for ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductPlan:
    """A created product as the later phases need it, so that orders and visits never query the catalog again."""

    product_id: int
    sku: str
    name: str
    url: str
    top_key: str
    leaf_key: str
    category_id: int
    price: Decimal
    season: str
    launched_at: dt.datetime
    status: str

    def event_properties(self) -> dict[str, object]:
        return {
            "product_id": self.product_id,
            "sku": self.sku,
            "name": self.name,
            "url": self.url,
            "category_id": self.category_id,
        }


@dataclass(frozen=True, slots=True)
class CategoryRef:
    """A category products live in (a leaf, or a top without children), for category views on the shop."""

    category_id: int
    name: str
    slug: str
    top_key: str

    @property
    def url(self) -> str:
        return f"{SHOP_URL}/categories/{self.slug}"


@dataclass(slots=True)
class _Group:
    ordinal: int | None  # season ordinal, None for basics
    times: list[dt.datetime]
    items: list[ProductPlan]


class ProductPicker:
    """Picks products a customer would buy or look at on a date: launched by then, in season, in their categories."""

    def __init__(self, products: Sequence[ProductPlan]) -> None:
        ordered = sorted(products, key=lambda p: (p.launched_at, p.sku))
        grouped: dict[tuple[str, str], list[ProductPlan]] = defaultdict(list)
        by_leaf: dict[str, list[ProductPlan]] = defaultdict(list)
        for product in ordered:
            grouped[(product.top_key, product.season)].append(product)
            by_leaf[product.leaf_key].append(product)
        self._groups: dict[str, list[_Group]] = defaultdict(list)
        for (top, season), items in sorted(grouped.items()):
            ordinal = season_ordinal(season) if season else None
            self._groups[top].append(_Group(ordinal, [p.launched_at for p in items], items))
        self._leaves = {key: _Group(None, [p.launched_at for p in items], items) for key, items in by_leaf.items()}
        self._all = _Group(None, [p.launched_at for p in ordered], ordered)

    @staticmethod
    def _relevance(ordinal: int | None, current: int) -> float:
        """How much a season's products sell now: this season most, then the pre-ordered next one and the last."""
        if ordinal is None:
            return 2.5
        return {0: 6.0, -1: 3.0, 1: 1.2}.get(current - ordinal, 0.15)

    def pick(
        self,
        rng: random.Random,
        *,
        at: dt.datetime,
        tops: Sequence[str],
        loyalty: float = 0.85,
        live_only: bool = False,
    ) -> ProductPlan | None:
        """A product of one of ``tops`` (else any category) launched by ``at``, weighted to the current season."""
        current = season_ordinal(season_of(at.date()))
        for _attempt in range(6):
            loyal = tops and rng.random() < loyalty
            top = rng.choice(tops) if loyal else rng.choices(TOP_KEYS, weights=TOP_WEIGHTS)[0]
            groups = self._groups.get(top, [])
            available = [bisect_right(group.times, at) for group in groups]
            weights = [self._relevance(g.ordinal, current) * n for g, n in zip(groups, available, strict=True)]
            if not any(weights):
                continue
            index = rng.choices(range(len(groups)), weights=weights)[0]
            product = groups[index].items[rng.randrange(available[index])]
            if not live_only or product.status == "active":
                return product
        return None

    def pick_recent(self, rng: random.Random, *, at: dt.datetime, within_days: int = 60) -> ProductPlan | None:
        """A product launched in the ``within_days`` before ``at``: what the new-arrivals page shows then."""
        return self._pick_between(self._all, rng, at - dt.timedelta(days=within_days), at)

    def pick_in_leaf(self, rng: random.Random, *, leaf_key: str, at: dt.datetime) -> ProductPlan | None:
        group = self._leaves.get(leaf_key)
        return self._pick_between(group, rng, at - dt.timedelta(days=400), at) if group else None

    @staticmethod
    def _pick_between(group: _Group, rng: random.Random, start: dt.datetime, end: dt.datetime) -> ProductPlan | None:
        low, high = bisect_left(group.times, start), bisect_right(group.times, end)
        return group.items[rng.randrange(low, high)] if high > low else None


def _seasons(clock: DemoClock) -> list[str]:
    """The seasons on sale during the two years: from the one selling at the window's start to today's."""
    seasons = []
    for year in range(clock.window_start.year - 1, clock.today.year + 1):
        for half, month in (("SS", 2), ("AW", 8)):
            start = dt.date(year, month, 1)
            if clock.window_start - dt.timedelta(days=200) <= start <= clock.today + dt.timedelta(days=19):
                seasons.append(f"{year}{half}")
    return seasons


def _launch_day(rng: random.Random, season: str, clock: DemoClock) -> dt.date:
    """Seasonal products launch in deliveries around the season start; a share of today's season is brand new."""
    latest = clock.today - dt.timedelta(days=1)
    if not season:
        if rng.random() < 0.8:
            return clock.window_start - dt.timedelta(days=rng.randint(30, 700))
        return min(
            latest, clock.window_start + dt.timedelta(days=rng.randint(0, (clock.today - clock.window_start).days))
        )
    start = dt.date(int(season[:4]), 2 if season.endswith("SS") else 8, 1)
    earliest = start - dt.timedelta(days=20)
    if season == season_of(clock.today) and rng.random() < 0.3:
        return max(earliest, clock.today - dt.timedelta(days=rng.randint(1, 45)))
    low, high = rng.choices(((-20, 10), (20, 50), (60, 100)), weights=(55, 30, 15))[0]
    day = start + dt.timedelta(days=rng.randint(low, high))
    if day > latest:
        day = earliest + dt.timedelta(days=rng.randint(0, max(0, (latest - earliest).days)))
    return min(day, latest)


def _status_and_stock(rng: random.Random, season: str, clock: DemoClock) -> tuple[str, int]:
    """Old seasons are mostly discontinued and sold out; the current season has stock."""
    age = season_ordinal(season_of(clock.today)) - season_ordinal(season) if season else 0
    if (age >= 3 and rng.random() < 0.6) or (age == 2 and rng.random() < 0.25) or (not season and rng.random() < 0.05):
        return "discontinued", 0
    status = "hidden" if rng.random() < 0.03 else "active"
    if not season:
        return status, rng.randint(100, 800)
    return status, rng.randint(30, 500) if age <= 0 else rng.randint(0, 150) if age == 1 else rng.randint(0, 40)


def _list_price(rng: random.Random, leaf: names.LeafSpec) -> Decimal:
    """A list price within the category's range, mostly ending in 900 as Japanese price tags do (¥4,900)."""
    thousands = rng.randint(math.ceil(leaf.price_min / 1000), leaf.price_max // 1000)
    yen = thousands * 1000 - (100 if rng.random() < 0.7 else 0)
    return Decimal(min(max(yen, leaf.price_min), leaf.price_max))


def catalog_create(*, seed: int, clock: DemoClock, scale: float) -> tuple[list[ProductPlan], list[CategoryRef]]:
    """The category tree and ~400 products over the seasons of the window, each with a drawn picture."""
    rng = random.Random(f"{seed}/catalog")
    refs: dict[str, CategoryRef] = {}
    for top_order, top in enumerate(names.CATEGORY_TREE, start=1):
        top_row = category_upsert(
            source=DEMO_SOURCE,
            external_id=f"CAT-{top.key}",
            data=CategoryIn(name=top.name, slug=top.slug, sort_order=top_order),
        ).instance
        if top.holds_products:
            refs[top.leaves[0].key] = CategoryRef(top_row.pk, top.name, top.slug, top.key)
            continue
        for leaf_order, leaf in enumerate(top.leaves, start=1):
            leaf_in = CategoryIn(name=leaf.name, slug=leaf.slug, parent_id=top_row.pk, sort_order=leaf_order)
            leaf_row = category_upsert(source=DEMO_SOURCE, external_id=f"CAT-{leaf.key}", data=leaf_in).instance
            refs[leaf.key] = CategoryRef(leaf_row.pk, leaf.name, leaf.slug, top.key)
    seasons = _seasons(clock)
    leaves = [(top, leaf) for top in names.CATEGORY_TREE for leaf in top.leaves]
    plans: list[ProductPlan] = []
    rows: list[Product] = []
    for number in range(1, max(24, round(400 * scale)) + 1):
        season = (
            "" if rng.random() < 0.18 else rng.choices(seasons, weights=[1 + 0.15 * i for i in range(len(seasons))])[0]
        )
        fitting = [(t, f) for t, f in leaves if not season or f.seasons in ("ALL", season[4:])]
        weights = [t.weight * f.weight / sum(x.weight for x in t.leaves) for t, f in fitting]
        top, leaf = rng.choices(fitting, weights=weights)[0]
        colour_name, colour = rng.choice(names.COLOURS)
        sku = f"TK{season[2:]}-{number:04d}" if season else f"TKBS-{number:04d}"
        name = names.product_name(rng, leaf, colour_name)
        launched_at = dt.datetime.combine(_launch_day(rng, season, clock), dt.time(10), tzinfo=clock.zone)
        status, stock = _status_and_stock(rng, season, clock)
        url = f"{names.SHOP_URL}/products/{sku}"
        data = ProductIn(
            sku=sku,
            name=name,
            price=_list_price(rng, leaf),
            category_id=refs[leaf.key].category_id,
            description=names.product_description(leaf, name, season),
            url=url,
            stock=stock,
            is_new=launched_at >= clock.ago(days=60),
            launched_at=launched_at,
            season=season,
            status=status,
        )
        row = product_upsert(source=DEMO_SOURCE, external_id=sku, data=data).instance
        png = product_image_png(sku=sku, silhouette=leaf.silhouette, colour=colour, background=rng.choice(PASTELS))
        row.image.name = product_image_store(name=f"products/demo-{sku.lower()}.png", content=png)
        rows.append(row)
        plans.append(
            ProductPlan(
                row.pk, sku, name, url, top.key, leaf.key, row.category_id or 0, data.price, season, launched_at, status
            )
        )
    Product.objects.bulk_update(rows, ["image"], batch_size=500)
    return plans, list(refs.values())
