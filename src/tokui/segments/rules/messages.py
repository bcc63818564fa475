"""Conditions on mails: received, opened or clicked (any mail, or of a template or campaign) in a period.

They read the mail facts on the timeline, whatever sends the mail: ``mail_sent`` / ``mail_opened`` / ``mail_clicked``
with ``template_id`` / ``campaign_id`` in their properties (the keys the mail app writes).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import model_validator

from tokui.segments.enums import PeriodKind, ValueKind
from tokui.segments.rules.activity import DID_OPERATORS, event_text, operator_check
from tokui.segments.rules.base import ConditionConfig, ConditionType, RuleContext, condition_types, options
from tokui.segments.rules.values import Period
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event

MAIL_ACTIONS = {
    EventType.MAIL_SENT.value: gettext_lazy("received"),
    EventType.MAIL_OPENED.value: gettext_lazy("opened"),
    EventType.MAIL_CLICKED.value: gettext_lazy("clicked"),
}


class MessageConfig(ConditionConfig):
    op: str = "did"
    action: str = EventType.MAIL_OPENED.value
    template_id: str = ""
    campaign_id: str = ""
    period: Period = Period(kind=PeriodKind.LAST_DAYS, days=30)

    @model_validator(mode="after")
    def _valid(self) -> MessageConfig:
        operator_check(self.op, DID_OPERATORS)
        operator_check(self.action, MAIL_ACTIONS)
        return self


@condition_types.register("message")
class MessageCondition(ConditionType[MessageConfig]):
    """Received, opened or clicked a mail (any, or of a template / campaign) in a period.

    Reads the mail facts on the timeline (``mail_sent`` / ``mail_opened`` / ``mail_clicked``) and their
    ``template_id`` / ``campaign_id`` properties, so it works with whatever sends the mail.
    """

    label = gettext_lazy("Mails")
    section = gettext_lazy("Mails and reachability")
    config_model = MessageConfig
    value_kind = ValueKind.TEXT
    operators = DID_OPERATORS
    inputs = [
        {"type": "period", "name": "period"},
        {"type": "text", "name": "template_id", "label": gettext_lazy("template id (empty: any)")},
        {"type": "text", "name": "campaign_id", "label": gettext_lazy("campaign id (empty: any)")},
        {"type": "select", "name": "action", "options": options(MAIL_ACTIONS)},
        {"type": "select", "name": "op", "options": options(DID_OPERATORS)},
    ]
    defaults = {"op": "did", "action": "mail_opened", "period": {"kind": "last_days", "days": 30}}

    def compile(self, config: MessageConfig, ctx: RuleContext) -> Q:
        # The stated IS NOT NULL lets PostgreSQL use the partial index of known customers' mail facts (a join
        # clause does not imply it), and with it an anti-join reads the index alone.
        events = Event.objects.filter(
            config.period.q("occurred_at", ctx),
            type=config.action,
            **{f"{ctx.customer_field}__isnull": False, ctx.customer_field: OuterRef("pk")},
        )
        if config.template_id:
            events = events.alias(_template=event_text("template_id")).filter(_template=config.template_id)
        if config.campaign_id:
            events = events.alias(_campaign=event_text("campaign_id")).filter(_campaign=config.campaign_id)
        q = Q(Exists(events))
        return q if config.op == "did" else ~q

    def describe(self, config: MessageConfig) -> str:
        which = _("a mail")
        if config.template_id:
            which = _("a mail of template %(id)s") % {"id": config.template_id}
        if config.campaign_id:
            which = _("a mail of campaign %(id)s") % {"id": config.campaign_id}
        verb = MAIL_ACTIONS[config.action]
        if config.op == "did":
            text = _("%(period)s %(verb)s %(which)s") % {
                "period": config.period.describe(),
                "verb": verb,
                "which": which,
            }
            return " ".join(text.split())
        text = _("%(period)s never %(verb)s %(which)s") % {
            "period": config.period.describe(),
            "verb": verb,
            "which": which,
        }
        return " ".join(text.split())
