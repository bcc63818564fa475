"""Reading what the tag sends: a batch of events from one browser, checked event by event before anything is stored.

A batch that cannot be read at all (bad UTF-8, bad JSON, no anonymous id, too many events) is refused whole with
``BatchRefusedError``; an event that is wrong on its own is reported with its index and left out, and the good events of
the same batch are kept. Everything here is pure: no database, so the endpoint stays thin.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, NoReturn

from django.utils.translation import gettext as _

from tokui.tracking.enums import EventType
from tokui.tracking.types import TagBatch, TagEvent, TagEventError

# What a shop's pages can report. Orders, mail and points facts come from the shop's systems, never from a browser.
TAG_EVENT_TYPES = frozenset(
    {
        EventType.PAGE_VIEWED,
        EventType.PRODUCT_VIEWED,
        EventType.CATEGORY_VIEWED,
        EventType.SEARCHED,
        EventType.FAVORITE_ADDED,
        EventType.FAVORITE_REMOVED,
        EventType.CART_ITEM_ADDED,
        EventType.CART_ITEM_REMOVED,
        EventType.CART_UPDATED,
        EventType.CHECKOUT_STARTED,
        EventType.ORDER_PLACED,
        EventType.SIGNED_UP,
        EventType.LOGGED_IN,
    }
)
IDENTIFY_TYPES = frozenset({EventType.LOGGED_IN, EventType.SIGNED_UP})
PRODUCT_LINE_TYPES = frozenset(
    {EventType.CART_ITEM_ADDED, EventType.CART_ITEM_REMOVED, EventType.FAVORITE_ADDED, EventType.FAVORITE_REMOVED}
)

ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{8,64}\Z")
MAX_PROPERTIES_BYTES = 8 * 1024
MAX_CART_ITEMS = 500
MAX_QUANTITY = 100_000
MAX_EMAIL_LENGTH = 254
# A browser may send late (a retry after being offline) but not from last month; clocks are corrected by sent_at.
MAX_AGE = dt.timedelta(days=7)
MAX_AHEAD = dt.timedelta(minutes=10)
# One encoder for every event: json.dumps with options builds a new encoder per call, a third of its time here.
_PROPERTIES_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class BatchRefusedError(Exception):
    """The whole batch is refused; ``status`` is the HTTP status the endpoint answers with."""

    def __init__(self, *, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field}


def _refuse_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb cannot store them.
    raise ValueError(name)


def _decode(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BatchRefusedError(
            status=400, code="invalid_utf8", message=_("The request body is not valid UTF-8. Send JSON in UTF-8.")
        ) from error
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise BatchRefusedError(
            status=400,
            code="invalid_json",
            message=_("The request body is not valid JSON. Send an object with an events list."),
        ) from error


def _timestamp(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not 19 <= len(value) <= 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def batch_parse(*, body: bytes, max_events: int, now: dt.datetime) -> TagBatch:
    """Check a batch sent by the tag and return its good events and, per bad event, why it was left out."""
    data = _decode(body)
    if not isinstance(data, dict):
        raise BatchRefusedError(
            status=400, code="invalid_batch", message=_("Send a JSON object with an events list."), field=None
        )
    events = data.get("events")
    if not isinstance(events, list):
        raise BatchRefusedError(
            status=400, code="invalid_batch", message=_("The batch needs an events list."), field="events"
        )
    if len(events) > max_events:
        raise BatchRefusedError(
            status=413,
            code="batch_too_large",
            message=_("A batch may hold at most %(max)d events; send smaller batches.") % {"max": max_events},
            field="events",
        )
    anonymous_id = data.get("anonymous_id")
    if not isinstance(anonymous_id, str) or not ID_PATTERN.match(anonymous_id):
        raise BatchRefusedError(
            status=400,
            code="invalid_anonymous_id",
            message=_("The batch needs an anonymous_id of 8 to 64 letters, digits, dashes or underscores."),
            field="anonymous_id",
        )
    # The browser's clock may be wrong: shift every event by the difference between its clock and ours.
    sent_at = _timestamp(data.get("sent_at"))
    skew = now - sent_at if sent_at is not None else dt.timedelta(0)
    good: list[TagEvent] = []
    errors: list[TagEventError] = []
    seen: set[str] = set()
    earliest, latest = now - MAX_AGE, now + MAX_AHEAD
    for index, raw in enumerate(events):
        checked = _event(index, raw, skew=skew, earliest=earliest, latest=latest)
        if isinstance(checked, TagEventError):
            errors.append(checked)
        elif checked.id not in seen:  # the same event twice in one batch is stored once
            seen.add(checked.id)
            good.append(checked)
    return TagBatch(
        anonymous_id=anonymous_id,
        consent=data.get("consent") is True,
        events=good,
        errors=errors,
        identified=data.get("identified") is True,
    )


def _error(index: int, code: str, message: str, field: str) -> TagEventError:
    return TagEventError(index=index, code=code, message=message, field=f"events[{index}].{field}")


def _event(
    index: int, raw: object, *, skew: dt.timedelta, earliest: dt.datetime, latest: dt.datetime
) -> TagEvent | TagEventError:
    if not isinstance(raw, dict):
        return TagEventError(
            index=index, code="invalid_event", message=_("Each event must be a JSON object."), field=f"events[{index}]"
        )
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not ID_PATTERN.match(event_id):
        return _error(index, "invalid_id", _("Each event needs a random id of 8 to 64 letters or digits."), "id")
    event_type = raw.get("type")
    if event_type not in TAG_EVENT_TYPES:
        return _error(
            index,
            "unknown_type",
            _("“%(type)s” is not an event the tag can send; see the list of event types in the tag guide.")
            % {"type": str(event_type)[:64]},
            "type",
        )
    moment = _timestamp(raw.get("occurred_at"))
    if moment is None:
        return _error(
            index,
            "invalid_occurred_at",
            _("occurred_at must be an ISO 8601 time with a time zone, such as 2026-04-01T10:00:00.000Z."),
            "occurred_at",
        )
    moment += skew
    if not earliest <= moment <= latest:
        return _error(
            index,
            "occurred_at_out_of_range",
            _("occurred_at must lie within the last 7 days; events older than that are not accepted."),
            "occurred_at",
        )
    properties = raw.get("properties", {})
    if not isinstance(properties, dict):
        return _error(index, "invalid_properties", _("properties must be a JSON object."), "properties")
    encoded = _PROPERTIES_JSON.encode(properties)
    if len(encoded) > MAX_PROPERTIES_BYTES // 4 and len(encoded.encode()) > MAX_PROPERTIES_BYTES:
        return _error(
            index,
            "properties_too_large",
            _("properties may take at most %(max)d bytes as JSON; send fewer or shorter values.")
            % {"max": MAX_PROPERTIES_BYTES},
            "properties",
        )
    if "\\u0000" in encoded:
        return _error(index, "invalid_properties", _("properties must not contain NUL characters."), "properties")
    problem = _type_rules(str(event_type), properties)
    if problem is not None:
        return _error(index, problem[0], problem[1], problem[2])
    return TagEvent(
        id=event_id, type=str(event_type), occurred_at=moment, properties=properties, properties_json=encoded
    )


def _is_product_ref(value: object) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= 128) or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def _quantity_ok(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_QUANTITY


def _type_rules(event_type: str, properties: dict[str, Any]) -> tuple[str, str, str] | None:
    """The few properties an event is useless without: who logged in, which product went into the cart."""
    if event_type in IDENTIFY_TYPES:
        external_id = properties.get("contact_external_id")
        email = properties.get("email")
        has_id = isinstance(external_id, str | int) and not isinstance(external_id, bool) and str(external_id) != ""
        has_email = isinstance(email, str) and 3 <= len(email) <= MAX_EMAIL_LENGTH and "@" in email
        if not has_id and not has_email:
            return (
                "missing_identity",
                _("identify needs the customer's contact_external_id or email."),
                "properties.contact_external_id",
            )
    if event_type in PRODUCT_LINE_TYPES and not (
        _is_product_ref(properties.get("sku")) or _is_product_ref(properties.get("product_id"))
    ):
        return ("missing_product", _("This event needs the product's sku or product_id."), "properties.sku")
    if "quantity" in properties and not _quantity_ok(properties["quantity"]):
        return (
            "invalid_quantity",
            _("quantity must be a whole number from 0 to %(max)d.") % {"max": MAX_QUANTITY},
            "properties.quantity",
        )
    if event_type == EventType.CART_UPDATED and "items" in properties:
        items = properties["items"]
        if not isinstance(items, list) or len(items) > MAX_CART_ITEMS:
            return ("invalid_items", _("items must be a list of cart lines."), "properties.items")
        for number, item in enumerate(items):
            if (
                not isinstance(item, dict)
                or not (_is_product_ref(item.get("sku")) or _is_product_ref(item.get("product_id")))
                or not _quantity_ok(item.get("quantity", 1))
            ):
                return (
                    "invalid_items",
                    _("Each cart line needs a sku or product_id and a whole-number quantity."),
                    f"properties.items[{number}]",
                )
    return None
