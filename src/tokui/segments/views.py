"""The segment screens: list, builder (with its live preview and picker searches), detail, CSV static lists.

Views parse input, call one service or selector and render (DESIGN.md convention 3). Counts and members are always
those the user may see: a sales rep sees only their own accounts (ADR 4).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.core.errors import DomainError
from tokui.core.spreadsheets import cell_neutralise
from tokui.segments import selectors, services
from tokui.segments.enums import SegmentKind, Subject
from tokui.segments.models import Segment
from tokui.segments.rules import empty_rule
from tokui.segments.rules.base import options, plain
from tokui.segments.rules.values import PERIOD_KINDS

NAV_KEY = "segments"
PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def user_edits_segments(*, user: User) -> bool:
    """Segments feed mailings and scenarios: administrators and marketers build them; others read them."""
    return bool(user.is_active and (user.is_superuser or user.role in (Role.ADMIN, Role.MARKETER)))


def _segment(segment_id: int) -> Segment:
    segment = selectors.segment_get(segment_id=segment_id)
    if segment is None:
        raise Http404
    return segment


def _subject(value: str | None) -> Subject:
    return Subject(value) if value in Subject.values else Subject.COMPANY


def _customer_url(subject: str, pk: int) -> str:
    name = "web:company_detail" if subject == Subject.COMPANY else "web:contact_detail"
    key = "company_id" if subject == Subject.COMPANY else "contact_id"
    return reverse(name, kwargs={key: pk})


@login_required
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    segments = list(selectors.segments_list())
    rows = [{"segment": s, "members": selectors.segment_member_count(segment=s, user=user)} for s in segments]
    return render(
        request,
        "segments/list.html",
        {"nav_active": NAV_KEY, "rows": rows, "can_edit": user_edits_segments(user=user)},
    )


def _builder_context(request: HttpRequest, *, segment: Segment | None, form: dict[str, Any]) -> dict[str, Any]:
    return {
        "nav_active": NAV_KEY,
        "segment": segment,
        "form": form,
        "subjects": Subject.choices,
        "catalog": selectors.builder_catalog(),
        "labels": selectors.builder_labels(rule=form["rule"]),
        "periods_json": json.dumps(plain(options(PERIOD_KINDS)), ensure_ascii=False),
    }


@login_required
@require_http_methods(["GET", "POST"])
def segment_builder(request: HttpRequest, segment_id: int | None = None) -> HttpResponse:
    """Create a segment, or change one: the rule as JSON from the builder, saved only when it validates."""
    user = _user(request)
    if not user_edits_segments(user=user):
        raise PermissionDenied
    segment = _segment(segment_id) if segment_id is not None else None
    if segment is not None and segment.kind != SegmentKind.DYNAMIC:
        raise Http404
    form: dict[str, Any] = {
        "name": segment.name if segment else "",
        "description": segment.description if segment else "",
        "subject": segment.subject if segment else _subject(request.GET.get("subject")),
        "rule": segment.rule if segment else empty_rule(),
        "error": "",
        "error_field": "",
    }
    if request.method == "POST":
        form["name"] = request.POST.get("name", "")
        form["description"] = request.POST.get("description", "")
        if segment is None:
            form["subject"] = _subject(request.POST.get("subject"))
        try:
            form["rule"] = json.loads(request.POST.get("rule") or "null")
        except json.JSONDecodeError:
            form["rule"] = None
        try:
            if segment is None:
                segment = services.segment_create(
                    name=form["name"],
                    description=form["description"],
                    subject=form["subject"],
                    rule=form["rule"],
                    actor=user,
                )
                messages.success(request, _("Saved the segment. Its members are being counted."))
            else:
                services.segment_update(
                    segment=segment,
                    actor=user,
                    name=form["name"],
                    description=form["description"],
                    rule=form["rule"],
                )
                messages.success(request, _("Saved the segment."))
            return redirect("segments:detail", segment_id=segment.pk)
        except DomainError as error:
            form["error"], form["error_field"] = error.message, error.field or ""
            if not isinstance(form["rule"], dict):
                form["rule"] = empty_rule()
    return render(request, "segments/builder.html", _builder_context(request, segment=segment, form=form))


@login_required
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The live count, summary and sample beside the builder (a debounced request on every change)."""
    user = _user(request)
    try:
        rule = json.loads(request.POST.get("rule") or "null")
    except json.JSONDecodeError:
        rule = None
    subject = _subject(request.POST.get("subject"))
    preview = selectors.rule_preview(rule=rule, subject=subject, user=user)
    sample = [{"name": row.name, "url": _customer_url(subject, row.pk)} for row in preview.sample]
    return render(request, "segments/_preview.html", {"preview": preview, "sample": sample})


@login_required
@require_GET
def product_search(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"results": selectors.products_search(term=request.GET.get("q", ""))})


@login_required
@require_GET
def category_search(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"results": selectors.categories_search(term=request.GET.get("q", ""))})


@login_required
@require_GET
def segment_detail(request: HttpRequest, segment_id: int) -> HttpResponse | StreamingHttpResponse:
    user = _user(request)
    segment = _segment(segment_id)
    members = selectors.segment_members(segment=segment, user=user)
    if request.GET.get("export") == "csv":
        return _members_csv(segment, members)
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"row": row, "url": _customer_url(segment.subject, row.pk)} for row in page.object_list]
    sizes = selectors.segment_sizes(segment=segment)
    chart = {
        "labels": [timezone.localtime(s.measured_at).strftime("%m/%d %H:%M") for s in sizes],
        "axes": [{"name": _("Members")}],
        "series": [
            {"name": _("Members"), "type": "line", "data": [s.members for s in sizes]},
            {"name": _("Entered"), "type": "bar", "data": [s.entered for s in sizes]},
            {"name": _("Left"), "type": "bar", "data": [s.left for s in sizes]},
        ],
    }
    return render(
        request,
        "segments/detail.html",
        {
            "nav_active": NAV_KEY,
            "segment": segment,
            "summary": selectors.segment_summary(segment=segment),
            "member_count": selectors.segment_member_count(segment=segment, user=user),
            "page": page,
            "rows": rows,
            "chart": chart if sizes else None,
            "versions": selectors.segment_versions(segment=segment),
            "usages": selectors.segment_usages(segment=segment),
            "can_edit": user_edits_segments(user=user),
        },
    )


def _members_csv(segment: Segment, members: Any) -> StreamingHttpResponse:
    """All members the user may see, streamed (a big segment never sits in memory), formulas neutralised."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo(), lineterminator="\r\n")
    company = segment.subject == Subject.COMPANY

    def lines() -> Iterator[str]:
        yield "\ufeff"  # Excel opens UTF-8 with a BOM as UTF-8
        if company:
            yield writer.writerow([_("ID"), _("Customer code"), _("Company"), _("Prefecture")])
            for row in members.iterator(chunk_size=2000):
                yield writer.writerow(
                    [row.pk, cell_neutralise(row.code), cell_neutralise(row.name), row.get_prefecture_display()]
                )
        else:
            yield writer.writerow([_("ID"), _("Name"), _("Email"), _("Company")])
            for row in members.iterator(chunk_size=2000):
                company_name = row.company.name if row.company_id and row.company else ""
                yield writer.writerow(
                    [row.pk, cell_neutralise(row.name), cell_neutralise(row.email), cell_neutralise(company_name)]
                )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    filename = f"segment-{segment.pk}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def segment_refresh(request: HttpRequest, segment_id: int) -> HttpResponse:
    if not user_edits_segments(user=_user(request)):
        raise PermissionDenied
    segment = _segment(segment_id)
    result = services.segment_refresh(segment=segment)
    messages.success(
        request,
        _("Refreshed: %(entered)s entered, %(left)s left.") % {"entered": result.entered, "left": result.left},
    )
    return redirect("segments:detail", segment_id=segment.pk)


@login_required
@require_POST
def segment_snapshot(request: HttpRequest, segment_id: int) -> HttpResponse:
    user = _user(request)
    if not user_edits_segments(user=user):
        raise PermissionDenied
    segment = _segment(segment_id)
    name = request.POST.get("name") or _("%(name)s (%(day)s)") % {"name": segment.name, "day": timezone.localdate()}
    try:
        copy = services.segment_snapshot(segment=segment, name=name[:100], actor=user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("segments:detail", segment_id=segment.pk)
    messages.success(request, _("Saved the members as a static list."))
    return redirect("segments:detail", segment_id=copy.pk)


@login_required
@require_POST
def segment_archive(request: HttpRequest, segment_id: int) -> HttpResponse:
    if not user_edits_segments(user=_user(request)):
        raise PermissionDenied
    services.segment_archive(segment=_segment(segment_id))
    messages.success(request, _("Archived the segment."))
    return redirect("segments:list")


@login_required
@require_http_methods(["GET", "POST"])
def static_import(request: HttpRequest) -> HttpResponse:
    """A static list from a CSV of customer codes, emails or external ids."""
    user = _user(request)
    if not user_edits_segments(user=user):
        raise PermissionDenied
    form: dict[str, Any] = {"name": "", "subject": Subject.COMPANY, "key": "code", "error": ""}
    if request.method == "POST":
        form.update(
            name=request.POST.get("name", ""),
            subject=_subject(request.POST.get("subject")),
            key=request.POST.get("key", ""),
        )
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise DomainError(_("Choose a CSV file."), field="file")
            if upload.size and upload.size > 20 * 1024 * 1024:
                raise DomainError(_("The file is larger than 20 MB. Split it and upload the parts."), field="file")
            result = services.segment_static_from_csv(
                name=form["name"], subject=form["subject"], key=form["key"], data=upload.read(), actor=user
            )
        except DomainError as error:
            form["error"] = error.message
        else:
            text = _("Saved a list of %(n)s customers.") % {"n": result.matched}
            if result.unmatched:
                text += " " + _("Not found: %(keys)s") % {"keys": ", ".join(result.unmatched[:10])}
            messages.success(request, text)
            return redirect("segments:detail", segment_id=result.segment.pk)
    return render(
        request,
        "segments/import.html",
        {"nav_active": NAV_KEY, "form": form, "subjects": Subject.choices, "keys": services.KEY_KINDS},
    )
