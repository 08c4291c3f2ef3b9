"""The digit layout of the comparison masks (no MPC)."""

from __future__ import annotations

import pytest

from smpc_bench.core.less_than import MAX_DIGIT_BITS, mask_digit_widths


@pytest.mark.parametrize("bit_length", range(1, 65))
def test_widths_cover_the_bits_in_a_full_tree_of_narrow_digits(bit_length):
    widths = mask_digit_widths(bit_length)
    assert sum(widths) == bit_length
    assert all(1 <= w <= MAX_DIGIT_BITS for w in widths)
    assert max(widths) - min(widths) <= 1
    assert list(widths) == sorted(widths, reverse=True)  # the wider digits on top
    digits = len(widths)
    # A power of two (full combining tree) unless there are fewer bits than that.
    assert digits & (digits - 1) == 0 or digits == bit_length
    # No more digits than needed for the tree's depth.
    assert digits == 1 or (digits // 2) * MAX_DIGIT_BITS < bit_length


def test_walk_sizes():
    assert mask_digit_widths(10) == (3, 3, 2, 2)  # n up to 510: two multiplication rounds
    assert mask_digit_widths(8) == (4, 4)  # n up to 126: one round
    assert mask_digit_widths(3) == (3,)  # no multiplication at all


@pytest.mark.parametrize("bit_length", [0, -3])
def test_rejects_empty_masks(bit_length):
    with pytest.raises(ValueError):
        mask_digit_widths(bit_length)
