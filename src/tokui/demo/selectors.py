from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from django.db.models import QuerySet

from tokui.demo.models import CaughtMail


def caught_mail() -> QuerySet[CaughtMail]:
    return CaughtMail.objects.defer("raw")


@dataclass(frozen=True, slots=True)
class ParsedMail:
    mail: CaughtMail
    from_header: str
    to_header: str
    subject: str
    date: str
    text: str
    html: str
    headers: list[tuple[str, str]]


def caught_mail_parsed(*, mail_id: int) -> ParsedMail | None:
    mail = CaughtMail.objects.filter(pk=mail_id).first()
    if mail is None:
        return None
    message = BytesParser(policy=policy.default).parsebytes(bytes(mail.raw))
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return ParsedMail(
        mail=mail,
        from_header=str(message.get("From", "")),
        to_header=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        date=str(message.get("Date", "")),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else "",
        headers=[(key, str(value)) for key, value in message.items()],
    )
