from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MARKETER = "marketer", _("Marketer")
    SALES_REP = "sales_rep", _("Sales rep")
    VIEWER = "viewer", _("Viewer")


class ApiScope(models.TextChoices):
    """What an API key may do. ``admin`` includes every scope and ``write`` includes ``ingest``."""

    INGEST = "ingest", _("Send events")
    READ = "read", _("Read data")
    WRITE = "write", _("Write data")
    ADMIN = "admin", _("Administer")


# The scopes each scope includes besides itself.
SCOPE_INCLUDES: dict[str, frozenset[str]] = {
    ApiScope.ADMIN: frozenset(ApiScope.values),
    ApiScope.WRITE: frozenset({ApiScope.INGEST}),
}


def scopes_grant(*, held: list[str], needed: ApiScope) -> bool:
    """Whether a key holding ``held`` may do what needs ``needed``."""
    return any(scope == needed or needed in SCOPE_INCLUDES.get(scope, frozenset()) for scope in held)
