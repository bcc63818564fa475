"""Turning the text people type into Excel into values: numbers, money, dates, prefectures, channels.

Each parser takes a non-empty cell and returns the value or raises :class:`ValueProblemError` with a message that says
what was expected. Codes, numbers, phones and dates are NFKC-normalised (full-width ＡＢＣ１２３ → ABC123); names
and addresses are not, because NFKC would replace variant kanji people write their names with.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from tokui.core.errors import DomainError
from tokui.core.time import site_zone
from tokui.customers.prefectures import JAPANESE_NAMES, Prefecture, prefecture_from_text
from tokui.integrations.importers.reading import CellValue, cell_text


class ValueProblemError(DomainError):
    code = "invalid_value"


def nfkc(value: CellValue) -> str:
    return unicodedata.normalize("NFKC", cell_text(value)).strip()


def text(value: CellValue) -> str:
    return cell_text(value).strip()


def code(value: CellValue) -> str:
    """An identifier (customer code, order number, SKU): NFKC, no surrounding spaces."""
    return nfkc(value)


_HALFWIDTH_KANA = re.compile(r"[\uff61-\uff9f]+")


def kana(value: CellValue) -> str:
    """Kana readings: half-width katakana (ｶﾌﾞｼｷｶﾞｲｼｬ) become full-width (カブシキガイシャ); the rest is kept."""
    return _HALFWIDTH_KANA.sub(lambda match: unicodedata.normalize("NFKC", match.group()), text(value))


_DASHES = str.maketrans({"ー": "-", "―": "-", "‐": "-", "−": "-", "–": "-", "—": "-", "ｰ": "-"})


def phone(value: CellValue) -> str:
    return nfkc(value).translate(_DASHES).replace(" ", "")


def postal_code(value: CellValue) -> str:
    """〒150-0001, １５００００１ and 150-0001 all become 150-0001."""
    cleaned = nfkc(value).translate(_DASHES).replace("〒", "").replace(" ", "")
    digits = cleaned.replace("-", "")
    if not (digits.isdigit() and len(digits) == 7):
        raise ValueProblemError(
            _("“%(value)s” is not a postal code; write 7 digits such as 150-0001.") % {"value": value}
        )
    return f"{digits[:3]}-{digits[3:]}"


def email(value: CellValue) -> str:
    address = nfkc(value)
    try:
        validate_email(address)
    except ValidationError as error:
        raise ValueProblemError(_("“%(value)s” is not an email address.") % {"value": address}) from error
    return address


def _number_text(value: CellValue) -> str:
    return (
        nfkc(value)
        .replace(",", "")
        .replace("¥", "")
        .replace("\\", "")
        .replace("円", "")
        .replace(" ", "")
        .translate(_DASHES)
    )


def integer(value: CellValue) -> int:
    if isinstance(value, bool):
        raise ValueProblemError(_("“%(value)s” is not a whole number.") % {"value": value})
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    cleaned = _number_text(value)
    for unit in ("個", "点", "枚", "着", "本", "pcs"):
        cleaned = cleaned.removesuffix(unit)
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueProblemError(_("“%(value)s” is not a whole number.") % {"value": cell_text(value)})
    return int(number)


def decimal(value: CellValue) -> Decimal:
    """Money and other decimals: ¥1,200, 1200円, １２００ and 1200.5 are read; never through float."""
    if isinstance(value, bool):
        raise ValueProblemError(_("“%(value)s” is not a number.") % {"value": value})
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Excel stores numbers as binary floats; its shortest repr is the number the user typed.
        return Decimal(repr(value))
    try:
        number = Decimal(_number_text(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValueProblemError(_("“%(value)s” is not a number.") % {"value": cell_text(value)})
    return number


def rate(value: CellValue) -> Decimal:
    """A wholesale rate (掛け率): 60%, 60, 0.6 and 6掛 all mean 0.600 of the list price."""
    raw = nfkc(value)
    if raw.endswith("掛"):
        number = decimal(raw.removesuffix("掛")) / 10
    elif raw.endswith("%"):
        number = decimal(raw.removesuffix("%")) / 100
    else:
        number = decimal(value)
        if number > 2:
            number = number / 100
    if not Decimal(0) < number <= Decimal(2):
        raise ValueProblemError(_("“%(value)s” is not a rate; write 60%% or 0.6 for 60 percent.") % {"value": raw})
    return number.quantize(Decimal("0.001"))


_TRUE = {"1", "true", "yes", "y", "はい", "○", "◯", "〇", "有", "あり", "済", "on"}
_FALSE = {"0", "false", "no", "n", "いいえ", "×", "無", "なし", "off", "-"}


def boolean(value: CellValue) -> bool:
    if isinstance(value, bool):
        return value
    cleaned = nfkc(value).casefold()
    if cleaned in _TRUE:
        return True
    if cleaned in _FALSE:
        return False
    raise ValueProblemError(
        _("“%(value)s” is not yes or no; write 1 or 0 (or はい / いいえ).") % {"value": cell_text(value)}
    )


# --- Dates ------------------------------------------------------------------------------------------------------

_ERAS = {"令和": 2018, "r": 2018, "平成": 1988, "h": 1988, "昭和": 1925, "s": 1925}
_ERA_DATE = re.compile(
    r"^(令和|平成|昭和|r|h|s)\s*(元|\d{1,2})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?"
    r"(?:\s+(\d{1,2})[:時](\d{1,2})(?:[:分](\d{1,2})秒?)?)?$"
)
_WESTERN_DATE = re.compile(
    r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?"
    r"(?:(?:\s+|t)(\d{1,2})[:時](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?秒?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# Excel stores a date as days since 1899-12-30 (its 1900 leap-year bug included).
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - a naive calendar reference, made local below


def _date_problem(value: CellValue) -> ValueProblemError:
    return ValueProblemError(
        _("“%(value)s” is not a date; write it as 2026/11/25, 2026-11-25 or 令和8年11月25日.")
        % {"value": cell_text(value)}
    )


def _naive_datetime(value: CellValue) -> dt.datetime:
    """The date (and time) a cell names, without a zone."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.min)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 19000101 <= value <= 29991231 and float(value).is_integer():
            return _naive_datetime(str(int(value)))
        if 1 <= value < 2958466:
            return _EXCEL_EPOCH + dt.timedelta(days=float(value))
        raise _date_problem(value)
    cleaned = nfkc(value).casefold()
    try:
        if match := _WESTERN_DATE.match(cleaned):
            year, month, day, hour, minute, second = match.groups()
        elif match := _ERA_DATE.match(cleaned):
            era, era_year, month, day, hour, minute, second = match.groups()
            year = str(_ERAS[era] + (1 if era_year == "元" else int(era_year)))
        elif match := _COMPACT_DATE.match(cleaned):
            year, month, day = match.groups()
            hour = minute = second = None
        else:
            raise _date_problem(value)
        return dt.datetime(  # noqa: DTZ001 - made aware in the site zone by the callers
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError as error:
        raise _date_problem(value) from error


def date(value: CellValue) -> dt.date:
    return _naive_datetime(value).date()


def local_datetime(value: CellValue) -> dt.datetime:
    """A date or date and time, in the site zone (an order on 2026/11/25 is on that day in Japan)."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(nfkc(value))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    naive = _naive_datetime(value)
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=site_zone())


# --- Choices ------------------------------------------------------------------------------------------------------


def prefecture(value: CellValue) -> str:
    found = prefecture_from_text(text(value))
    if found is None:
        raise ValueProblemError(
            _("“%(value)s” is not a prefecture; write it as 東京都 or 東京.") % {"value": text(value)}
        )
    return str(found.value)


def prefecture_of_address(address: str) -> str:
    """The prefecture an address starts with (東京都渋谷区… → 13), only when written out in full; else ''."""
    for code_value, name in JAPANESE_NAMES.items():
        if address.startswith(name):
            return str(Prefecture(code_value).value)
    return ""


_CHANNEL_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fax", ("fax", "ファックス", "ファクス", "ﾌｧｯｸｽ")),
    ("phone", ("電話", "tel", "phone", "でんわ")),
    ("sales_rep", ("営業", "訪問", "展示会", "外商", "sales", "rep")),
    ("pos", ("店舗", "店頭", "pos", "store", "shop")),
    ("web", ("web", "ウェブ", "ec", "ネット", "オンライン", "online", "カート", "bカート")),
)


def channel(value: CellValue) -> str:
    """FAX, ＦＡＸ注文, 電話, TEL, 営業, 営業担当, Web, EC, 店舗 … → the order channel."""
    cleaned = nfkc(value).casefold()
    for choice, words in _CHANNEL_WORDS:
        if any(word in cleaned for word in words):
            return choice
    raise ValueProblemError(
        _("“%(value)s” is not an order channel; write FAX, 電話, 営業, Web or 店舗.") % {"value": text(value)}
    )


_STATUS_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cancelled", ("キャンセル", "取消", "取り消し", "cancel")),
    ("refunded", ("返品", "返金", "refund")),
    ("delivered", ("納品済", "配達済", "完了", "delivered")),
    ("shipped", ("出荷", "発送", "shipped")),
    ("pending", ("受付", "仮", "保留", "pending", "received")),
    ("confirmed", ("確定", "受注", "confirmed")),
)


def order_status(value: CellValue) -> str:
    cleaned = nfkc(value).casefold()
    for choice, words in _STATUS_WORDS:
        if cleaned == choice or any(word in cleaned for word in words):
            return choice
    raise ValueProblemError(
        _("“%(value)s” is not an order status; write 受付, 確定, 出荷済, 納品済 or キャンセル.")
        % {"value": text(value)}
    )


def choice(choices: type[models.TextChoices]) -> Callable[[CellValue], str]:
    """A parser for a set of choices, matching the stored value or the label in Japanese or English."""

    def parse(value: CellValue) -> str:
        wanted = nfkc(value).casefold()
        for member in choices:
            names = {str(member.value).casefold()}
            for language in ("ja", "en"):
                with translation.override(language):
                    names.add(unicodedata.normalize("NFKC", str(member.label)).casefold())
            if wanted in names:
                return str(member.value)
        with translation.override("ja"):
            known = "、".join(str(member.label) for member in choices)
        raise ValueProblemError(_("“%(value)s” is not one of: %(choices)s.") % {"value": text(value), "choices": known})

    return parse
