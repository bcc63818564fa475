"""Money is a Decimal with a currency (JPY by default, 0 decimals); never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models

# ISO 4217 minor units of the currencies Tokui is expected to meet; anything else keeps 2 decimals.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "TWD": 0, "USD": 2, "EUR": 2, "CNY": 2, "HKD": 2}
MAX_DIGITS = 14
DECIMAL_PLACES = 2


def default_currency() -> str:
    return str(settings.DEFAULT_CURRENCY)


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str = "JPY"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")

    def formatted(self) -> str:
        return format_money(self.amount, self.currency)


def format_money(amount: Decimal | int | None, currency: str = "JPY") -> str:
    if amount is None:
        return "-"
    value = quantize(Decimal(amount), currency)
    places = minor_units(currency)
    number = f"{value:,.{places}f}"
    return f"¥{number}" if currency.upper() == "JPY" else f"{number} {currency.upper()}"


class MoneyField(models.DecimalField):  # type: ignore[type-arg]
    """A Decimal column sized for money; the currency lives in a sibling ``currency`` column."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


class CurrencyField(models.CharField):  # type: ignore[type-arg]
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("default", "JPY")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
