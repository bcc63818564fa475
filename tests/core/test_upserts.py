import threading

import pytest
from django.db import connection, connections

from tokui.core.enums import UpsertOutcome
from tokui.customers.models import Company
from tokui.customers.services import company_upsert
from tokui.customers.types import CompanyIn


@pytest.mark.django_db
def test_same_company_twice_is_created_then_unchanged() -> None:
    data = CompanyIn(name="株式会社ブティックさくら", name_kana="ブティックサクラ", prefecture="13")
    first = company_upsert(source="bcart", external_id="100", data=data)
    second = company_upsert(source="bcart", external_id="100", data=data)
    assert (first.outcome, second.outcome) == (UpsertOutcome.CREATED, UpsertOutcome.UNCHANGED)
    assert first.instance.pk == second.instance.pk
    assert Company.objects.count() == 1


@pytest.mark.django_db
def test_changed_company_is_updated_in_place() -> None:
    company_upsert(source="bcart", external_id="100", data=CompanyIn(name="旧社名"))
    result = company_upsert(source="bcart", external_id="100", data=CompanyIn(name="新社名"))
    assert result.outcome == UpsertOutcome.UPDATED
    assert Company.objects.get().name == "新社名"


@pytest.mark.django_db
def test_same_external_id_from_another_source_is_another_company() -> None:
    company_upsert(source="bcart", external_id="100", data=CompanyIn(name="A"))
    company_upsert(source="shopify", external_id="100", data=CompanyIn(name="B"))
    assert Company.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_key_leave_one_row() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs a server database")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def upsert(n: int) -> None:
        try:
            barrier.wait()
            company_upsert(source="api", external_id="race", data=CompanyIn(name=f"同時{n}"))
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upsert, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Company.objects.filter(source="api", external_id="race").count() == 1
