"""``smpc_bench.core.less_than`` at m=1, in process, against Python's ``<``.

Exhaustive over every input of small bit lengths, property-based for larger ones; the openings
must not depend on the data, and misuse must fail before anything is opened.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpc_bench import costs
from smpc_bench.core.less_than import less_than_zero, prepare_masks
from smpc_bench.costs.openings import record_openings
from smpc_bench.engine.driver import runtime

mpc = runtime()
SECINT = mpc.SecInt(32)


def _less_than_zero(values: np.ndarray, bit_length: int) -> np.ndarray:
    async def body() -> np.ndarray:
        masks = prepare_masks(SECINT, values.size, bit_length)
        result = less_than_zero(SECINT.array(values), masks)
        assert result.shape == values.shape
        return np.array(await mpc.output(result), dtype=np.int64)

    return mpc.run(body())


@pytest.mark.parametrize("bit_length", range(1, 11))
def test_every_input_of_small_bit_lengths(bit_length):
    half = 1 << (bit_length - 1)
    values = np.arange(-half, half, dtype=np.int64)
    got = _less_than_zero(values, bit_length)
    assert got.tolist() == (values < 0).astype(np.int64).tolist()


@settings(max_examples=25, deadline=None)
@given(st.integers(11, 30).flatmap(lambda bits: st.tuples(
    st.just(bits),
    st.lists(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1), min_size=1, max_size=40))))
def test_random_inputs_of_larger_bit_lengths(case):
    bit_length, values = case
    got = _less_than_zero(np.array(values, dtype=np.int64), bit_length)
    assert got.tolist() == [int(v < 0) for v in values]


def test_keeps_the_shape_of_a_matrix():
    values = np.array([[-3, 0, 5], [7, -1, -8]], dtype=np.int64)
    assert _less_than_zero(values, 5).tolist() == [[1, 0, 0], [0, 1, 1]]


def test_masks_are_taken_in_slices():
    async def body() -> list[int]:
        masks = prepare_masks(SECINT, 6, 4)
        first = less_than_zero(SECINT.array(np.array([-1, 2, -3])), masks.take(0, 3))
        second = less_than_zero(SECINT.array(np.array([4, -5, 0])), masks.take(3, 6))
        return [int(v) for v in await mpc.output(np.concatenate((first, second)))]

    assert mpc.run(body()) == [1, 0, 1, 0, 1, 0]


def test_misuse_fails_before_anything_is_opened():
    with record_openings() as log:
        masks = prepare_masks(SECINT, 3, 6)
        with pytest.raises(ValueError, match="need as many masks"):
            less_than_zero(SECINT.array(np.zeros(4, dtype=np.int64)), masks)
        with pytest.raises(IndexError):
            masks.take(2, 4)
        with pytest.raises(ValueError, match="positive"):
            prepare_masks(SECINT, 0, 6)
        with pytest.raises(ValueError, match="need a field of more than"):
            prepare_masks(mpc.SecInt(8), 3, 40)  # 40 bits plus 30 security bits > its field
    # At most the masks' own random bits (squares, 3 * 6 of them) were opened: no masked value.
    assert all(o.shape == (18,) for o in log.openings)


def test_openings_and_costs_do_not_depend_on_the_data():
    signatures, counted = set(), set()
    for values in ([-5, -5, -5, -5], [0, 1, 2, 3], [7, -8, 6, -1]):
        with costs.track() as cost, record_openings() as log:
            _less_than_zero(np.array(values, dtype=np.int64), 4)
        signatures.add(log.signature())
        counted.add((cost.rounds, cost.comparisons, cost.compared_elements,
                     cost.comparison_bits, cost.reshares, cost.openings, cost.library_openings))
    assert len(signatures) == 1 and len(counted) == 1
    rounds, comparisons, elements, bits, _, openings, library = counted.pop()
    assert (comparisons, elements, bits) == (1, 4, 16)
    # The masks' random bits and the masked values: both masked, nothing declared but the result.
    assert openings == 3 and library == 1
    # Random bits, one-hot products (4-bit digits: 2 rounds), the masked opening, the result;
    # the 4-bit mask is a single digit, so no combining round.
    assert rounds == 5
