"""The import screens (取込): list and upload, column mapping, dry run, progress, result and error file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tokui.accounts.models import User
from tokui.commerce.enums import OrderChannel
from tokui.core.errors import DomainError
from tokui.integrations import selectors, services
from tokui.integrations.enums import ACTIVE_STATUSES, ImportObjectType, ImportPhase, ImportStatus, RowOutcome
from tokui.integrations.importers.base import Need
from tokui.integrations.importers.error_file import error_file_chunks, error_file_name
from tokui.integrations.importers.reading import ENCODING_LABELS
from tokui.integrations.models import ImportJob

JOBS_PER_PAGE = 20
ROWS_PER_PAGE = 50
NAV_KEY = "imports"


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File (.csv or .xlsx)"))
    object_type = forms.ChoiceField(label=_("The file contains"), choices=ImportObjectType.choices)
    source = forms.CharField(
        label=_("Source name"),
        required=False,
        max_length=64,
        initial=services.DEFAULT_SOURCE,
        help_text=_(
            "Records are matched by this name and their code. Use the same name every time you import from the same "
            "system (for example: kikan for your order system)."
        ),
    )


def _need_label(label: str | Promise, need: str) -> str:
    """A field's name in the mapping list, saying whether the file needs it (the list above the table says how)."""
    if need == Need.REQUIRED:
        return str(_("%(field)s (required)") % {"field": label})
    if need == Need.ONE_OF:
        return str(_("%(field)s (this or another required)") % {"field": label})
    if need == Need.NEW_RECORDS:
        return str(_("%(field)s (for new records)") % {"field": label})
    return str(label)


class MappingForm(forms.Form):
    """A field per column of the file, the proposed field preselected; for orders, the channel of rows without one."""

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        choices: list[tuple[str, str]] = [("", str(_("— do not import —")))]
        for choice in selectors.import_field_choices(object_type=job.object_type):
            choices.append((choice.key, _need_label(choice.label, choice.need)))
        for column in selectors.import_mapping_columns(job=job):
            self.fields[f"column_{column.index}"] = forms.ChoiceField(
                label=column.name or str(_("(no name)")), choices=choices, required=False, initial=column.field
            )
        if job.object_type == ImportObjectType.ORDERS:
            self.fields["channel"] = forms.ChoiceField(
                label=_("Channel of orders without one in the file"),
                choices=OrderChannel.choices,
                initial=job.options.get("channel", OrderChannel.SALES_REP),
            )

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"column_{index}") or "" for index in range(len(self.job.header))]

    def options(self) -> dict[str, str]:
        return {"channel": self.cleaned_data["channel"]} if "channel" in self.cleaned_data else {}


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    next_chunk = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)
    while (chunk := await next_chunk()) is not None:
        yield chunk


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _require_import_role(request: HttpRequest) -> User:
    user = _user(request)
    if not services.user_can_import(user):
        raise PermissionDenied
    return user


def _job_or_404(request: HttpRequest, job_id: int) -> ImportJob:
    job = selectors.import_job_for_user(user=_user(request), job_id=job_id)
    if job is None:
        raise Http404
    return job


def _list_context(request: HttpRequest, form: UploadForm | None) -> dict[str, Any]:
    user = _user(request)
    page = Paginator(selectors.import_jobs_visible_to(user=user), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "page": page,
        "form": form,
        "can_import": services.user_can_import(user),
        "nav_active": NAV_KEY,
    }


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    """Past imports (file, type, status, counts, who, when) and the upload form."""
    form = UploadForm() if services.user_can_import(_user(request)) else None
    return render(request, "integrations/imports/list.html", _list_context(request, form))


@login_required
@require_POST
def import_upload(request: HttpRequest) -> HttpResponse:
    user = _require_import_role(request)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            job = services.import_job_create(
                user=user,
                upload=form.cleaned_data["file"],
                object_type=form.cleaned_data["object_type"],
                source=form.cleaned_data["source"] or services.DEFAULT_SOURCE,
                language=translation.get_language() or "ja",
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else "file", error.message)
        else:
            return redirect("integrations:import_mapping", job_id=job.pk)
    return render(request, "integrations/imports/list.html", _list_context(request, form), status=400)


@login_required
def import_mapping(request: HttpRequest, job_id: int) -> HttpResponse:
    """Choose the field of each column; the proposed field (remembered or guessed) is preselected."""
    _require_import_role(request)
    job = _job_or_404(request, job_id)
    if job.status not in (ImportStatus.MAPPING, ImportStatus.CHECKED, ImportStatus.FAILED):
        return redirect("integrations:import_detail", job_id=job.pk)
    form = MappingForm(request.POST or None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            services.import_job_set_mapping(job=job, mapping=form.mapping(), options=form.options())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return redirect("integrations:import_detail", job_id=job.pk)
    columns = [(column, form[f"column_{column.index}"]) for column in selectors.import_mapping_columns(job=job)]
    context = {
        "job": job,
        "form": form,
        "columns": columns,
        "channel_field": form["channel"] if "channel" in form.fields else None,
        "needs": selectors.import_mapping_needs(object_type=job.object_type),
        "encoding_label": ENCODING_LABELS.get(job.encoding, job.encoding),
        "nav_active": NAV_KEY,
    }
    return render(request, "integrations/imports/mapping.html", context, status=400 if form.errors else 200)


def _rows_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    phase = selectors.import_error_phase(job=job)
    outcome = request.GET.get("outcome", "")
    if outcome not in RowOutcome.values:
        outcome = ""
    if phase == ImportPhase.IMPORT:
        outcome = RowOutcome.REJECTED
    results = selectors.import_row_results(job=job, phase=phase, outcome=outcome)
    return {
        "rows_page": Paginator(results, ROWS_PER_PAGE).get_page(request.GET.get("page")),
        "outcome": outcome,
        "phase": phase,
        "outcome_choices": [
            (RowOutcome.CREATED, RowOutcome.CREATED.label),
            (RowOutcome.UPDATED, RowOutcome.UPDATED.label),
            (RowOutcome.REJECTED, RowOutcome.REJECTED.label),
        ],
    }


def _count_labels(job: ImportJob) -> dict[str, Any]:
    if job.phase == ImportPhase.DRY_RUN:
        return {
            "created": _("Would be new"),
            "updated": _("Would be updated"),
            "unchanged": _("Would stay unchanged"),
            "rejected": _("Would be rejected"),
        }
    return {key: RowOutcome(key).label for key in RowOutcome.values}


@login_required
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """One import: its progress while it runs, the dry run row by row, or the result with the error file."""
    job = _job_or_404(request, job_id)
    can_import = services.user_can_import(_user(request))
    if job.status == ImportStatus.MAPPING and can_import:
        return redirect("integrations:import_mapping", job_id=job.pk)
    context: dict[str, Any] = {
        "job": job,
        "counts": selectors.import_counts(job=job),
        "count_labels": _count_labels(job),
        "can_import": can_import,
        "active": job.status in ACTIVE_STATUSES,
        "encoding_label": ENCODING_LABELS.get(job.encoding, job.encoding),
        "nav_active": NAV_KEY,
        **_rows_context(request, job),
    }
    if getattr(getattr(request, "htmx", None), "target", None) == "import-rows":
        return render(request, "integrations/imports/_rows.html", context)
    return render(request, "integrations/imports/detail.html", context)


@login_required
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress bar, polled by htmx; once the work is done the page is reloaded to show the result."""
    job = _job_or_404(request, job_id)
    if job.status not in ACTIVE_STATUSES:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("integrations:import_detail", args=[job.pk])
        return response
    context = {
        "job": job,
        "counts": selectors.import_counts(job=job),
        "can_import": services.user_can_import(_user(request)),
    }
    return render(request, "integrations/imports/_progress.html", context)


@login_required
@require_POST
def import_run(request: HttpRequest, job_id: int) -> HttpResponse:
    """Start the real import after the dry run."""
    user = _require_import_role(request)
    job = _job_or_404(request, job_id)
    try:
        services.import_job_start(job=job, user=user, ip_address=request.META.get("REMOTE_ADDR"))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("integrations:import_detail", job_id=job.pk)


@login_required
@require_POST
def import_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    _require_import_role(request)
    job = services.import_job_cancel(job=_job_or_404(request, job_id))
    messages.info(request, _("The import stops after the rows it is working on. Rows already imported stay imported."))
    return redirect("integrations:import_detail", job_id=job.pk)


@login_required
def import_errors(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """The rejected rows with their reasons as CSV (UTF-8 with BOM for Excel; formulas neutralised)."""
    job = _job_or_404(request, job_id)
    rows = ((row.row_number, row.values, row.message) for row in selectors.import_rejected_rows(job=job))
    chunks = error_file_chunks(list(job.header), rows, translation.get_language() or "ja")
    # Under ASGI a synchronous iterator would be read whole into memory before sending; hand it over chunk by chunk.
    content = _async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, error_file_name(job.original_name))
    return response
