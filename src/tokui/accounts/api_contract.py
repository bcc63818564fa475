"""The shapes every API endpoint shares: errors, sources, bulk bodies with per-record results, pages, times, money.

Each app's ``api.py`` builds on these. They live in accounts (which owns the API's clients and keys) because the
domain apps' routers may not import ``tokui.api``. A bulk body is validated record by record, so one record of the
wrong type is reported with its field and the good records of the batch are still stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

import pydantic
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, PlainSerializer, WithJsonSchema, model_validator

from tokui.core.batches import RecordOutcome, outcome_counts
from tokui.core.errors import DomainError
from tokui.core.time import site_zone

MAX_RECORDS = 1000
SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SOURCE_HELP = (
    "The system the records come from, as a slug (e.g. `erp`, `bcart`, `shopify`). External ids are unique per "
    "source, and references (company_external_id, product_external_id, ...) are looked up within the same source."
)

# --- Errors -------------------------------------------------------------------------------------------------------


class ErrorOut(Schema):
    """Every error: a stable code, a message in the caller's language that says what to do, and the field."""

    code: str
    message: str
    field: str | None = None


class TooManyRecordsError(DomainError):
    code = "too_many_records"
    http_status = 413


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return dict.fromkeys(codes, ErrorOut)


READ_ERRORS = _errors(401, 403, 422)
READ_ONE_ERRORS = _errors(401, 403, 404, 422)
WRITE_ERRORS = _errors(400, 401, 403, 413, 422)


def error_field(loc: Sequence[str | int]) -> str | None:
    """``("lines", 0, "quantity")`` → ``lines[0].quantity``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def validation_message(error: Mapping[str, Any]) -> str:
    """A pydantic error in the caller's language, saying what to send instead."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    limits = {"greater_than_equal": "ge", "less_than_equal": "le", "greater_than": "gt", "less_than": "lt"}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field. Check its name against the API documentation.")
    if kind == "value_error" and ctx.get("error"):
        return str(ctx["error"])
    if kind == "string_too_long":
        return _("Too long: at most %(max)s characters.") % {"max": ctx.get("max_length")}
    if kind == "string_too_short":
        return _("Too short: at least %(min)s characters.") % {"min": ctx.get("min_length")}
    if kind == "string_pattern_mismatch":
        return _("Not in the expected form (%(pattern)s).") % {"pattern": ctx.get("pattern")}
    if kind.startswith("string_"):
        return _("Send text.")
    if kind.startswith("int_"):
        return _("Send a whole number.")
    if kind.startswith(("decimal_", "float_")) or kind == "finite_number":
        return _("Send a number such as 4900 or 4900.50.")
    if kind in limits:
        messages = {
            "greater_than_equal": _("Must be at least %(limit)s."),
            "less_than_equal": _("Must be at most %(limit)s."),
            "greater_than": _("Must be more than %(limit)s."),
            "less_than": _("Must be less than %(limit)s."),
        }
        return messages[kind] % {"limit": ctx.get(limits[kind])}
    if kind.startswith("bool_"):
        return _("Send true or false.")
    if kind == "timezone_aware":
        return _("Add the time zone to the time, such as 2026-04-01T10:00:00+09:00.")
    if kind.startswith("datetime_") or kind == "timezone_naive":
        return _("Send a date and time such as 2026-04-01T10:00:00+09:00.")
    if kind.startswith("date_"):
        return _("Send a date such as 2026-04-01.")
    if kind in {"list_type", "tuple_type", "set_type"}:
        return _("Send a list.")
    if kind in {"dict_type", "model_type", "model_attributes_type", "dataclass_type"}:
        return _("Send an object.")
    if kind == "too_long":
        return _("Too many items: at most %(max)s.") % {"max": ctx.get("max_length")}
    if kind == "too_short":
        return _("Too few items: at least %(min)s.") % {"min": ctx.get("min_length")}
    if kind in {"literal_error", "enum"}:
        return _("Choose one of: %(expected)s.") % {"expected": ctx.get("expected")}
    if kind in {"json_invalid", "json_type"}:
        return _("Send valid JSON.")
    return _("This value is not valid.")


# --- Input types -----------------------------------------------------------------------------------------------


def _clean_text(value: str) -> str:
    # PostgreSQL refuses NUL in text, and a lone surrogate cannot be stored as UTF-8: refuse both here, clearly.
    if "\x00" in value:
        raise ValueError(_("Text cannot contain NUL characters."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("Text must be valid Unicode.")) from None
    return value


MAX_JSON_DEPTH = 32


def _plain_json(value: Any) -> Any:
    """Check every string (keys too) of a JSON value the way ``_clean_text`` checks one, and its nesting depth
    (without recursion, so a deeply nested value cannot exhaust the stack when stored or read back)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _clean_text(item)
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(_("Nest objects and lists at most %(depth)s levels deep.") % {"depth": MAX_JSON_DEPTH})
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return value


def _sane_time(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 2999:
        raise ValueError(_("Send a time between the years 1900 and 2999."))
    # Python accepts offsets up to ±24 h, PostgreSQL up to ±15:59: hand the database UTC.
    return value.astimezone(dt.UTC) if value.tzinfo is not None else value


def _site_time_if_naive(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value, site_zone()).astimezone(dt.UTC) if timezone.is_naive(value) else value


# A time in a record must say its zone (an order at 23:30 in Tokyo is not 23:30 UTC).
AwareTime = Annotated[pydantic.AwareDatetime, AfterValidator(_sane_time)]
# A time in a query string may leave the zone out: it is then read in the site zone (Asia/Tokyo by default).
QueryTime = Annotated[dt.datetime, AfterValidator(_sane_time), AfterValidator(_site_time_if_naive)]
# Money in: a JSON number or a numeric string; its sign and currency rules are checked by the service per record.
MoneyIn = Annotated[Decimal, Field(allow_inf_nan=False, gt=-(10**12), lt=10**12)]
Count = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_plain_json)]


class PlainIn(Schema):
    """Input whose every string is checked to be storable (no NUL, valid Unicode) before anything else."""

    @model_validator(mode="before")
    @classmethod
    def _plain_strings(cls, data: Any) -> Any:
        return _plain_json(data) if isinstance(data, dict) else data


class RecordIn(PlainIn):
    """One record of a bulk body: unknown fields are refused, so a misspelt field is not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# --- Output types ----------------------------------------------------------------------------------------------


def _site_iso(value: dt.datetime) -> str:
    return value.astimezone(site_zone()).isoformat()


def _money_text(value: Decimal) -> str:
    # Money is stored with 2 decimals; whole amounts (every JPY amount) are written without them.
    return format(value.quantize(Decimal(1)) if value == value.to_integral_value() else value, "f")


SiteTime = Annotated[dt.datetime, PlainSerializer(_site_iso, return_type=str)]
MoneyOut = Annotated[Decimal, PlainSerializer(_money_text, return_type=str)]
DecimalOut = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str)]


# --- Bulk bodies and results --------------------------------------------------------------------------------------


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` written in place, so it can be embedded in the OpenAPI document."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return dict(resolve(schema))


def records_schema(model: type[RecordIn]) -> WithJsonSchema:
    """The documented shape of ``records``: a list of ``model`` (the body itself accepts any objects, see above)."""
    return WithJsonSchema(
        {
            "type": "array",
            "items": _inline_refs(model.model_json_schema()),
            "maxItems": MAX_RECORDS,
            "description": f"Up to {MAX_RECORDS} records.",
        }
    )


RawRecord = dict[str, Any]


class BulkIn(Schema):
    """A bulk body: ``{"records": [...]}``. Subclasses document the record type with ``records_schema``."""

    records: list[RawRecord]


class RecordErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class RecordResultOut(Schema):
    index: int = Field(description="Position of the record in the body, from 0.")
    external_id: str | None
    outcome: str = Field(description="created, updated, unchanged or error")
    id: int | None = Field(None, description="Tokui's id of the stored record")
    error: RecordErrorOut | None = None


class BulkOut(Schema):
    source: str
    counts: dict[str, int]
    results: list[RecordResultOut]


@dataclass(slots=True)
class ParsedRecords[R]:
    """The records that passed validation (with their positions) and the outcomes of those that did not."""

    valid: list[tuple[int, R]] = field(default_factory=list)
    refused: dict[int, RecordOutcome] = field(default_factory=dict)


def _raw_key(raw: RawRecord, key_field: str) -> str | None:
    value = raw.get(key_field)
    return value if isinstance(value, str) else None


def records_parse[M: RecordIn](
    records: Sequence[RawRecord], model: type[M], *, key_field: str = "external_id"
) -> ParsedRecords[M]:
    """Validate each record on its own. More than ``MAX_RECORDS`` records refuse the whole call (413)."""
    if len(records) > MAX_RECORDS:
        raise TooManyRecordsError(
            _("At most %(max)s records a call; this one had %(count)s. Split them into several calls.")
            % {"max": f"{MAX_RECORDS:,}", "count": f"{len(records):,}"},
            field="records",
        )
    parsed: ParsedRecords[M] = ParsedRecords()
    for index, raw in enumerate(records):
        try:
            parsed.valid.append((index, model.model_validate(raw)))
        except pydantic.ValidationError as error:
            first = error.errors()[0]
            parsed.refused[index] = RecordOutcome.failed(
                _raw_key(raw, key_field),
                DomainError(validation_message(first), field=error_field(first["loc"]), code="invalid"),
            )
    return parsed


def bulk_apply[M: RecordIn, T](
    *,
    source: str,
    records: Sequence[RawRecord],
    model: type[M],
    to_domain: Callable[[M], T],
    apply: Callable[[list[T]], list[RecordOutcome]],
    key_field: str = "external_id",
) -> BulkOut:
    """Validate ``records`` one by one, hand the valid ones to one batch service, and report every record in order."""
    parsed = records_parse(records, model, key_field=key_field)
    applied = apply([to_domain(record) for _index, record in parsed.valid]) if parsed.valid else []
    outcomes = dict(parsed.refused)
    outcomes.update((index, outcome) for (index, _record), outcome in zip(parsed.valid, applied, strict=True))
    ordered = [outcomes[index] for index in range(len(records))]
    return BulkOut(
        source=source,
        counts=outcome_counts(ordered),
        results=[
            RecordResultOut(
                index=index,
                external_id=outcome.key,
                outcome=outcome.outcome,
                id=outcome.id,
                error=_record_error(outcome.error),
            )
            for index, outcome in enumerate(ordered)
        ],
    )


def _record_error(error: DomainError | None) -> RecordErrorOut | None:
    return RecordErrorOut(code=error.code, message=error.message, field=error.field) if error is not None else None


# --- Pages ---------------------------------------------------------------------------------------------------------


class PageQuery(PlainIn):
    limit: int = Field(100, ge=1, le=500, description="Items per page (at most 500).")
    offset: int = Field(0, ge=0, le=10_000_000, description="Items to skip; use `next_offset` of the previous page.")


class Page[T](Schema):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")


def paginate[M: Model](queryset: QuerySet[M], *, page: PageQuery) -> dict[str, Any]:
    """One page, without a COUNT: one row more than asked tells whether another page follows."""
    rows = list(queryset[page.offset : page.offset + page.limit + 1])
    more = len(rows) > page.limit
    return {
        "items": rows[: page.limit],
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.offset + page.limit if more else None,
    }
