"""Settings → API keys: admins list, create (the key shown once) and revoke keys; nobody else may."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tokui.accounts.enums import Role
from tokui.accounts.models import ApiKey, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, admin: User) -> Client:
    client.force_login(admin)
    return client


def test_an_admin_creates_a_key_and_sees_it_once(admin_client: Client) -> None:
    response = admin_client.post(reverse("accounts:api_key_new"), {"name": "ERP 夜間連携", "scopes": ["read", "write"]})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = response.content.decode()
    token = re.search(r'value="(tokui_[^"]+)"', body)
    assert token is not None
    key = ApiKey.objects.get()
    assert key.name == "ERP 夜間連携" and key.scopes == ["read", "write"] and key.created_by is not None
    assert "一度だけ" in body  # the copy hint: it will not be shown again
    listing = admin_client.get(reverse("accounts:api_keys")).content.decode()
    assert f"tokui_{key.prefix}_" in listing and token.group(1) not in listing
    assert admin_client.get("/api/me", headers={"Authorization": f"Bearer {token.group(1)}"}).status_code == 200


def test_a_key_needs_a_name_and_a_scope(admin_client: Client) -> None:
    response = admin_client.post(reverse("accounts:api_key_new"), {"name": "", "scopes": []})
    assert response.status_code == 400 and not ApiKey.objects.exists()
    assert "is-invalid" in response.content.decode()


def test_an_admin_revokes_a_key_after_confirming(admin_client: Client) -> None:
    admin_client.post(reverse("accounts:api_key_new"), {"name": "Shopify", "scopes": ["write"]})
    key = ApiKey.objects.get()
    url = reverse("accounts:api_key_revoke", args=[key.pk])
    confirm = admin_client.get(url)
    assert confirm.status_code == 200 and "Shopify" in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None  # a GET only asks
    response = admin_client.post(url)
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by is not None
    assert "失効" in admin_client.get(reverse("accounts:api_keys")).content.decode()


def test_revoking_needs_the_csrf_token(admin: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    key = ApiKey.objects.create(name="x", prefix="abcd1234", hashed_key="0" * 64, scopes=["read"])
    assert client.post(reverse("accounts:api_key_revoke", args=[key.pk])).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


@pytest.mark.parametrize("role", [Role.MARKETER, Role.SALES_REP, Role.VIEWER])
def test_only_admins_may_open_the_api_keys_screen(client: Client, role: Role) -> None:
    client.force_login(UserFactory(username=f"u-{role}", role=role))
    assert client.get(reverse("accounts:api_keys")).status_code == 403
    assert client.post(reverse("accounts:api_key_new"), {"name": "x", "scopes": ["admin"]}).status_code == 403
    assert not ApiKey.objects.exists()


def test_the_settings_link_in_the_sidebar_opens_the_api_keys_screen(admin_client: Client) -> None:
    body = admin_client.get(reverse("web:dashboard")).content.decode()
    assert f'href="{reverse("accounts:api_keys")}"' in body


def test_the_api_keys_screen_needs_a_login(client: Client) -> None:
    response = client.get(reverse("accounts:api_keys"))
    assert response.status_code == 302 and reverse("web:login") in response["Location"]
