"""The demo shop's pages read in Japanese with the words of a shop."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_shop_home_is_titled_as_a_product_list(client: Client) -> None:
    page = client.get("/shop/").content.decode()
    # "Products" elsewhere (a basket set's column, a kind of synced data) reads 商品; the shop's list reads 商品一覧.
    assert "<title>商品一覧" in page
