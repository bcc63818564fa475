from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductStatus(models.TextChoices):
    ACTIVE = "active", _("On sale")
    HIDDEN = "hidden", _("Hidden")
    DISCONTINUED = "discontinued", _("Discontinued")
