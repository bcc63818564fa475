from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ImportObjectType(models.TextChoices):
    """What the rows of an import file are."""

    COMPANIES = "companies", _("Companies")
    CONTACTS = "contacts", _("Contacts")
    PRODUCTS = "products", pgettext_lazy("kind of data", "Products")
    ORDERS = "orders", _("Orders (one row per order line)")


class ImportFileFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (.xlsx)")


class ImportStatus(models.TextChoices):
    """The life of an import: upload → mapping → dry run → import."""

    MAPPING = "mapping", _("Waiting for the column mapping")
    CHECKING = "checking", _("Dry run in progress")
    CHECKED = "checked", _("Dry run finished")
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Importing")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# A job in one of these states has work in progress; its page polls for progress.
ACTIVE_STATUSES = (ImportStatus.CHECKING, ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportPhase(models.TextChoices):
    DRY_RUN = "dry_run", _("Dry run")
    IMPORT = "import", _("Import")


class RowOutcome(models.TextChoices):
    """What happened (or, in a dry run, would happen) to one row of the file."""

    CREATED = "created", pgettext_lazy("import row", "New")
    UPDATED = "updated", pgettext_lazy("import row", "Updated")
    UNCHANGED = "unchanged", pgettext_lazy("import row", "Unchanged")
    REJECTED = "rejected", pgettext_lazy("import row", "Rejected")


class ConnectorKind(models.TextChoices):
    """The cart and order systems Tokui pulls from (連携先)."""

    SHOPIFY = "shopify", _("Shopify")
    BCART = "bcart", _("B-Cart")
    ECCUBE = "eccube", _("EC-CUBE 4")


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Scheduled")
    MANUAL = "manual", _("Started by a user")
    FULL = "full", _("Full resync")
    WEBHOOK = "webhook", _("Webhook")


class SyncStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Done with errors")
    FAILED = "failed", _("Failed")
