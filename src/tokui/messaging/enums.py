from django.db import models
from django.utils.translation import gettext_lazy as _


class MailLinkKind(models.TextChoices):
    CLICK = "c", _("Click")
    OPEN = "o", _("Open")
