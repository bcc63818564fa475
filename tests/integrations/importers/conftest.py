from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import UserFactory
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.integrations import services
from tokui.integrations.models import ImportJob

type Upload = Callable[..., ImportJob]


@pytest.fixture
def importer_user(db: None) -> User:
    return UserFactory(username="importer", role=Role.MARKETER)


@pytest.fixture
def upload(importer_user: User) -> Upload:
    """Upload a file (as the marketer unless ``user=`` says otherwise); returns the job waiting for its mapping."""

    def make(
        content: bytes,
        *,
        name: str = "data.csv",
        object_type: str = "companies",
        user: User | None = None,
        **kwargs: Any,
    ) -> ImportJob:
        return services.import_job_create(
            user=user or importer_user,
            upload=SimpleUploadedFile(name, content),
            object_type=object_type,
            **kwargs,
        )

    return make


def dry_run(job: ImportJob, mapping: list[str] | None = None, **options: str) -> ImportJob:
    """Save the mapping (the proposed one unless given) and run the dry run (inline with the test task backend)."""
    services.import_job_set_mapping(
        job=job, mapping=mapping if mapping is not None else list(job.mapping), options=options
    )
    job.refresh_from_db()
    return job


def run_import(job: ImportJob, user: User) -> ImportJob:
    services.import_job_start(job=job, user=user)
    job.refresh_from_db()
    return job


def import_file(upload: Upload, user: User, content: bytes, **kwargs: Any) -> ImportJob:
    """Upload, dry run with the proposed mapping, and import."""
    options = kwargs.pop("options", {})
    job = dry_run(upload(content, **kwargs), **options)
    return run_import(job, user)


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def counts(job: ImportJob) -> dict[str, int]:
    return {
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "rejected": job.rejected_count,
    }


def messages_by_row(job: ImportJob, phase: str | None = None) -> dict[int, str]:
    results = job.row_results.filter(phase=phase or job.phase, outcome="rejected")
    return dict(results.values_list("row_number", "message"))
