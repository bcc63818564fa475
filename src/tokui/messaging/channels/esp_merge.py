"""How each ESP's batch API merges per-recipient values into one body: the placeholders Tokui writes (ADR 32).

With django-anymail's ``merge_data`` one API call carries a body with placeholders and, for each recipient, the
values to put in; the ESP sends each recipient their own message. The placeholder syntax is the ESP's:
Mailgun substitutes ``%recipient.NAME%`` from its recipient variables; SendGrid's substitutions replace any key
given, so Tokui names them ``-tokui-NAME-`` (anymail's ``merge_field_format``). Both put the value in as it is,
without escaping, which is what the fields need (they are HTML already). Backends not listed here (Postmark and
Amazon SES need a template stored at the ESP for batches) get one call per mail as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class MergeSyntax:
    name: str
    # ``pattern.format(field name)`` is the placeholder in the body and subject.
    pattern: str
    # Fixed text containing this would be read as (or next to) a placeholder: such a version goes one call a mail.
    reserved: str
    max_recipients: int = 1000
    # A recipient whose fields take more bytes than this goes alone (SendGrid: 10,000 bytes of substitutions).
    max_field_bytes: int | None = None
    esp_extra: Mapping[str, Any] = field(default_factory=dict)

    def placeholder(self, name: str) -> str:
        return self.pattern.format(name)

    def takes(self, fields: Mapping[str, str]) -> bool:
        if self.max_field_bytes is None:
            return True
        size = sum(len(key) + len(value.encode()) for key, value in fields.items())
        return size <= self.max_field_bytes


class MergeSyntaxRegistry:
    def __init__(self) -> None:
        self._syntaxes: dict[str, MergeSyntax] = {}

    def register(self, backend: str, syntax: MergeSyntax) -> None:
        self._syntaxes[backend] = syntax

    def for_backend(self, backend: str) -> MergeSyntax | None:
        return self._syntaxes.get(backend)


merge_syntaxes = MergeSyntaxRegistry()
merge_syntaxes.register(
    "anymail.backends.mailgun.EmailBackend",
    MergeSyntax(name="mailgun", pattern="%recipient.{}%", reserved="%recipient."),
)
merge_syntaxes.register(
    "anymail.backends.sendgrid.EmailBackend",
    MergeSyntax(
        name="sendgrid",
        pattern="-tokui-{}-",
        reserved="-tokui-",
        max_field_bytes=10_000,
        esp_extra={"merge_field_format": "-tokui-{}-"},
    ),
)
