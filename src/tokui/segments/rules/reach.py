"""Whether a customer can be reached: mail consent (and, once messaging keeps one, not on the suppression list) and
LINE linked and still following."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import model_validator

from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.models import Consent, Contact
from tokui.segments.enums import Subject, ValueKind
from tokui.segments.rules.base import ConditionConfig, ConditionType, RuleContext, condition_types, options

YES_NO = {"is_true": gettext_lazy("yes"), "is_false": gettext_lazy("no")}
SECTION = gettext_lazy("Mails and reachability")


def suppressed_contacts() -> Any | None:
    """Contacts mail must not go to (bounced, complained, unsubscribed everywhere), as a lazy id query.

    The hook for messaging's suppression list, which does not exist yet: until it does, consent alone decides.
    When it lands, return its contact ids here and every segment using "can receive mail" follows.
    """
    return None


def mail_reachable_contacts() -> Q:
    q = ~Q(email="") & Q(
        Exists(Consent.objects.filter(contact_id=OuterRef("pk"), channel=Channel.EMAIL, status=ConsentStatus.GRANTED))
    )
    suppressed = suppressed_contacts()
    if suppressed is not None:
        q &= ~Q(pk__in=suppressed)
    return q


def line_linked_contacts() -> Q:
    withdrawn = Consent.objects.filter(contact_id=OuterRef("pk"), channel=Channel.LINE, status=ConsentStatus.WITHDRAWN)
    return Q(line_user_id__isnull=False) & ~Q(line_user_id="") & ~Q(Exists(withdrawn))


class YesNoConfig(ConditionConfig):
    op: str = "is_true"

    @model_validator(mode="after")
    def _valid(self) -> YesNoConfig:
        if self.op not in YES_NO:
            raise ValueError(_("“%(op)s” is not an operator for this field. Choose one of the list.") % {"op": self.op})
        return self


class _ReachCondition(ConditionType[YesNoConfig]):
    section = SECTION
    config_model = YesNoConfig
    value_kind = ValueKind.BOOLEAN
    operators = YES_NO
    inputs = [{"type": "select", "name": "op", "options": options(YES_NO)}]
    defaults = {"op": "is_true"}

    def contacts(self) -> Q:
        raise NotImplementedError

    def compile(self, config: YesNoConfig, ctx: RuleContext) -> Q:
        if ctx.subject == Subject.CONTACT:
            q = Q(Exists(Contact.objects.filter(self.contacts(), pk=OuterRef("pk"))))
        else:  # a company is reachable through any of its contacts
            q = Q(Exists(Contact.objects.filter(self.contacts(), company_id=OuterRef("pk"))))
        return q if config.op == "is_true" else ~q


@condition_types.register("mail_reachable")
class MailReachableCondition(_ReachCondition):
    label = gettext_lazy("Can receive mail")

    def contacts(self) -> Q:
        return mail_reachable_contacts()

    def describe(self, config: YesNoConfig) -> str:
        return _("can receive mail (consented)") if config.op == "is_true" else _("cannot receive mail")


@condition_types.register("line_linked")
class LineLinkedCondition(_ReachCondition):
    label = gettext_lazy("LINE linked and following")

    def contacts(self) -> Q:
        return line_linked_contacts()

    def describe(self, config: YesNoConfig) -> str:
        return _("is linked with LINE and following") if config.op == "is_true" else _("is not reachable on LINE")
