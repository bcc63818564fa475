"""The segment screens: builder preview, save with a bad rule, detail with members and CSV, sales-rep scope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import CompanyFactory, ProductFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.segments import services
from tokui.segments.enums import Subject
from tokui.segments.models import Segment

pytestmark = pytest.mark.django_db


def tokyo_rule() -> dict[str, Any]:
    return {
        "version": 1,
        "root": {
            "kind": "group",
            "match": "all",
            "negate": False,
            "children": [
                {
                    "kind": "condition",
                    "type": "company_field",
                    "config": {"field": "prefecture", "op": "in", "value": ["13"]},
                }
            ],
        },
    }


def test_builder_page_embeds_the_condition_catalog(marketer_client: Client) -> None:
    response = marketer_client.get("/segments/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="segment-catalog"' in html and '"key": "purchased"' in html


def test_preview_counts_only_the_reps_own_accounts_and_links_to_the_customer(client: Client) -> None:
    rep = UserFactory(role=Role.SALES_REP)
    mine = CompanyFactory(prefecture="13", assigned_rep=rep, name="自分の取引先")
    CompanyFactory(prefecture="13", name="他人の取引先")
    client.force_login(rep)
    response = client.post("/segments/preview/", {"rule": json.dumps(tokyo_rule()), "subject": "company"})
    html = response.content.decode()
    assert 'data-testid="live-count">1' in html.replace("\n", "")
    assert f"/companies/{mine.pk}/" in html and "他人の取引先" not in html
    assert "取引先の都道府県が東京都のいずれか" in html


def test_preview_of_an_unfinished_rule_says_which_condition_needs_what(marketer_client: Client) -> None:
    rule = tokyo_rule()
    rule["root"]["children"][0]["config"]["value"] = []
    response = marketer_client.post("/segments/preview/", {"rule": json.dumps(rule), "subject": "company"})
    assert "条件 1" in response.content.decode() and "値を1つ以上選んでください" in response.content.decode()


def test_saving_a_bad_rule_keeps_the_form_and_shows_the_error(marketer_client: Client) -> None:
    rule = tokyo_rule()
    rule["root"]["children"][0]["config"]["field"] = "colour"
    response = marketer_client.post("/segments/new/", {"name": "x", "subject": "company", "rule": json.dumps(rule)})
    assert response.status_code == 200
    assert "「colour」は条件にできる項目ではありません" in response.content.decode()
    assert not Segment.objects.exists()


def test_saving_creates_the_segment_and_the_detail_lists_members_with_csv(marketer_client: Client) -> None:
    company = CompanyFactory(prefecture="13", name="=HYPERLINK(1)", code="C1")
    response = marketer_client.post(
        "/segments/new/", {"name": "東京", "subject": "company", "rule": json.dumps(tokyo_rule())}
    )
    segment = Segment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    services.segment_refresh(segment=segment)
    detail = marketer_client.get(f"/segments/{segment.pk}/").content.decode()
    assert f"/companies/{company.pk}/" in detail and "まだ使われていません" in detail
    csv = b"".join(marketer_client.get(f"/segments/{segment.pk}/?export=csv").streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in csv


def test_viewers_cannot_edit_segments(client: Client) -> None:
    client.force_login(UserFactory(role=Role.VIEWER))
    assert client.get("/segments/new/").status_code == 403
    assert client.get("/segments/").status_code == 200


def test_product_search_finds_by_name_or_sku(marketer_client: Client) -> None:
    product = ProductFactory(name="リネンシャツ 白", sku="LS-001")
    data = marketer_client.get("/segments/search/products/", {"q": "LS-0"}).json()
    assert data["results"] == [{"id": product.pk, "label": "リネンシャツ 白 (LS-001)"}]


def test_static_list_upload_page_creates_a_list(marketer_client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    company = CompanyFactory(code="A-1")
    upload = SimpleUploadedFile("list.csv", b"code\nA-1\n", content_type="text/csv")
    response = marketer_client.post(
        "/segments/import/", {"name": "展示会", "subject": "company", "key": "code", "file": upload}
    )
    segment = Segment.objects.get(name="展示会")
    assert response.status_code == 302
    assert segment.subject == Subject.COMPANY and segment.member_count == 1
    assert company.pk in set(segment.members.values_list("customer_id", flat=True))


def test_detail_lists_where_the_segment_is_used_by_registered_apps(marketer_client: Client) -> None:
    from tokui.segments.usages import SegmentUsage, segment_usage_providers

    segment = services.segment_create(name="s", subject=Subject.COMPANY, actor=None, rule=tokyo_rule())

    def provider(segment_id: int) -> list[SegmentUsage]:
        return [SegmentUsage(kind="シナリオ", name="カゴ落ちフォロー")] if segment_id == segment.pk else []

    segment_usage_providers.register(provider)
    try:
        html = marketer_client.get(f"/segments/{segment.pk}/").content.decode()
    finally:
        segment_usage_providers._providers.remove(provider)
    assert "シナリオ: カゴ落ちフォロー" in html
