"""Each customer's favourite categories summed over batches of lines: the dense table starts narrow (int32 whole
units) and widens to int64 hundredths before a fractional amount or a customer's large spend could make it wrong;
it always chooses what summing every line at once by sorting chooses (ADR 0037)."""

from __future__ import annotations

import numpy as np
import pytest

from tokui.analytics import stats_arrays
from tokui.analytics.stats_arrays import CategorySpend, LineRows, Products

PRODUCTS = Products(
    product_id=np.arange(1, 9, dtype=np.int64),
    category_id=np.array([11, 12, 13, 14, 15, 16, 17, 18], dtype=np.int64),
)
ORDERS = np.arange(1, 7, dtype=np.int64)
ORDER_CUSTOMER = np.array([0, 0, 1, 2, 3, 3], dtype=np.int64)


def _spend(batches: list[LineRows], monkeypatch: pytest.MonkeyPatch, *, dense: bool) -> CategorySpend:
    monkeypatch.setattr(stats_arrays, "_DENSE_CELLS", 1 << 26 if dense else 0)
    spend = CategorySpend(order_id=ORDERS, order_customer=ORDER_CUSTOMER, products=PRODUCTS, customers=4)
    for batch in batches:
        spend.add(batch)
    return spend


def _lines(order_id: list[int], product_id: list[int], amount: list[int]) -> LineRows:
    return LineRows(
        order_id=np.array(order_id, dtype=np.int64),
        product_id=np.array(product_id, dtype=np.int64),
        amount=np.array(amount, dtype=np.int64),
    )


def _both(batches: list[LineRows], monkeypatch: pytest.MonkeyPatch) -> tuple[CategorySpend, list[list[int]]]:
    dense = _spend(batches, monkeypatch, dense=True)
    chosen = dense.favourites().tolist()
    assert chosen == _spend(batches, monkeypatch, dense=False).favourites().tolist()
    return dense, chosen


def test_whole_amounts_are_summed_in_a_narrow_table(monkeypatch: pytest.MonkeyPatch) -> None:
    dense, chosen = _both(
        [_lines([1, 2, 3], [1, 2, 3], [30_000, 50_000, 10_000]), _lines([1, 4], [1, 4], [30_000, 5_000])],
        monkeypatch,
    )
    assert dense.spend.dtype == np.int32
    assert chosen == [[11, 12, -1], [13, -1, -1], [14, -1, -1], [-1, -1, -1]]  # ¥600 on 11 beats ¥500 on 12


def test_a_fractional_amount_widens_the_table_keeping_earlier_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    # ¥500 on 11, then ¥500.01 on 12: the hundredth decides.
    dense, chosen = _both([_lines([1], [1], [50_000]), _lines([2], [2], [50_001])], monkeypatch)
    assert dense.spend.dtype == np.int64
    assert chosen[0] == [12, 11, -1]


def test_a_customer_spending_past_the_narrow_range_widens_the_table_before_it_overflows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ¥1.5bn twice on 11 (¥3bn: past int32 in yen) against ¥2.5bn on 12: wrapped, 11 would come last.
    billion = 100 * 10**9
    dense, chosen = _both(
        [_lines([1, 2], [1, 2], [billion * 3 // 2, billion * 5 // 2]), _lines([1], [1], [billion * 3 // 2])],
        monkeypatch,
    )
    assert dense.spend.dtype == np.int64
    assert chosen[0] == [11, 12, -1]


def test_a_zero_or_negative_amount_after_positive_ones_keeps_every_cell_bought(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Customer 3: ¥100 on 15, then ¥0 on 16 and a refund line of -¥50 on 17; 18 never bought.
    _, chosen = _both(
        [_lines([5, 6], [5, 1], [10_000, 20_000]), _lines([5, 6], [6, 7], [0, -5_000])],
        monkeypatch,
    )
    assert chosen[3] == [11, 15, 16]
    _, chosen = _both([_lines([5], [5], [10_000]), _lines([6], [7], [-5_000])], monkeypatch)
    assert chosen[3] == [15, 17, -1]


@pytest.mark.parametrize("seed", range(20))
def test_batches_of_any_amounts_choose_as_sorting_every_line_does(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    kinds = [
        lambda n: rng.integers(1, 5_000, n) * 100,  # whole yen
        lambda n: rng.integers(-2_000, 5_000, n) * 100,  # refunds among them
        lambda n: rng.integers(1, 500_000, n),  # cents
        lambda n: rng.integers(1, 3, n) * 100 * 10**9,  # billions of yen
    ]
    batches = []
    for _ in range(int(rng.integers(1, 6))):
        count = int(rng.integers(1, 40))
        amount = kinds[int(rng.integers(0, len(kinds)))](count) if rng.random() < 0.4 else kinds[0](count)
        batches.append(
            LineRows(
                order_id=rng.integers(0, 8, count).astype(np.int64),  # 0 and 7: not counted orders
                product_id=rng.integers(0, 10, count).astype(np.int64),  # 0 and 9: no category
                amount=amount.astype(np.int64),
            )
        )
    _both(batches, monkeypatch)
