"""Liquid filters for Japanese mail: ``yen`` (¥1,234 → 1,234円) and ``date_ja`` (2026年4月1日)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from liquid import is_undefined

_WEEKDAYS = "月火水木金土日"


def yen(value: Any) -> str:
    """``4900`` → ``4,900円``. Money is whole yen; anything that is not a number renders as nothing."""
    if type(value) is int:  # the usual case (prices are whole yen), without a Decimal round trip
        return f"{value:,}円"
    if is_undefined(value) or value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    return f"{amount.quantize(Decimal(1)):,}円"


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return _as_date(parsed)
    return None


def date_ja(value: Any, style: str = "long") -> str:
    """``2026-04-01`` → ``2026年4月1日``; style ``short`` → ``4月1日``, ``weekday`` → ``2026年4月1日(水)``."""
    if is_undefined(value):
        return ""
    day = _as_date(value)
    if day is None:
        return ""
    if style == "short":
        return f"{day.month}月{day.day}日"
    text = f"{day.year}年{day.month}月{day.day}日"
    if style == "weekday":
        text += f"({_WEEKDAYS[day.weekday()]})"
    return text
