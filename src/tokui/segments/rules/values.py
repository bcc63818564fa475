"""Operators over one value (text, number, date, choice, yes/no) and time periods, shared by the conditions.

Each operator has one meaning in SQL and in Python (``scalar_matches``), so a customer without a value is treated
the same by the compiler and by the plain-Python evaluation the property tests compare it with:
negative operators (≠, does not contain, not one of) match an empty value; comparisons and date operators do not.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import field_validator, model_validator

from tokui.core.time import start_of_local_day
from tokui.segments.enums import PeriodKind, ValueKind
from tokui.segments.rules.base import ConditionConfig, RuleContext

TEXT_OPERATORS = {
    "eq": gettext_lazy("is"),
    "neq": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "starts_with": gettext_lazy("starts with"),
    "empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"),
}
NUMBER_OPERATORS = {
    "eq": "=",
    "neq": "≠",
    "gte": "≥",
    "gt": ">",
    "lte": "≤",
    "lt": "<",
    "between": gettext_lazy("between"),
    "empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"),
}
DATE_OPERATORS = {
    "within_last_days": gettext_lazy("within the last N days"),
    "not_within_last_days": gettext_lazy("more than N days ago"),
    "within_next_days": gettext_lazy("within the next N days"),
    "on": gettext_lazy("on"),
    "before": gettext_lazy("before"),
    "after": gettext_lazy("after"),
    "between": gettext_lazy("between"),
    "empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"),
}
CHOICE_OPERATORS = {
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"),
}
BOOLEAN_OPERATORS = {"is_true": gettext_lazy("yes"), "is_false": gettext_lazy("no")}

OPERATORS_BY_KIND: dict[str, dict[str, Any]] = {
    ValueKind.TEXT: TEXT_OPERATORS,
    ValueKind.NUMBER: NUMBER_OPERATORS,
    ValueKind.DATE: DATE_OPERATORS,
    ValueKind.CHOICE: CHOICE_OPERATORS,
    ValueKind.BOOLEAN: BOOLEAN_OPERATORS,
}
NO_VALUE_OPERATORS = frozenset({"empty", "not_empty", "is_true", "is_false"})
DAY_OPERATORS = frozenset({"within_last_days", "not_within_last_days", "within_next_days"})


def value_clean(kind: str, op: str, value: Any, *, choices: list[str] | None = None) -> Any:
    """The value of ``op`` in canonical JSON form, or ``ValueError`` with a Japanese message saying what to enter."""
    operators = OPERATORS_BY_KIND[kind]
    if op not in operators:
        raise ValueError(_("“%(op)s” is not an operator for this field. Choose one of the list.") % {"op": op})
    if op in NO_VALUE_OPERATORS:
        return None
    if op in DAY_OPERATORS:
        return _days(value)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(_("Enter both ends of the range."))
        low, high = (_one(kind, item) for item in value)
        if low > high:
            raise ValueError(_("The start of the range must not be after its end."))
        return [_json(low), _json(high)]
    if op in ("in", "not_in"):
        items = value if isinstance(value, list) else [value]
        items = [str(item) for item in items if str(item) != ""]
        if not items:
            raise ValueError(_("Choose at least one value."))
        if choices is not None and (unknown := [item for item in items if item not in choices]):
            raise ValueError(_("“%(value)s” is not one of the choices.") % {"value": unknown[0]})
        return items
    return _json(_one(kind, value))


def _days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValueError(_("Enter a whole number of days, 1 or more.")) from None
    if not 1 <= days <= 36500:
        raise ValueError(_("Enter a whole number of days, 1 or more."))
    return days


def _one(kind: str, value: Any) -> Any:
    if kind == ValueKind.NUMBER:
        try:
            number = Decimal(str(value).replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return number
    if kind == ValueKind.DATE:
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(_("Enter a date such as 2026-04-01.")) from None
    text = "" if value is None else str(value)
    if not text.strip():
        raise ValueError(_("Enter a value."))
    return text


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _typed(kind: str, value: Any) -> Any:
    if kind == ValueKind.NUMBER:
        return Decimal(str(value))
    if kind == ValueKind.DATE:
        return dt.date.fromisoformat(value)
    return value


def _day_window(op: str, days: int, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """Inclusive day bounds of a relative operator: the last N days are today and the N-1 days before it."""
    if op == "within_last_days":
        return today - dt.timedelta(days=days - 1), today
    if op == "within_next_days":
        return today, today + dt.timedelta(days=days - 1)
    return None, today - dt.timedelta(days=days)  # not_within_last_days: on or before the day N days ago


def scalar_q(
    field: str, kind: str, op: str, value: Any, *, today: dt.date, date_as_text: bool = False, blank: bool = True
) -> Q:
    """``op`` on ``field`` as a ``Q`` that is never NULL (so NOT of it is exact). ``date_as_text``: ISO strings;
    ``blank``: an empty string is an empty value (not for a choice stored as a foreign key)."""
    if op == "empty":
        if kind in ("text", "choice") and blank:
            return Q(**{f"{field}__isnull": True}) | Q(**{field: ""})
        return Q(**{f"{field}__isnull": True})
    if op == "not_empty":
        return ~scalar_q(field, kind, "empty", None, today=today, blank=blank)
    if op == "is_true":
        return Q(**{field: True})
    if op == "is_false":
        return Q(**{f"{field}__isnull": True}) | ~Q(**{field: True})
    negative = {"neq": "eq", "not_contains": "contains", "not_in": "in"}
    if op in negative:
        return Q(**{f"{field}__isnull": True}) | ~(
            Q(**{f"{field}__isnull": False}) & scalar_q(field, kind, negative[op], value, today=today)
        )

    def bound(day: dt.date) -> Any:
        return day.isoformat() if date_as_text else day

    present = Q(**{f"{field}__isnull": False})
    if op in DAY_OPERATORS:
        low, high = _day_window(op, value, today)
        q = present
        if low is not None:
            q &= Q(**{f"{field}__gte": bound(low)})
        if high is not None:
            q &= Q(**{f"{field}__lte": bound(high)})
        return q
    if op == "in":
        return present & Q(**{f"{field}__in": value})
    if op == "contains":
        return present & Q(**{f"{field}__icontains": value})
    if op == "starts_with":
        return present & Q(**{f"{field}__istartswith": value})
    if op == "between":
        low, high = (_typed(kind, item) for item in value)
        if kind == ValueKind.DATE and date_as_text:
            low, high = low.isoformat(), high.isoformat()
        return present & Q(**{f"{field}__gte": low, f"{field}__lte": high})
    typed = _typed(kind, value)
    if kind == ValueKind.DATE and date_as_text:
        typed = typed.isoformat()
    lookup = {"eq": "exact", "on": "exact", "gt": "gt", "after": "gt", "gte": "gte", "lt": "lt", "before": "lt"}.get(
        op, "lte"
    )
    return present & Q(**{f"{field}__{lookup}": typed})


def scalar_matches(kind: str, op: str, value: Any, actual: Any, *, today: dt.date) -> bool:
    """``op`` in Python, with the meaning ``scalar_q`` gives it in SQL (used for defaults and by the tests)."""
    is_empty = actual is None or (kind in ("text", "choice") and actual == "")
    if op == "empty":
        return is_empty
    if op == "not_empty":
        return not is_empty
    if op == "is_true":
        return actual is True
    if op == "is_false":
        return actual is not True
    negative = {"neq": "eq", "not_contains": "contains", "not_in": "in"}
    if op in negative:
        return actual is None or not scalar_matches(kind, negative[op], value, actual, today=today)
    if actual is None:
        return False
    if kind == ValueKind.DATE and isinstance(actual, str):
        actual = dt.date.fromisoformat(actual)
    if kind == ValueKind.NUMBER:
        actual = Decimal(str(actual))
    if op in DAY_OPERATORS:
        low, high = _day_window(op, value, today)
        return (low is None or actual >= low) and (high is None or actual <= high)
    if op == "in":
        return str(actual) in value
    if op == "contains":
        return str(value).lower() in str(actual).lower()
    if op == "starts_with":
        return str(actual).lower().startswith(str(value).lower())
    if op == "between":
        low, high = (_typed(kind, item) for item in value)
        return bool(low <= actual <= high)
    typed = _typed(kind, value)
    return bool(
        {
            "eq": actual == typed,
            "on": actual == typed,
            "gt": actual > typed,
            "after": actual > typed,
            "gte": actual >= typed,
            "lt": actual < typed,
            "before": actual < typed,
            "lte": actual <= typed,
        }[op]
    )


def scalar_describe(kind: str, op: str, value: Any, *, labels: dict[str, str] | None = None) -> str:
    """「が東京都、大阪府のいずれか」-style Japanese fragment for an operator and its value."""
    shown = value
    if isinstance(value, list):
        shown = "、".join((labels or {}).get(str(item), str(item)) for item in value)
    elif labels and value is not None:
        shown = labels.get(str(value), str(value))
    phrases = {
        "eq": _("is %(value)s"),
        "neq": _("is not %(value)s"),
        "contains": _("contains “%(value)s”"),
        "not_contains": _("does not contain “%(value)s”"),
        "starts_with": _("starts with “%(value)s”"),
        "empty": _("is empty"),
        "not_empty": _("is not empty"),
        "gt": _("is more than %(value)s"),
        "gte": _("is %(value)s or more"),
        "lt": _("is less than %(value)s"),
        "lte": _("is %(value)s or less"),
        "between": _("is between %(value)s"),
        "within_last_days": _("is within the last %(value)s days"),
        "not_within_last_days": _("is more than %(value)s days ago"),
        "within_next_days": _("is within the next %(value)s days"),
        "on": _("is %(value)s"),
        "before": _("is before %(value)s"),
        "after": _("is after %(value)s"),
        "in": _("is one of %(value)s"),
        "not_in": _("is none of %(value)s"),
        "is_true": _("is yes"),
        "is_false": _("is no"),
    }
    if op == "between" and isinstance(value, list):
        shown = _("%(low)s to %(high)s") % {"low": value[0], "high": value[1]}
    return phrases[op] % {"value": shown}


# --- Periods: "in the last 30 days", "this week", ... in site-zone days -------------------------------------------


PERIOD_KINDS = {str(kind): kind.label for kind in PeriodKind}


class Period(ConditionConfig):
    kind: PeriodKind = PeriodKind.ANY_TIME
    days: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    @field_validator("days")
    @classmethod
    def _days_positive(cls, days: int | None) -> int | None:
        if days is not None and not 1 <= days <= 36500:
            raise ValueError(_("Enter a whole number of days, 1 or more."))
        return days

    @model_validator(mode="after")
    def _complete(self) -> Period:
        if self.kind == PeriodKind.LAST_DAYS and self.days is None:
            raise ValueError(_("Enter the number of days of the period."))
        if self.kind == PeriodKind.BETWEEN:
            if self.start is None or self.end is None:
                raise ValueError(_("Enter the first and the last day of the period."))
            if self.start > self.end:
                raise ValueError(_("The start of the range must not be after its end."))
        return self

    def window(self, ctx: RuleContext) -> tuple[dt.datetime | None, dt.datetime | None]:
        """``[start, end)`` as aware instants; ``None`` means open. Days are site-zone days."""
        today = ctx.today
        match self.kind:
            case PeriodKind.LAST_DAYS:
                return start_of_local_day(today - dt.timedelta(days=(self.days or 1) - 1)), None
            case PeriodKind.THIS_WEEK:
                return start_of_local_day(today - dt.timedelta(days=today.weekday())), None
            case PeriodKind.THIS_MONTH:
                return start_of_local_day(today.replace(day=1)), None
            case PeriodKind.BETWEEN:
                assert self.start is not None and self.end is not None
                return start_of_local_day(self.start), start_of_local_day(self.end + dt.timedelta(days=1))
        return None, None

    def q(self, field: str, ctx: RuleContext) -> Q:
        start, end = self.window(ctx)
        q = Q()
        if start is not None:
            q &= Q(**{f"{field}__gte": start})
        if end is not None:
            q &= Q(**{f"{field}__lt": end})
        return q

    def describe(self) -> str:
        match self.kind:
            case PeriodKind.LAST_DAYS:
                return _("in the last %(days)s days") % {"days": self.days}
            case PeriodKind.THIS_WEEK:
                return _("this week")
            case PeriodKind.THIS_MONTH:
                return _("this month")
            case PeriodKind.BETWEEN:
                return _("from %(start)s to %(end)s") % {"start": self.start, "end": self.end}
        return ""
