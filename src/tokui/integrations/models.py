from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tokui.integrations.enums import (
    ConnectorKind,
    ImportFileFormat,
    ImportObjectType,
    ImportPhase,
    ImportStatus,
    RowOutcome,
    SyncStatus,
    SyncTrigger,
)


class ImportJob(models.Model):
    """One uploaded CSV / Excel file and its way through mapping, dry run and import.

    Progress and counts live on this row and are updated in the same transaction as each batch of rows, so a
    worker that dies mid-file resumes after the last committed batch with counts that are still right.
    """

    object_type = models.CharField(_("type of data"), max_length=16, choices=ImportObjectType.choices)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    phase = models.CharField(_("phase"), max_length=16, choices=ImportPhase.choices, default=ImportPhase.DRY_RUN)
    source = models.CharField(
        _("source"), max_length=64, default="import", help_text=_("Records are matched by this name and their key")
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8, choices=ImportFileFormat.choices)
    file_size = models.BigIntegerField(_("file size"), default=0)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, blank=True)
    header = models.JSONField(_("header"), default=list)
    header_hash = models.CharField(_("layout"), max_length=64, db_index=True)
    sample_rows = models.JSONField(_("sample rows"), default=list)
    mapping = models.JSONField(_("column mapping"), default=list)
    mapping_remembered = models.BooleanField(_("mapping from an earlier import"), default=False)
    options = models.JSONField(_("options"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=8, default="ja")

    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created_count = models.PositiveIntegerField(_("new"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    dry_run_summary = models.JSONField(_("dry run result"), default=dict, blank=True)
    error_message = models.TextField(_("error"), blank=True)

    run_token = models.CharField(_("run token"), max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "created_at"])]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_object_type_display()})"

    @property
    def percent_done(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, int(self.rows_done * 100 / self.rows_total))


class ImportRowResult(models.Model):
    """What happened to one row. Unchanged rows are only counted; rejected rows keep their cells for the error file."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_results")
    phase = models.CharField(_("phase"), max_length=16, choices=ImportPhase.choices)
    row_number = models.PositiveIntegerField(_("row"))
    outcome = models.CharField(_("result"), max_length=16, choices=RowOutcome.choices)
    key = models.CharField(_("key"), max_length=128, blank=True)
    message = models.TextField(_("reason"), blank=True)
    values = models.JSONField(_("cells"), default=list, blank=True)

    class Meta:
        verbose_name = _("import row result")
        verbose_name_plural = _("import row results")
        ordering = ["row_number", "id"]
        indexes = [
            models.Index(fields=["job", "phase", "row_number"]),
            models.Index(fields=["job", "phase", "outcome", "row_number"]),
        ]

    def __str__(self) -> str:
        return f"{self.row_number}: {self.outcome}"


class ImportMapping(models.Model):
    """The column mapping last used for a file layout (the hash of its normalised header row) and object type."""

    object_type = models.CharField(_("type of data"), max_length=16, choices=ImportObjectType.choices)
    header_hash = models.CharField(_("layout"), max_length=64)
    header = models.JSONField(_("header"), default=list)
    mapping = models.JSONField(_("column mapping"), default=list)
    options = models.JSONField(_("options"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("remembered column mapping")
        verbose_name_plural = _("remembered column mappings")
        constraints = [
            models.UniqueConstraint(fields=["object_type", "header_hash"], name="import_mapping_per_layout"),
        ]

    def __str__(self) -> str:
        return f"{self.get_object_type_display()}: {', '.join(map(str, self.header[:4]))}"


class Connection(models.Model):
    """One configured cart or order system (連携): where to reach it, its credentials and its sync schedule.

    Credentials are kept encrypted (``integrations.credentials``); ``config`` holds what is not secret. Records
    pulled through a connection are stored under its ``source`` name, so their external ids never clash with another
    shop's or with an import's.
    """

    kind = models.CharField(_("system"), max_length=16, choices=ConnectorKind.choices)
    name = models.CharField(_("name"), max_length=100)
    source = models.CharField(_("source name"), max_length=64, unique=True)
    config = models.JSONField(_("settings"), default=dict, blank=True)
    encrypted_credentials = models.TextField(blank=True)
    webhook_token = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(_("sync automatically"), default=True)
    sync_interval_minutes = models.PositiveIntegerField(_("sync every (minutes)"), default=15)

    sync_cursor = models.DateTimeField(_("changes pulled up to"), null=True, blank=True)
    next_sync_at = models.DateTimeField(_("next sync"), null=True, blank=True, db_index=True)
    last_tested_at = models.DateTimeField(_("last tested"), null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.TextField(blank=True)
    last_webhook_at = models.DateTimeField(_("last webhook"), null=True, blank=True)
    webhooks_received = models.PositiveBigIntegerField(_("webhooks received"), default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class SyncRun(models.Model):
    """One sync of a connection (the sync log): when, why, what it did and what went wrong."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(_("started by"), max_length=16, choices=SyncTrigger.choices)
    status = models.CharField(_("status"), max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    updated_since = models.DateTimeField(_("changes since"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.JSONField(_("record errors"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    message = models.TextField(_("message"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.connection} {self.created_at:%Y-%m-%d %H:%M} {self.status}"


class WebhookReceipt(models.Model):
    """A webhook event id already applied, per connection: deliveries arrive more than once and are applied once."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=128)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "event_id"], name="webhook_receipt_once"),
        ]
