"""The connector screens (連携): the list, set-up and edit forms, a connection's page with its test button, sync
buttons and sync log. Administrators only: a connection holds another system's credentials."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tokui.accounts.models import User
from tokui.core.errors import DomainError
from tokui.integrations import selectors, services
from tokui.integrations.connectors.registry import CONNECTORS, Connector
from tokui.integrations.enums import ConnectorKind, SyncTrigger
from tokui.integrations.models import Connection

NAV_KEY = "imports"
RUNS_PER_PAGE = 20


class ConnectionForm(forms.Form):
    """The common fields, then one field per setting and credential of the connector. Credentials are never sent
    back to the browser: left empty on edit, the stored one is kept."""

    name = forms.CharField(label=pgettext_lazy("name of a connection", "Name"), max_length=100)
    source = forms.CharField(
        label=gettext_lazy("Source name"),
        max_length=64,
        required=False,
        help_text=gettext_lazy(
            "Records from this connection are stored under this name and their id in the other system. It cannot be "
            "changed later."
        ),
    )
    sync_interval_minutes = forms.IntegerField(
        label=gettext_lazy("Sync every (minutes)"), min_value=services.connections.MIN_INTERVAL_MINUTES, initial=15
    )
    enabled = forms.BooleanField(label=gettext_lazy("Sync automatically"), required=False, initial=True)

    def __init__(
        self, *args: Any, connector: Connector, stored_secrets: set[str] | None = None, editing: bool = False, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.connector = connector
        if editing:
            self.fields["source"].disabled = True
        stored = stored_secrets or set()
        for item in connector.fields:
            if item.secret:
                help_text = str(item.help_text)
                if item.name in stored:
                    help_text = f"{help_text} {_('Stored. Leave empty to keep it.')}".strip()
                self.fields[item.name] = forms.CharField(
                    label=str(item.label),
                    required=item.required and item.name not in stored,
                    help_text=help_text,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                )
            else:
                self.fields[item.name] = forms.CharField(
                    label=str(item.label),
                    required=item.required,
                    help_text=str(item.help_text),
                    widget=forms.TextInput(attrs={"placeholder": item.placeholder}),
                )
        for name, field in self.fields.items():
            if name != "enabled":
                field.widget.attrs["class"] = "form-control"

    def config(self) -> dict[str, str]:
        return {item.name: self.cleaned_data.get(item.name) or "" for item in self.connector.config_fields}

    def secrets(self) -> dict[str, str]:
        return {item.name: self.cleaned_data.get(item.name) or "" for item in self.connector.secret_fields}

    def common_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "source", "sync_interval_minutes")]

    def connector_fields(self) -> list[forms.BoundField]:
        return [self[item.name] for item in self.connector.fields]


def _admin(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not selectors.user_manages_connections(user=user):
        raise PermissionDenied(_("Only administrators can set up connectors."))
    return user


def _connection_or_404(connection_id: int) -> Connection:
    connection = selectors.connection_get(connection_id=connection_id)
    if connection is None:
        raise Http404
    return connection


def _add_error(form: ConnectionForm, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@login_required
def connection_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    context = {
        "connections": selectors.connections_with_last_run(),
        "kinds": ConnectorKind.choices,
        "nav_active": NAV_KEY,
        "tab": "connections",
    }
    return render(request, "integrations/connections/list.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def connection_new(request: HttpRequest, kind: str) -> HttpResponse:
    user = _admin(request)
    if kind not in CONNECTORS:
        raise Http404
    connector = CONNECTORS[kind]
    initial = {"name": ConnectorKind(kind).label, "source": services.connection_default_source(kind=kind)}
    form = ConnectionForm(request.POST or None, connector=connector, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.connection_create(
                kind=kind,
                name=form.cleaned_data["name"],
                source=form.cleaned_data["source"] or "",
                config=form.config(),
                secrets=form.secrets(),
                enabled=form.cleaned_data["enabled"],
                sync_interval_minutes=form.cleaned_data["sync_interval_minutes"],
                actor=user,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except DomainError as error:
            _add_error(form, error)
        else:
            messages.success(request, _("Connection saved. Test it, then start the first sync."))
            return redirect("integrations:connection_detail", connection_id=connection.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "kind_label": ConnectorKind(kind).label, "nav_active": NAV_KEY, "tab": "connections"}
    return render(request, "integrations/connections/form.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, connection_id: int) -> HttpResponse:
    user = _admin(request)
    connection = _connection_or_404(connection_id)
    initial = {
        "name": connection.name,
        "source": connection.source,
        "sync_interval_minutes": connection.sync_interval_minutes,
        "enabled": connection.enabled,
        **connection.config,
    }
    form = ConnectionForm(
        request.POST or None,
        connector=CONNECTORS[connection.kind],
        stored_secrets=selectors.connection_stored_secret_names(connection=connection),
        editing=True,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.connection_update(
                connection=connection,
                name=form.cleaned_data["name"],
                config=form.config(),
                secrets=form.secrets(),
                enabled=form.cleaned_data["enabled"],
                sync_interval_minutes=form.cleaned_data["sync_interval_minutes"],
                actor=user,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except DomainError as error:
            _add_error(form, error)
        else:
            messages.success(request, _("Connection saved."))
            return redirect("integrations:connection_detail", connection_id=connection.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "connection": connection,
        "kind_label": connection.get_kind_display(),
        "nav_active": NAV_KEY,
        "tab": "connections",
    }
    return render(request, "integrations/connections/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def connection_remove(request: HttpRequest, connection_id: int) -> HttpResponse:
    user = _admin(request)
    connection = _connection_or_404(connection_id)
    if request.method == "POST":
        services.connection_delete(connection=connection, actor=user, ip_address=request.META.get("REMOTE_ADDR"))
        messages.success(request, _("Connection removed. The data it brought in is kept."))
        return redirect("integrations:connection_list")
    context = {"connection": connection, "nav_active": NAV_KEY, "tab": "connections"}
    return render(request, "integrations/connections/delete.html", context)


def _detail_context(request: HttpRequest, connection: Connection) -> dict[str, Any]:
    connector = CONNECTORS[connection.kind]
    page = Paginator(selectors.connection_sync_runs(connection=connection), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for run in page:
        run.count_rows = selectors.sync_count_rows(counts=run.counts)  # type: ignore[attr-defined]
    webhook_url = ""
    if connector.receive_webhook is not None:
        # The address the cart system posts to: Tokui's public one, not the host this page was asked on.
        path = reverse("webhooks:receive", kwargs={"kind": connection.kind, "token": connection.webhook_token})
        webhook_url = f"{settings.SITE_URL.rstrip('/')}{path}"
    return {
        "connection": connection,
        "connector": connector,
        "config_rows": [(item.label, connection.config.get(item.name, "")) for item in connector.config_fields],
        "stored_secrets": selectors.connection_stored_secret_names(connection=connection),
        "active_run": selectors.connection_active_run(connection=connection),
        "page": page,
        "webhook_url": webhook_url,
        "nav_active": NAV_KEY,
        "tab": "connections",
    }


@login_required
def connection_detail(request: HttpRequest, connection_id: int) -> HttpResponse:
    _admin(request)
    connection = _connection_or_404(connection_id)
    return render(request, "integrations/connections/detail.html", _detail_context(request, connection))


@login_required
def connection_runs(request: HttpRequest, connection_id: int) -> HttpResponse:
    """The sync log alone, for htmx to refresh while a sync runs."""
    _admin(request)
    connection = _connection_or_404(connection_id)
    return render(request, "integrations/connections/_runs.html", _detail_context(request, connection))


@login_required
@require_POST
def connection_check(request: HttpRequest, connection_id: int) -> HttpResponse:
    """The "test connection" button: one request with the stored credentials, the answer shown in place."""
    _admin(request)
    connection = _connection_or_404(connection_id)
    result = services.connection_test(connection=connection)
    connection.refresh_from_db()
    if request.headers.get("HX-Request"):
        return render(request, "integrations/connections/_test_result.html", {"connection": connection})
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("integrations:connection_detail", connection_id=connection.pk)


@login_required
@require_POST
def connection_sync(request: HttpRequest, connection_id: int) -> HttpResponse:
    user = _admin(request)
    connection = _connection_or_404(connection_id)
    trigger = SyncTrigger.FULL if request.POST.get("full") else SyncTrigger.MANUAL
    services.connection_sync_request(connection=connection, trigger=trigger, user=user)
    messages.info(request, _("Sync queued. The log below shows its progress."))
    return redirect("integrations:connection_detail", connection_id=connection.pk)
