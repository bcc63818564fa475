"""Inputs and outputs of the customers services, passed between apps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class CompanyIn:
    name: str
    name_kana: str = ""
    code: str = ""
    industry: str = ""
    size: str = ""
    prefecture: str = ""
    postal_code: str = ""
    address: str = ""
    phone: str = ""
    fax: str = ""
    rank: str = ""
    approval_status: str = "approved"
    price_rate: Decimal | None = None
    assigned_rep_id: int | None = None
    price_group_id: int | None = None
    agency_id: int | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContactIn:
    name: str
    company_id: int | None = None
    name_kana: str = ""
    email: str = ""
    phone: str = ""
    department: str = ""
    title: str = ""
    birthday: dt.date | None = None
    prefecture: str = ""
    line_user_id: str | None = None
    is_primary: bool = False
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompanyRecordIn:
    """A company as an outside system sends it. ``keep`` names the fields it left out: a stored company keeps them.

    ``tags`` are the names of the company's tags, exactly; ``None`` (the sender left them out) leaves them as they are.
    """

    external_id: str
    data: CompanyIn
    keep: frozenset[str] = frozenset()
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ContactRecordIn:
    """A contact as an outside system sends it, its company named by that system's id (``None``: no company)."""

    external_id: str
    data: ContactIn
    company_external_id: str | None = None
    keep: frozenset[str] = frozenset()
