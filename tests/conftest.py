from __future__ import annotations

import os

import pytest
from django.test import Client
from django.utils import translation

from tests.factories import UserFactory
from tokui.accounts.enums import Role
from tokui.accounts.models import User

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _japanese_by_default() -> None:
    """Tests see what a user sees: Japanese unless a test switches."""
    translation.activate("ja")


@pytest.fixture
def marketer(db: None) -> User:
    return UserFactory(username="marketer", role=Role.MARKETER)


@pytest.fixture
def marketer_client(client: Client, marketer: User) -> Client:
    client.force_login(marketer)
    return client
