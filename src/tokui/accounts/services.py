"""Writes for users, roles and API keys."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.accounts.enums import ApiScope, Role
from tokui.accounts.models import ApiKey, ApiRequestLog, User, api_key_hash
from tokui.accounts.types import CreatedApiKey
from tokui.core.enums import AuditAction
from tokui.core.errors import DomainError
from tokui.core.services import audit_record

API_KEY_PREFIX = "tokui"
# How stale ``last_used_at`` may get before a request writes it again: one write a minute, not one per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
# Old request-log rows are deleted this many at a time: each batch is a short statement that holds few locks.
API_REQUEST_LOG_PRUNE_BATCH = 5_000


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: Role,
    email: str = "",
    display_name: str = "",
    sees_all_accounts: bool = False,
) -> User:
    """Create a staff user. Admins get Django admin access; other roles use the Tokui screens only."""
    user = User(
        username=username,
        email=email,
        role=role,
        display_name=display_name,
        sees_all_accounts=sees_all_accounts,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


def user_set_role(*, user: User, role: Role) -> User:
    user.role = role
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    return user


@transaction.atomic
def api_key_create(
    *, name: str, scopes: Iterable[str], created_by: User | None, ip_address: str | None = None
) -> CreatedApiKey:
    """Create an API key with ``scopes``. The returned token is the only time the full key exists in clear."""
    name = name.strip()
    if not name:
        raise DomainError(_("Give the key a name that says who uses it, such as “ERP nightly sync”."), field="name")
    wanted = sorted(set(scopes))
    if not wanted:
        raise DomainError(_("Choose at least one scope."), field="scopes")
    unknown = [scope for scope in wanted if scope not in ApiScope.values]
    if unknown:
        raise DomainError(
            _("Unknown scope “%(scope)s”. Choose from: %(choices)s.")
            % {"scope": unknown[0], "choices": ", ".join(ApiScope.values)},
            field="scopes",
        )
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        token = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    name=name[:100], prefix=prefix, hashed_key=api_key_hash(token), scopes=wanted, created_by=created_by
                )
            break
        except IntegrityError:  # the 32-bit prefix of another key: draw again
            continue
    else:
        raise DomainError(_("Could not create a key. Try again."), field="name")
    audit_record(
        actor=created_by,
        action=AuditAction.CREATE,
        target=key,
        changes={"name": key.name, "prefix": key.prefix, "scopes": wanted},
        ip_address=ip_address,
    )
    return CreatedApiKey(key=key, token=token)


@transaction.atomic
def api_key_revoke(*, key: ApiKey, revoked_by: User | None, ip_address: str | None = None) -> ApiKey:
    """Revoke a key: from now on every request with it is refused (401). Revoking twice changes nothing."""
    now = timezone.now()
    if ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=revoked_by):
        audit_record(
            actor=revoked_by,
            action=AuditAction.UPDATE,
            target=key,
            changes={"revoked_at": now.isoformat()},
            ip_address=ip_address,
        )
    key.refresh_from_db()
    return key


def api_key_touch(*, key: ApiKey, now: dt.datetime | None = None) -> None:
    """Note that ``key`` was used, at most once per ``LAST_USED_RESOLUTION``."""
    at = now or timezone.now()
    if key.last_used_at is None or at - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=at)
        key.last_used_at = at


def api_request_record(
    *, key_id: int | None, method: str, path: str, status_code: int, duration_ms: int, at: dt.datetime | None = None
) -> ApiRequestLog:
    """Log one API request (one insert)."""
    return ApiRequestLog.objects.create(
        key_id=key_id,
        method=method[:8],
        path=path[:255],
        status_code=status_code,
        duration_ms=max(0, duration_ms),
        at=at or timezone.now(),
    )


def api_request_log_prune(
    *, now: dt.datetime | None = None, retention_days: int | None = None, batch_size: int = API_REQUEST_LOG_PRUNE_BATCH
) -> int:
    """Delete request-log rows older than the retention (``TOKUI_API_LOG_RETENTION_DAYS``; 0 keeps everything).

    Deleted in batches, each its own short transaction, so pruning a large backlog never holds one long lock
    on a table every API request writes to. Returns the rows deleted.
    """
    days = settings.API_LOG_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted = 0
    while True:
        ids = list(
            ApiRequestLog.objects.filter(at__lt=cutoff).order_by("at", "id").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        count, _by_model = ApiRequestLog.objects.filter(pk__in=ids).delete()
        deleted += count
        if len(ids) < batch_size:
            return deleted
