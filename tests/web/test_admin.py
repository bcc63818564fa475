import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CompanyFactory, OrderFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.core.models import AuditLogEntry
from tokui.customers.models import Company, PriceGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_changes_are_written_to_the_audit_log(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:customers_pricegroup_add"), {"name": "A掛け", "rate": "0.600"})
    assert response.status_code == 302
    entry = AuditLogEntry.objects.get(target_type="customers.PriceGroup")
    assert entry.action == "create" and entry.actor.username == "boss"
    assert entry.changes["rate"] == "0.600"


def test_admin_refuses_an_out_of_range_rate_with_a_japanese_message(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:customers_pricegroup_add"), {"name": "変な掛け率", "rate": "3.5"})
    assert response.status_code == 200
    assert "掛け率は0より大きく2以下" in response.content.decode()
    assert not PriceGroup.objects.exists()


def test_admin_cannot_delete_a_company_with_orders(admin_client: Client) -> None:
    order = OrderFactory()
    url = reverse("admin:customers_company_delete", args=[order.company.pk])
    page = admin_client.get(url).content.decode()
    assert "削除するには以下の保護された関連オブジェクト" in page
    admin_client.post(url, {"post": "yes"})
    assert Company.objects.filter(pk=order.company.pk).exists()


def test_admin_archive_action_keeps_the_company_and_its_orders(admin_client: Client) -> None:
    company = OrderFactory().company
    admin_client.post(
        reverse("admin:customers_company_changelist"), {"action": "archive_selected", "_selected_action": [company.pk]}
    )
    company.refresh_from_db()
    assert company.archived_at is not None
    assert AuditLogEntry.objects.filter(action="archive", target_id=str(company.pk)).exists()


def test_non_admin_roles_cannot_open_the_admin(client: Client) -> None:
    client.force_login(UserFactory(username="rep", role=Role.SALES_REP))
    assert client.get(reverse("admin:index")).status_code == 302
    assert CompanyFactory()
