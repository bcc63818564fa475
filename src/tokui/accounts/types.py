"""Types other apps may receive from accounts."""

from __future__ import annotations

from dataclasses import dataclass

from tokui.accounts.enums import ApiScope, Role
from tokui.accounts.models import ApiKey

__all__ = ["ApiScope", "CreatedApiKey", "Role"]


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """A key just created: ``token`` is the full key, shown to its creator once and never stored."""

    key: ApiKey
    token: str
