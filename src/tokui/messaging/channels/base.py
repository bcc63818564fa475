"""What every mail channel takes and answers, and the registry the delivery picks a channel from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tokui.messaging.enums import AttemptOutcome


class MergeParts(Protocol):
    """A version's parts as fixed text with fields (``rendering.merge.MergeMail``), for an ESP's batch call."""

    @property
    def key(self) -> int: ...

    def literal_text(self) -> str: ...

    def fixed_parts(self, placeholder: Callable[[str], str], *, key: Any) -> tuple[str, str, str]: ...

    def merged(self, fields: dict[str, str]) -> tuple[str, str, str]: ...


@dataclass(slots=True)
class Envelope:
    """One finished mail for one recipient. ``raw`` is the whole RFC 5322 message (SMTP); the parts are for ESPs."""

    outbox_id: int
    mail_from: str
    to: str
    raw: bytes
    # ``raw`` has CRLF line ends only (Tokui's own MIME assembly guarantees it): SMTP need not check every byte.
    crlf_only: bool = False
    # Also from Tokui's assembly (``rendering.mime.AssembledMail``): a part of ``raw`` is 8bit (MAIL FROM must say
    # BODY=8BITMIME), no line of ``raw`` starts with a dot (DATA has nothing to stuff), and ``seven_bit`` builds the
    # same mail with every part in base64, for a server that does not offer 8BITMIME.
    eight_bit: bool = False
    dot_free: bool = False
    seven_bit: Callable[[], bytes] | None = None
    subject: str = ""
    html: str = ""
    text: str = ""
    from_header: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # For an ESP that merges: the version's parts with fields, and this recipient's fields (subject, html and text
    # are then left empty: ``merge.merged(merge_fields)`` gives them).
    merge: MergeParts | None = None
    merge_fields: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    outbox_id: int
    outcome: AttemptOutcome
    code: int | None = None
    response: str = ""


class MailChannel(Protocol):
    name: str

    @property
    def merges(self) -> bool:
        """Whether ``hand_over`` renders each mail's fields for the channel to merge (ADR 32) instead of whole
        mails."""
        ...

    @property
    def hand_over_slice(self) -> int:
        """How many mails ``hand_over`` renders before handing them over in one ``send_many``."""
        ...

    def send_many(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        """Hand every envelope over, reusing one connection; one result per envelope, in order."""
        ...

    def close(self) -> None: ...


class MailChannelRegistry:
    def __init__(self) -> None:
        self._factories: dict[str, Callable[[], MailChannel]] = {}

    def register(self, name: str) -> Callable[[Callable[[], MailChannel]], Callable[[], MailChannel]]:
        def decorator(factory: Callable[[], MailChannel]) -> Callable[[], MailChannel]:
            self._factories[name] = factory
            return factory

        return decorator

    def open(self, name: str) -> MailChannel:
        try:
            return self._factories[name]()
        except KeyError:
            raise LookupError(f"no mail channel named {name!r}; set TOKUI_MAIL_CHANNEL to smtp or esp") from None


mail_channels = MailChannelRegistry()


def outcome_of_code(code: int) -> AttemptOutcome:
    """An SMTP reply: 2xx accepted, 4xx try again later, 5xx refused for good."""
    if 200 <= code < 300:
        return AttemptOutcome.SENT
    if 400 <= code < 500:
        return AttemptOutcome.TEMPORARY
    return AttemptOutcome.PERMANENT
