from __future__ import annotations

import hmac

from django.db.models import QuerySet

from tokui.accounts.enums import Role
from tokui.accounts.models import ApiKey, ApiRequestLog, User, api_key_hash


def sales_reps() -> QuerySet[User]:
    return User.objects.filter(role=Role.SALES_REP, is_active=True).order_by("username")


def user_sees_all_accounts(*, user: User) -> bool:
    """Everyone but a sales rep sees every account; a rep sees their own unless a manager opened everything."""
    return user.role != Role.SALES_REP or user.sees_all_accounts


def user_is_administrator(*, user: User) -> bool:
    """An active administrator (or superuser): the role for settings that reach the whole database."""
    return bool(user.is_authenticated and user.is_active and (user.role == Role.ADMIN or user.is_superuser))


def user_manages_api_keys(*, user: User) -> bool:
    """API keys open the whole database to another system: only administrators see and make them."""
    return user_is_administrator(user=user)


def api_keys() -> QuerySet[ApiKey]:
    """Every key, newest first, revoked ones included (they stay listed with the date they were revoked)."""
    return ApiKey.objects.select_related("created_by", "revoked_by").order_by("-created_at", "-id")


def api_key_get(*, key_id: int) -> ApiKey | None:
    return ApiKey.objects.filter(pk=key_id).first()


def api_key_for_token(*, token: str) -> ApiKey | None:
    """The key a full ``tokui_<prefix>_<secret>`` token belongs to, revoked or not; ``None`` when unknown.

    The prefix finds the row; the stored hash is compared in constant time.
    """
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "tokui" or not parts[1] or not parts[2] or len(parts[1]) > 16:
        return None
    key = ApiKey.objects.filter(prefix=parts[1]).first()
    if key is None or not hmac.compare_digest(key.hashed_key, api_key_hash(token)):
        return None
    return key


def api_requests(*, key_id: int | None = None, errors_only: bool = False) -> QuerySet[ApiRequestLog]:
    """The request log, newest first, with each request's key; ``errors_only`` keeps the answers of 400 and above."""
    requests = ApiRequestLog.objects.select_related("key")
    if key_id is not None:
        requests = requests.filter(key_id=key_id)
    if errors_only:
        requests = requests.filter(status_code__gte=400)
    return requests.order_by("-at", "-id")
