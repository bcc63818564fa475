from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory
from tokui.accounts.enums import Role
from tokui.accounts.models import User


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="admin", role=Role.ADMIN)


@pytest.fixture
def admin_client(client: Client, admin: User) -> Client:
    client.force_login(admin)
    return client
