"""Domain errors carry a stable code, a translated message that says what to do, and the offending field."""

from __future__ import annotations

from django.utils.functional import Promise


class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str | Promise, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotAllowedError(DomainError):
    code = "not_allowed"


class ProtectedRecordError(DomainError):
    code = "protected"
