"""API: send a transactional mail (order confirmation, shipping notice, ...) to one contact through the outbox."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from tokui.accounts.api_auth import ApiKeyAuth
from tokui.accounts.api_contract import WRITE_ERRORS
from tokui.accounts.enums import ApiScope
from tokui.core.errors import DomainError
from tokui.customers.selectors import contact_get
from tokui.messaging.delivery import message_send_transactional
from tokui.messaging.selectors import mail_template_get

router = Router(tags=["mail"])


class TransactionalMailIn(Schema):
    template_id: int = Field(description="The mail template (its current version is sent)")
    contact_id: int = Field(description="Tokui's id of the recipient")
    idempotency_key: str = Field(
        min_length=1, max_length=150, description="Your unique key for this mail, e.g. `order-1234-confirmation`"
    )
    data: dict[str, Any] = Field(default_factory=dict, description='Extra values, e.g. `{"coupon_code": "X"}`')


class TransactionalMailOut(Schema):
    outbox_id: int
    message_id: str = Field(description="The Message-ID header the mail carries")
    status: str
    created: bool = Field(description="False when the idempotency key was used before (nothing new is sent)")


@router.post(
    "/mail/transactional", response={200: TransactionalMailOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.WRITE)
)
def mail_transactional(request: HttpRequest, payload: TransactionalMailIn) -> dict[str, Any]:
    """Queue one mail to one contact; it is delivered within seconds. The same `idempotency_key` twice sends one
    mail. Needs the `write` scope."""
    template = mail_template_get(template_id=payload.template_id)
    if template is None or template.current_version is None:
        raise DomainError(_("No mail template with this id has saved content."), field="template_id")
    contact = contact_get(contact_id=payload.contact_id)
    if contact is None:
        raise DomainError(_("No contact with this id."), field="contact_id")
    message, created = message_send_transactional(
        template_version=template.current_version,
        contact=contact,
        idempotency_key=payload.idempotency_key,
        data=payload.data,
    )
    message.refresh_from_db()
    return {"outbox_id": message.pk, "message_id": message.message_id, "status": message.status, "created": created}
