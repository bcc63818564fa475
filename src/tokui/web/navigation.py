"""The areas of Tokui in the sidebar, in PRODUCT.md order. Areas not built yet open a page that says so."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    label: Promise
    section: Promise
    url_name: str = "web:coming_soon"
    built: bool = False
    description: Promise | str = ""
    # Shown only to administrators: the page behind it refuses everyone else.
    admin_only: bool = False


CUSTOMERS = _("Customers")
ANALYSIS = _("Analysis")
ACTIONS = _("Marketing")
DATA = _("Data")
SYSTEM = _("System")

NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("dashboard", _("Dashboard"), CUSTOMERS, "web:dashboard", built=True),
    NavItem("companies", _("Companies"), CUSTOMERS, "web:company_list", built=True),
    NavItem("individuals", _("Individual customers"), CUSTOMERS, "web:contact_list", built=True),
    NavItem(
        "rfm",
        _("RFM analysis"),
        ANALYSIS,
        "analytics:rfm",
        built=True,
        description=_(
            "Recency, frequency and monetary ranks of every customer, the R×F grid and movement between groups."
        ),
    ),
    NavItem(
        "sales",
        _("Sales analysis"),
        ANALYSIS,
        "analytics:sales",
        built=True,
        description=_("Revenue, orders and AOV by period, channel, category, prefecture and sales rep."),
    ),
    NavItem(
        "rankings",
        _("Rankings"),
        ANALYSIS,
        "analytics:rankings",
        built=True,
        description=_("Best sellers by units and revenue per day, week and month, with rank movement."),
    ),
    NavItem(
        "basket",
        _("Basket analysis"),
        ANALYSIS,
        "analytics:basket",
        built=True,
        description=_("Products bought together, with support, confidence and lift, for cross-selling."),
    ),
    NavItem(
        "repeat",
        _("Repeat and LTV"),
        ANALYSIS,
        "analytics:repeat",
        built=True,
        description=_("Repeat rate, second-order conversion, cohort retention and predicted customer value."),
    ),
    NavItem(
        "segments",
        _("Segments"),
        ACTIONS,
        "segments:list",
        built=True,
        description=_("Groups of customers built from rules over attributes, orders, behaviour and messages."),
    ),
    NavItem(
        "scenarios",
        _("Scenarios"),
        ACTIONS,
        description=_("Step mails and automated measures: abandoned carts, second orders, dormant alerts and more."),
    ),
    NavItem(
        "mail",
        _("Mail templates"),
        ACTIONS,
        "mail:templates",
        built=True,
        description=_("The visual HTML mail editor with product, cart and ranking blocks."),
    ),
    NavItem(
        "broadcasts",
        _("Broadcasts"),
        ACTIONS,
        description=_("One-off sends to a segment, with A/B tests and a holdout."),
    ),
    NavItem("line", _("LINE"), ACTIONS, description=_("LINE friends linked to contacts, and LINE messages.")),
    NavItem(
        "measurement",
        _("Measurement"),
        ACTIONS,
        description=_("Sent, opened, clicked, ordered and revenue of each measure, against a holdout group."),
    ),
    NavItem(
        "imports",
        _("Import and connectors"),
        DATA,
        "integrations:import_list",
        built=True,
        description=_("CSV and Excel import, the tracking tag, and connectors for Shopify, B-Cart and EC-CUBE."),
    ),
    NavItem("outbox", _("Sent mail"), DATA, "web:outbox", built=True),
    NavItem(
        "settings",
        _("Settings"),
        SYSTEM,
        "accounts:api_keys",
        built=True,
        admin_only=True,
        description=_("Users and roles, API keys, sender identity, quiet hours and RFM thresholds."),
    ),
)

NAV_BY_KEY = {item.key: item for item in NAV_ITEMS}
