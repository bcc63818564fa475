"""A plain-Python evaluation of segment rules over data loaded from the database, written independently of the
compiler: the property tests check that the SQL returns exactly the customers this returns."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tokui.analytics.models import CustomerPrediction, CustomerStats
from tokui.catalog.models import Category, Product
from tokui.commerce.models import Cart, CartLine, Favorite, Order, OrderLine
from tokui.core.time import site_zone
from tokui.customers.models import Company, Consent, Contact, CustomFieldDefinition
from tokui.segments.rules.values import scalar_matches
from tokui.tracking.models import Event

NON_REVENUE = {"cancelled", "refunded"}
NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"


@dataclass
class World:
    companies: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    company_tags: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    contact_tags: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    consents: dict[tuple[int, str], str] = field(default_factory=dict)
    custom_types: dict[tuple[str, str], str] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    category_parent: dict[int, int | None] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    carts: dict[int, dict[str, Any]] = field(default_factory=dict)
    cart_lines: list[dict[str, Any]] = field(default_factory=list)
    favorites: list[dict[str, Any]] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)


def load_world() -> World:
    w = World()
    w.companies = {row["id"]: row for row in Company.objects.values()}
    w.contacts = {row["id"]: row for row in Contact.objects.values()}
    for company_id, tag_id in Company.tags.through.objects.values_list("company_id", "tag_id"):
        w.company_tags[company_id].add(tag_id)
    for contact_id, tag_id in Contact.tags.through.objects.values_list("contact_id", "tag_id"):
        w.contact_tags[contact_id].add(tag_id)
    w.consents = {(c, ch): s for c, ch, s in Consent.objects.values_list("contact_id", "channel", "status")}
    w.custom_types = {(e, k): t for e, k, t in CustomFieldDefinition.objects.values_list("entity", "key", "field_type")}
    w.products = {row["id"]: row for row in Product.objects.values()}
    w.category_parent = dict(Category.objects.values_list("id", "parent_id"))
    w.orders = {row["id"]: row for row in Order.objects.values()}
    w.lines = list(OrderLine.objects.values())
    w.events = list(Event.objects.values())
    w.carts = {row["id"]: row for row in Cart.objects.values()}
    w.cart_lines = list(CartLine.objects.values())
    w.favorites = list(Favorite.objects.values())
    w.stats = list(CustomerStats.objects.values())
    w.predictions = list(CustomerPrediction.objects.values())
    return w


class Evaluator:
    def __init__(self, world: World, *, subject: str, now: dt.datetime) -> None:
        self.w, self.subject, self.now = world, subject, now
        self.today = now.astimezone(site_zone()).date()
        self.key = "company_id" if subject == "company" else "contact_id"

    def members(self, rule: dict[str, Any]) -> set[int]:
        rows = self.w.companies if self.subject == "company" else self.w.contacts
        return {pk for pk, row in rows.items() if row["archived_at"] is None and self.node(rule["root"], pk)}

    # --- tree --------------------------------------------------------------------------------------------------

    def node(self, node: dict[str, Any], pk: int) -> bool:
        if node["kind"] == "group":
            if not node["children"]:
                result = True
            elif node["match"] == "all":
                result = all(self.node(child, pk) for child in node["children"])
            else:
                result = any(self.node(child, pk) for child in node["children"])
            return not result if node["negate"] else result
        return bool(getattr(self, f"c_{node['type']}")(node["config"], pk))

    # --- helpers -----------------------------------------------------------------------------------------------

    def lift(self, entity: str, pk: int, test: Any) -> bool:
        if entity == self.subject:
            return bool(test(pk))
        if entity == "contact":  # a company: any of its contacts
            return any(test(c) for c, row in self.w.contacts.items() if row["company_id"] == pk)
        company = self.w.contacts[pk]["company_id"]
        return company is not None and bool(test(company))

    def window(self, period: dict[str, Any]) -> tuple[dt.datetime | None, dt.datetime | None]:
        zone = site_zone()

        def midnight(day: dt.date) -> dt.datetime:
            return dt.datetime(day.year, day.month, day.day, tzinfo=zone)

        kind = period["kind"]
        if kind == "last_days":
            return midnight(self.today - dt.timedelta(days=period["days"] - 1)), None
        if kind == "this_week":
            return midnight(self.today - dt.timedelta(days=self.today.weekday())), None
        if kind == "this_month":
            return midnight(self.today.replace(day=1)), None
        if kind == "between":
            start, end = dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
            return midnight(start), midnight(end + dt.timedelta(days=1))
        return None, None

    def within(self, at: dt.datetime, period: dict[str, Any]) -> bool:
        start, end = self.window(period)
        return (start is None or at >= start) and (end is None or at < end)

    def categories_under(self, chosen: list[int]) -> set[int]:
        result = set()
        for category in self.w.category_parent:
            node: int | None = category
            seen = set()
            while node is not None and node not in seen:
                if node in chosen:
                    result.add(category)
                    break
                seen.add(node)
                node = self.w.category_parent.get(node)
        return result

    def customer_rows(self, rows: list[dict[str, Any]], pk: int) -> list[dict[str, Any]]:
        return [row for row in rows if row[self.key] == pk]

    def stats_rows(self, rows: list[dict[str, Any]], pk: int) -> list[dict[str, Any]]:
        if self.subject == "company":
            return [r for r in rows if r["company_id"] == pk]
        company = self.w.contacts[pk]["company_id"]
        return [r for r in rows if r["contact_id"] == pk or (company is not None and r["company_id"] == company)]

    # --- conditions --------------------------------------------------------------------------------------------

    def c_company_field(self, config: dict[str, Any], pk: int) -> bool:
        return self.lift("company", pk, lambda c: self._field(self.w.companies[c], config, "company"))

    def c_contact_field(self, config: dict[str, Any], pk: int) -> bool:
        return self.lift("contact", pk, lambda c: self._field(self.w.contacts[c], config, "contact"))

    def _field(self, row: dict[str, Any], config: dict[str, Any], entity: str) -> bool:
        from tokui.segments.rules.attributes import COMPANY_FIELDS, CONTACT_FIELDS

        spec = (COMPANY_FIELDS if entity == "company" else CONTACT_FIELDS)[config["field"]]
        column = "assigned_rep_id" if config["field"] == "assigned_rep" else config["field"]
        return scalar_matches(spec.kind, config["op"], config["value"], row[column], today=self.today)

    def c_custom_field(self, config: dict[str, Any], pk: int) -> bool:
        import re

        kind = self.w.custom_types[(config["entity"], config["key"])]

        def test(owner: int) -> bool:
            row = (self.w.companies if config["entity"] == "company" else self.w.contacts)[owner]
            raw = row["custom_fields"].get(config["key"])
            if kind == "boolean":
                return (raw is True) == (config["op"] == "is_true")
            value = None if raw is None else str(raw)
            if kind == "number" and value is not None:
                value = Decimal(value) if re.match(NUMBER, value) else None
            return scalar_matches(kind, config["op"], config["value"], value, today=self.today)

        return self.lift(config["entity"], pk, test)

    def c_tags(self, config: dict[str, Any], pk: int) -> bool:
        tags = self.w.company_tags if config["entity"] == "company" else self.w.contact_tags
        chosen = set(config["tags"])

        def test(owner: int) -> bool:
            own = tags.get(owner, set())
            if config["op"] == "any":
                return bool(own & chosen)
            if config["op"] == "all":
                return chosen <= own
            return not own & chosen

        return self.lift(config["entity"], pk, test)

    def c_order_stats(self, config: dict[str, Any], pk: int) -> bool:
        from tokui.segments.rules.stats import STATS_METRICS

        _label, kind, default = STATS_METRICS[config["metric"]]
        rows = self.stats_rows(self.w.stats, pk)
        if not rows:
            return scalar_matches(kind, config["op"], config["value"], default, today=self.today)
        return any(
            scalar_matches(kind, config["op"], config["value"], r[config["metric"]], today=self.today) for r in rows
        )

    def c_prediction(self, config: dict[str, Any], pk: int) -> bool:
        rows = self.stats_rows(self.w.predictions, pk)
        if not rows:
            return scalar_matches("number", config["op"], config["value"], None, today=self.today)
        return any(
            scalar_matches("number", config["op"], config["value"], r[config["metric"]], today=self.today) for r in rows
        )

    def c_order_delay_risk(self, config: dict[str, Any], pk: int) -> bool:
        overdue = any(r["overdue"] for r in self.stats_rows(self.w.predictions, pk))
        return overdue if config["op"] == "is_true" else not overdue

    def c_purchased(self, config: dict[str, Any], pk: int) -> bool:
        if not (config["products"] or config["categories"]):
            orders = [
                o
                for o in self.w.orders.values()
                if o[self.key] == pk
                and o["status"] not in NON_REVENUE
                and self.within(o["placed_at"], config["period"])
            ]
            found = len(orders) >= config["min_count"] and (
                not config["min_amount"] or sum(Decimal(o["total"]) for o in orders) >= config["min_amount"]
            )
            return found if config["op"] == "bought" else not found
        categories = self.categories_under(config["categories"]) if config["categories"] else set()
        matching = []
        for line in self.w.lines:
            order = self.w.orders[line["order_id"]]
            if order[self.key] != pk or order["status"] in NON_REVENUE:
                continue
            if not self.within(order["placed_at"], config["period"]):
                continue
            if config["products"] or config["categories"]:
                product = self.w.products.get(line["product_id"]) if line["product_id"] else None
                in_products = line["product_id"] in config["products"]
                in_categories = product is not None and product["category_id"] in categories
                if not (in_products or in_categories):
                    continue
            matching.append(line)
        if config["min_count"] <= 1 and not config["min_amount"]:
            found = bool(matching)
        else:
            orders = {line["order_id"] for line in matching}
            amount = sum((Decimal(line["amount"]) for line in matching), Decimal(0))
            found = bool(matching) and len(orders) >= config["min_count"]
            if config["min_amount"]:
                found = found and amount >= config["min_amount"]
        return found if config["op"] == "bought" else not found

    @staticmethod
    def prop(event: dict[str, Any], key: str) -> str | None:
        value = event["properties"].get(key)
        return None if value is None else str(value)

    def c_viewed(self, config: dict[str, Any], pk: int) -> bool:
        count = 0
        for event in self.customer_rows(self.w.events, pk):
            if not self.within(event["occurred_at"], config["period"]):
                continue
            target, type = config["target"], event["type"]
            if target == "any_product":
                ok = type == "product_viewed"
            elif target == "product":
                skus = {self.w.products[p]["sku"] for p in config["products"]}
                ok = type == "product_viewed" and self.prop(event, "sku") in skus
            elif target == "new_product":
                skus = {p["sku"] for p in self.w.products.values() if p["is_new"]}
                ok = type == "product_viewed" and self.prop(event, "sku") in skus
            elif target == "category":
                ids = {str(c) for c in self.categories_under(config["categories"])}
                ok = type in ("category_viewed", "product_viewed") and self.prop(event, "category_id") in ids
            else:
                url = self.prop(event, "url")
                ok = (
                    type in ("page_viewed", "product_viewed", "category_viewed")
                    and url is not None
                    and config["url"].lower() in url.lower()
                )
            count += ok
        found = count >= config["min_count"]
        return found if config["op"] == "did" else not found

    def c_cart_idle(self, config: dict[str, Any], pk: int) -> bool:
        idle_since = self.now - dt.timedelta(minutes=config["minutes"])
        found = any(
            (cart := self.w.carts[line["cart_id"]])[self.key] == pk
            and cart["state"] == "active"
            and cart["last_activity_at"] < idle_since
            for line in self.w.cart_lines
        )
        return found if config["op"] == "has" else not found

    def c_favorite(self, config: dict[str, Any], pk: int) -> bool:
        found = any(
            not config["products"] or f["product_id"] in config["products"]
            for f in self.customer_rows(self.w.favorites, pk)
        )
        return found if config["op"] == "has" else not found

    def c_message(self, config: dict[str, Any], pk: int) -> bool:
        found = any(
            event["type"] == config["action"]
            and self.within(event["occurred_at"], config["period"])
            and (not config["template_id"] or self.prop(event, "template_id") == config["template_id"])
            and (not config["campaign_id"] or self.prop(event, "campaign_id") == config["campaign_id"])
            for event in self.customer_rows(self.w.events, pk)
        )
        return found if config["op"] == "did" else not found

    def _reachable(self, contact: int) -> bool:
        return self.w.contacts[contact]["email"] != "" and self.w.consents.get((contact, "email")) == "granted"

    def _line(self, contact: int) -> bool:
        line = self.w.contacts[contact]["line_user_id"]
        return line not in (None, "") and self.w.consents.get((contact, "line")) != "withdrawn"

    def _contacts_of(self, pk: int) -> list[int]:
        if self.subject == "contact":
            return [pk]
        return [c for c, row in self.w.contacts.items() if row["company_id"] == pk]

    def c_mail_reachable(self, config: dict[str, Any], pk: int) -> bool:
        found = any(self._reachable(c) for c in self._contacts_of(pk))
        return found if config["op"] == "is_true" else not found

    def c_line_linked(self, config: dict[str, Any], pk: int) -> bool:
        found = any(self._line(c) for c in self._contacts_of(pk))
        return found if config["op"] == "is_true" else not found
