"""Hypothesis strategies: small random shops (companies, contacts, orders, facts, carts, stats) and random rule
trees over them. Ids are fixed so rules can name products, tags and categories before the data is written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from tokui.accounts.models import User
from tokui.analytics.models import CustomerPrediction, CustomerStats
from tokui.catalog.models import Category, Product
from tokui.commerce.models import Cart, CartLine, Favorite, Order, OrderLine
from tokui.customers.models import Company, Consent, Contact, CustomFieldDefinition, Tag
from tokui.tracking.models import Event

# 2026-06-10 15:10 UTC is 00:10 on Thursday 11 June in Tokyo: facts a few minutes apart fall on different JST days.
NOW = dt.datetime(2026, 6, 10, 15, 10, tzinfo=dt.UTC)
REPS = (9101, 9102)
TAGS = (9201, 9202, 9203)
CATEGORIES = {9301: None, 9302: 9301, 9303: None}  # 9302 (T-shirts) is under 9301 (tops)
PRODUCTS = (9401, 9402, 9403, 9404)
TEXTS = ["", "a", "A", "ab", "bA", "あい", "b"]
URLS = ["https://shop.example.jp/new/a", "https://shop.example.jp/sale/b", "https://shop.example.jp/NEW/c"]
MINUTE_OFFSETS = st.one_of(
    st.integers(min_value=-90 * 24 * 60, max_value=60),
    st.sampled_from([0, 9, 10, 11, 24 * 60 + 10, 24 * 60 + 11, 7 * 24 * 60 + 10, 60 * 24 * 60 + 10]),
)


def at(minutes_ago: int) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes_ago)


def day(days_ago: int) -> dt.date:
    return (NOW + dt.timedelta(hours=9)).date() - dt.timedelta(days=days_ago)


@st.composite
def shops(draw: st.DrawFn) -> dict[str, Any]:
    n_companies = draw(st.integers(1, 5))
    n_contacts = draw(st.integers(0, 6))
    companies = [9500 + i for i in range(n_companies)]
    contacts = [9600 + i for i in range(n_contacts)]
    customer = st.one_of(
        st.tuples(st.sampled_from(companies), st.none()),
        *([st.tuples(st.none(), st.sampled_from(contacts))] if contacts else []),
    )
    return {
        "products": [(pk, draw(st.booleans()), draw(st.sampled_from([None, *CATEGORIES]))) for pk in PRODUCTS],
        "companies": [
            {
                "id": pk,
                "name": draw(st.sampled_from(TEXTS[1:])),
                "code": draw(st.sampled_from(TEXTS)),
                "prefecture": draw(st.sampled_from(["", "13", "27"])),
                "industry": draw(st.sampled_from(["", "select_shop", "wholesale"])),
                "size": draw(st.sampled_from(["", "small", "large"])),
                "assigned_rep_id": draw(st.sampled_from([None, *REPS])),
                "archived": draw(st.integers(0, 9)) == 0,
                "custom_fields": draw(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "grade": st.sampled_from(["1", "2.5", "10", "x"]),
                            "since": st.sampled_from(["2026-06-10", "2026-06-11", "2025-01-01"]),
                            "plan": st.sampled_from(["a", "b"]),
                        },
                    )
                ),
                "tags": draw(st.sets(st.sampled_from(TAGS))),
            }
            for pk in companies
        ],
        "contacts": [
            {
                "id": pk,
                "company_id": draw(st.sampled_from([None, *companies])),
                "email": draw(st.sampled_from(["", "a@x.jp", "B@y.jp"])),
                "prefecture": draw(st.sampled_from(["", "13"])),
                "birthday": draw(st.sampled_from([None, day(0), day(1), day(400)])),
                "is_primary": draw(st.booleans()),
                "line_user_id": draw(st.sampled_from([None, f"U{pk}", *([""] if pk == 9600 else [])])),
                "archived": draw(st.integers(0, 9)) == 0,
                "custom_fields": draw(st.fixed_dictionaries({}, optional={"vip": st.sampled_from([True, False])})),
                "email_consent": draw(st.sampled_from([None, "granted", "withdrawn"])),
                "line_consent": draw(st.sampled_from([None, "granted", "withdrawn"])),
                "tags": draw(st.sets(st.sampled_from(TAGS))),
            }
            for pk in contacts
        ],
        "orders": [
            {
                "customer": draw(customer),
                "status": draw(st.sampled_from(["confirmed", "shipped", "cancelled"])),
                "minutes_ago": draw(MINUTE_OFFSETS),
                "lines": draw(
                    st.lists(
                        st.tuples(st.sampled_from([None, *PRODUCTS]), st.sampled_from([1000, 5000, 20000])),
                        min_size=1,
                        max_size=2,
                    )
                ),
            }
            for _ in range(draw(st.integers(0, 8)))
        ],
        "events": [
            {
                "customer": draw(customer),
                "type": draw(
                    st.sampled_from(
                        ["product_viewed", "category_viewed", "page_viewed", "mail_sent", "mail_opened", "mail_clicked"]
                    )
                ),
                "minutes_ago": draw(MINUTE_OFFSETS),
                "properties": draw(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "sku": st.sampled_from([f"S{pk}" for pk in PRODUCTS]),
                            "category_id": st.sampled_from([*CATEGORIES, str(9302)]),
                            "url": st.sampled_from(URLS),
                            "template_id": st.sampled_from(["1", 2, "2"]),
                            "campaign_id": st.sampled_from(["c1", "c2"]),
                        },
                    )
                ),
            }
            for _ in range(draw(st.integers(0, 14)))
        ],
        "carts": [
            {
                "customer": draw(customer),
                "state": draw(st.sampled_from(["active", "converted"])),
                "minutes_ago": draw(st.sampled_from([5, 29, 30, 31, 120, 3000])),
                "products": draw(st.sets(st.sampled_from(PRODUCTS), max_size=2)),
            }
            for _ in range(draw(st.integers(0, 3)))
        ],
        "favorites": draw(st.sets(st.tuples(st.sampled_from(contacts), st.sampled_from(PRODUCTS)), max_size=3))
        if contacts
        else set(),
        "stats": [
            {
                "customer": c,
                "order_count": draw(st.integers(1, 6)),
                "total_spend": draw(st.sampled_from([1000, 50000, 200000])),
                "last": draw(st.sampled_from([0, 1, 59, 60, 61, 200])),
                "next": draw(st.sampled_from([None, -3, 0, 5])),
            }
            for c in draw(st.sets(customer, max_size=4))
        ],
        "predictions": [
            {"customer": c, "overdue": draw(st.booleans()), "clv": draw(st.sampled_from([None, 1000, 90000]))}
            for c in draw(st.sets(customer, max_size=3))
        ],
    }


def shop_write(shop: dict[str, Any]) -> None:
    """Write a drawn shop with bulk inserts (inside the test's transaction, rolled back after each example)."""
    User.objects.bulk_create([User(id=pk, username=f"rep{pk}", role="sales_rep") for pk in REPS])
    Tag.objects.bulk_create([Tag(id=pk, name=f"tag{pk}") for pk in TAGS])
    Category.objects.bulk_create([Category(id=pk, name=f"c{pk}", slug=f"c{pk}") for pk in CATEGORIES])
    Category.objects.filter(pk=9302).update(parent_id=9301)
    CustomFieldDefinition.objects.bulk_create(
        [
            CustomFieldDefinition(entity="company", key="grade", label="grade", field_type="number"),
            CustomFieldDefinition(entity="company", key="since", label="since", field_type="date"),
            CustomFieldDefinition(entity="company", key="plan", label="plan", field_type="choice", choices=["a", "b"]),
            CustomFieldDefinition(entity="contact", key="vip", label="vip", field_type="boolean"),
        ]
    )
    Product.objects.bulk_create(
        [
            Product(id=pk, sku=f"S{pk}", name=f"p{pk}", price=Decimal(1000), is_new=new, category_id=category)
            for pk, new, category in shop["products"]
        ]
    )
    Company.objects.bulk_create(
        [
            Company(
                id=c["id"],
                name=c["name"],
                code=c["code"],
                prefecture=c["prefecture"],
                industry=c["industry"],
                size=c["size"],
                assigned_rep_id=c["assigned_rep_id"],
                custom_fields=c["custom_fields"],
                archived_at=NOW if c["archived"] else None,
            )
            for c in shop["companies"]
        ]
    )
    Company.tags.through.objects.bulk_create(
        [Company.tags.through(company_id=c["id"], tag_id=t) for c in shop["companies"] for t in c["tags"]]
    )
    Contact.objects.bulk_create(
        [
            Contact(
                id=c["id"],
                company_id=c["company_id"],
                name="n",
                email=c["email"],
                prefecture=c["prefecture"],
                birthday=c["birthday"],
                is_primary=c["is_primary"],
                line_user_id=c["line_user_id"],
                custom_fields=c["custom_fields"],
                archived_at=NOW if c["archived"] else None,
            )
            for c in shop["contacts"]
        ]
    )
    Contact.tags.through.objects.bulk_create(
        [Contact.tags.through(contact_id=c["id"], tag_id=t) for c in shop["contacts"] for t in c["tags"]]
    )
    Consent.objects.bulk_create(
        [
            Consent(contact_id=c["id"], channel=channel, status=c[f"{channel}_consent"], source="t", recorded_at=NOW)
            for c in shop["contacts"]
            for channel in ("email", "line")
            if c[f"{channel}_consent"]
        ]
    )
    company_of = {c["id"]: c["company_id"] for c in shop["contacts"]}

    def who(customer: tuple[int | None, int | None]) -> dict[str, Any]:
        company, contact = customer
        return {"company_id": company if contact is None else company_of[contact], "contact_id": contact}

    orders = Order.objects.bulk_create(
        [
            Order(
                **who(o["customer"]),
                status=o["status"],
                placed_at=at(o["minutes_ago"]),
                subtotal=Decimal(0),
                total=Decimal(sum(a for _p, a in o["lines"])),
            )
            for o in shop["orders"]
        ]
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order, line_no=n, product_id=p, sku="x", product_name="x", quantity=1, unit_price=a, amount=a
            )
            for order, o in zip(orders, shop["orders"], strict=True)
            for n, (p, a) in enumerate(o["lines"], start=1)
        ]
    )
    Event.objects.bulk_create(
        [
            Event(**who(e["customer"]), type=e["type"], occurred_at=at(e["minutes_ago"]), properties=e["properties"])
            for e in shop["events"]
        ]
    )
    carts = Cart.objects.bulk_create(
        [Cart(**who(c["customer"]), state=c["state"], last_activity_at=at(c["minutes_ago"])) for c in shop["carts"]]
    )
    CartLine.objects.bulk_create(
        [
            CartLine(cart=cart, product_id=p, quantity=1, unit_price=Decimal(100), added_at=NOW)
            for cart, c in zip(carts, shop["carts"], strict=True)
            for p in c["products"]
        ]
    )
    Favorite.objects.bulk_create(
        [Favorite(contact_id=c, company_id=company_of[c], product_id=p, added_at=NOW) for c, p in shop["favorites"]]
    )
    CustomerStats.objects.bulk_create(
        [
            CustomerStats(
                company_id=s["customer"][0],
                contact_id=s["customer"][1],
                first_order_on=day(400),
                last_order_on=day(s["last"]),
                order_count=s["order_count"],
                order_days=s["order_count"],
                total_spend=Decimal(s["total_spend"]),
                average_spend=Decimal(s["total_spend"]) / s["order_count"],
                predicted_next_order_on=None if s["next"] is None else day(s["next"]),
                refreshed_at=NOW,
            )
            for s in shop["stats"]
        ]
    )
    CustomerPrediction.objects.bulk_create(
        [
            CustomerPrediction(
                company_id=p["customer"][0],
                contact_id=p["customer"][1],
                overdue=p["overdue"],
                clv_365_days=p["clv"],
                computed_on=day(0),
            )
            for p in shop["predictions"]
        ]
    )


# --- Rules ---------------------------------------------------------------------------------------------------------

PERIODS = st.sampled_from(
    [
        {"kind": "any_time"},
        {"kind": "last_days", "days": 1},
        {"kind": "last_days", "days": 7},
        {"kind": "last_days", "days": 60},
        {"kind": "this_week"},
        {"kind": "this_month"},
        {"kind": "between", "start": "2026-06-10", "end": "2026-06-10"},
        {"kind": "between", "start": "2026-05-01", "end": "2026-06-11"},
    ]
)
TEXT_OPS = ["eq", "neq", "contains", "not_contains", "starts_with", "empty", "not_empty"]


def _field(field: str, ops: list[str], values: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda op, value: {"field": field, "op": op, "value": value}, st.sampled_from(ops), st.sampled_from(values)
    )


def _cond(type: str, config: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return config.map(lambda c: {"kind": "condition", "type": type, "config": c})


CONDITIONS = st.one_of(
    _cond("company_field", _field("name", TEXT_OPS, ["a", "A", "あ", "b"])),
    _cond("company_field", _field("code", TEXT_OPS, ["a", "ab"])),
    _cond("company_field", _field("prefecture", ["in", "not_in", "empty", "not_empty"], [["13"], ["13", "27"]])),
    _cond("company_field", _field("assigned_rep", ["in", "not_in", "empty"], [[str(REPS[0])], [str(r) for r in REPS]])),
    _cond("contact_field", _field("email", TEXT_OPS, ["x.jp", "a@x.jp", "b"])),
    _cond(
        "contact_field",
        _field("birthday", ["within_last_days", "not_within_last_days", "within_next_days", "empty"], [1, 2, 30]),
    ),
    _cond("contact_field", _field("birthday", ["on", "before", "after"], [day(0).isoformat(), day(1).isoformat()])),
    _cond("contact_field", _field("is_primary", ["is_true", "is_false"], [None])),
    _cond(
        "custom_field",
        st.builds(
            lambda op, value: {"entity": "company", "key": "grade", "op": op, "value": value},
            st.sampled_from(["eq", "neq", "gt", "lte", "empty", "not_empty"]),
            st.sampled_from([1, 2.5, 10]),
        ),
    ),
    _cond(
        "custom_field",
        st.builds(
            lambda op, value: {"entity": "company", "key": "since", "op": op, "value": value},
            st.sampled_from(["on", "before", "after", "within_last_days", "empty"]),
            st.sampled_from(["2026-06-10", "2026-06-11"]).filter(lambda v: True),
        ).map(lambda c: {**c, "value": 1} if c["op"] == "within_last_days" else c),
    ),
    _cond(
        "custom_field",
        st.builds(
            lambda op: {"entity": "company", "key": "plan", "op": op, "value": ["a"]},
            st.sampled_from(["in", "not_in", "empty"]),
        ),
    ),
    _cond(
        "custom_field",
        st.builds(lambda op: {"entity": "contact", "key": "vip", "op": op}, st.sampled_from(["is_true", "is_false"])),
    ),
    _cond(
        "tags",
        st.builds(
            lambda entity, op, tags: {"entity": entity, "op": op, "tags": sorted(tags)},
            st.sampled_from(["company", "contact"]),
            st.sampled_from(["any", "all", "none"]),
            st.sets(st.sampled_from(TAGS), min_size=1),
        ),
    ),
    _cond(
        "order_stats",
        st.one_of(
            st.builds(
                lambda metric, op, value: {"metric": metric, "op": op, "value": value},
                st.sampled_from(["order_count", "total_spend"]),
                st.sampled_from(["eq", "gte", "lt", "neq"]),
                st.sampled_from([0, 1, 3, 50000]),
            ),
            st.builds(
                lambda metric, op, value: {"metric": metric, "op": op, "value": value},
                st.sampled_from(["last_order_on", "predicted_next_order_on"]),
                st.sampled_from(["within_last_days", "not_within_last_days", "within_next_days"]),
                st.sampled_from([1, 60, 61]),
            ),
            st.builds(
                lambda metric, op: {"metric": metric, "op": op},
                st.sampled_from(["average_spend", "last_order_on"]),
                st.sampled_from(["empty", "not_empty"]),
            ),
        ),
    ),
    _cond(
        "prediction",
        st.builds(
            lambda op, value: {"metric": "clv_365_days", "op": op, "value": value},
            st.sampled_from(["gte", "lt", "empty", "neq"]),
            st.sampled_from([1000, 50000]),
        ),
    ),
    _cond("order_delay_risk", st.builds(lambda op: {"op": op}, st.sampled_from(["is_true", "is_false"]))),
    _cond(
        "purchased",
        st.builds(
            lambda op, what, period, n, amount: {
                "op": op,
                **what,
                "period": period,
                "min_count": n,
                "min_amount": amount,
            },
            st.sampled_from(["bought", "not_bought"]),
            st.sampled_from(
                [
                    {},
                    {"products": [PRODUCTS[0]]},
                    {"categories": [9301]},
                    {"products": [PRODUCTS[1]], "categories": [9303]},
                ]
            ),
            PERIODS,
            st.sampled_from([1, 1, 2]),
            st.sampled_from([None, None, 5000, 20001]),
        ),
    ),
    _cond(
        "viewed",
        st.builds(
            lambda op, target, period, n: {"op": op, **target, "period": period, "min_count": n},
            st.sampled_from(["did", "did_not"]),
            st.sampled_from(
                [
                    {"target": "any_product"},
                    {"target": "new_product"},
                    {"target": "product", "products": [PRODUCTS[0], PRODUCTS[2]]},
                    {"target": "category", "categories": [9301]},
                    {"target": "url", "url": "new"},
                ]
            ),
            PERIODS,
            st.sampled_from([1, 2, 3]),
        ),
    ),
    _cond(
        "cart_idle",
        st.builds(
            lambda op, m: {"op": op, "minutes": m}, st.sampled_from(["has", "has_not"]), st.sampled_from([30, 60])
        ),
    ),
    _cond(
        "favorite",
        st.builds(
            lambda op, products: {"op": op, "products": products},
            st.sampled_from(["has", "has_not"]),
            st.sampled_from([[], [PRODUCTS[0]]]),
        ),
    ),
    _cond(
        "message",
        st.builds(
            lambda op, action, template, campaign, period: {
                "op": op,
                "action": action,
                "template_id": template,
                "campaign_id": campaign,
                "period": period,
            },
            st.sampled_from(["did", "did_not"]),
            st.sampled_from(["mail_sent", "mail_opened", "mail_clicked"]),
            st.sampled_from(["", "2"]),
            st.sampled_from(["", "c1"]),
            PERIODS,
        ),
    ),
    _cond("mail_reachable", st.builds(lambda op: {"op": op}, st.sampled_from(["is_true", "is_false"]))),
    _cond("line_linked", st.builds(lambda op: {"op": op}, st.sampled_from(["is_true", "is_false"]))),
)

NODES = st.recursive(
    CONDITIONS,
    lambda children: st.builds(
        lambda match, negate, kids: {"kind": "group", "match": match, "negate": negate, "children": kids},
        st.sampled_from(["all", "any"]),
        st.booleans(),
        st.lists(children, max_size=3),
    ),
    max_leaves=6,
)
RULES = st.builds(
    lambda match, negate, kids: {
        "version": 1,
        "root": {"kind": "group", "match": match, "negate": negate, "children": kids},
    },
    st.sampled_from(["all", "any"]),
    st.booleans(),
    st.lists(NODES, max_size=3),
)
