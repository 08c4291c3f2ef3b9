"""Oblivious order statistics by a radix walk over bit-decomposed values.

For every requested rank the walk descends the binary trie of the values, one digit of
``radix_bits`` bits per level, from the most significant digit down.  At each level it counts,
per rank, how many still-active values fall in each digit bin (one secure matrix product: an
inner product costs a single resharing however long it is), compares the cumulative counts with
the remaining rank (``2**radix_bits - 1`` small comparisons per rank, all levels' worth of work
for all KPIs and ranks in one vectorised call), and narrows the active set to the chosen bin.

Nothing is opened except the masked values inside MPyC's comparison sub-protocol, whose number
and shape depend only on the table's shape, the ranks requested and the radix.  Cost per level:
``K*R*n`` secure multiplications (two resharing rounds) plus ``K*R*(2**radix_bits-1)``
comparisons on ``count_bits + 1`` bits; rounds are ``O(value_bits / radix_bits)``, never O(n).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from smpc_bench.driver import runtime

__all__ = ["digit_layout", "digit_indicators", "order_statistics"]

SecureArray = Any  # mpyc.sectypes.SecureArray; mpyc ships no type information


def digit_layout(value_bits: int, radix_bits: int) -> list[tuple[int, int]]:
    """Split ``value_bits`` bits into digits, most significant first.

    Returns:
        ``(lowest_bit, width)`` per digit; the top digit takes the remainder, so every other
        digit has exactly ``radix_bits`` bits.
    """
    if value_bits < 1 or radix_bits < 1:
        raise ValueError("value_bits and radix_bits must be positive")
    layout = []
    low = 0
    while low < value_bits:
        width = min(radix_bits, value_bits - low)
        layout.append((low, width))
        low += width
    layout.reverse()
    return layout


def _subset_split(mask: int) -> tuple[int, int]:
    """Split a bit mask into two halves of (nearly) equal popcount, for a log-depth product."""
    members = [i for i in range(mask.bit_length()) if mask >> i & 1]
    half = members[: len(members) // 2]
    low = sum(1 << i for i in half)
    return low, mask ^ low


def digit_indicators(bits: SecureArray, layout: Sequence[tuple[int, int]]) -> list[SecureArray]:
    """One-hot encode every digit of every value.

    Args:
        bits: Secure 0/1 array of shape ``(K, n, L)``, least significant bit first.
        layout: Output of :func:`digit_layout` for ``L``.

    Returns:
        Per digit (most significant first) a secure array of shape ``(K, n, 2**width)`` whose
        last axis is the indicator of the digit's value.  Computing them costs
        ``2**width - width - 1`` multiplications per value and digit, in
        ``ceil(log2(width))`` rounds, independent of everything else in the walk.
    """
    mpc = runtime()
    sectype = type(bits).sectype
    indicators = []
    for low, width in layout:
        # monomial[mask] = product of the bits in mask; built by increasing popcount so each
        # product joins two already-known halves (log depth, all products of a size in parallel).
        monomial: dict[int, Any] = {1 << i: bits[:, :, low + i] for i in range(width)}
        for size in range(2, width + 1):
            for mask in range(1 << width):
                if bin(mask).count("1") == size:
                    left, right = _subset_split(mask)
                    monomial[mask] = monomial[left] * monomial[right]
        shape = bits.shape[:2]
        # Moebius inversion: indicator[v] = sum over masks m >= v of (-1)^|m - v| monomial[m].
        onehot: list[Any] = [None] * (1 << width)
        onehot[0] = sectype.array(np.ones(shape, dtype=np.int64))
        for mask in range(1, 1 << width):
            onehot[mask] = monomial[mask]
        for i in range(width):
            for mask in range(1 << width):
                if not mask >> i & 1:
                    onehot[mask] = onehot[mask] - onehot[mask | 1 << i]
        # NB: explicit axis: mpc.np_stack mishandles axis=-1 (stacks along the middle axis).
        indicators.append(mpc.np_stack(onehot, axis=2))
    return indicators


def order_statistics(
    indicators: Sequence[SecureArray],
    valid: SecureArray,
    ranks: SecureArray | np.ndarray,
    *,
    count_bits: int,
) -> SecureArray:
    """The ``ranks``-th smallest valid value of every KPI, obliviously.

    Args:
        indicators: Digit one-hot arrays from :func:`digit_indicators` (most significant first).
        valid: Secure 0/1 array ``(K, n)``; only valid cells take part.
        ranks: 1-based ranks, shape ``(K, R)``, secure or public.  A rank outside
            ``[1, count]`` gives an unspecified value (callers give such lanes weight zero).
        count_bits: Bit length of the number of rows ``n``.

    Returns:
        Secure integer array ``(K, R)``: the order statistics as offset values.
    """
    mpc = runtime()
    sectype = type(valid).sectype
    num_kpis, num_rows = valid.shape
    num_ranks = ranks.shape[1]
    compare_bits = count_bits + 2  # counts and ranks lie in [0, n + 1]
    remaining = ranks
    active = None  # None: the valid cells, identical for every rank lane
    result: Any = 0
    zeros = sectype.array(np.zeros((num_kpis, num_ranks, 1), dtype=np.int64))
    ones = sectype.array(np.ones((num_kpis, num_ranks, 1), dtype=np.int64))
    for level, onehot in enumerate(indicators):
        width = onehot.shape[-1]
        if active is None:
            counts = valid.reshape(num_kpis, 1, num_rows) @ onehot  # (K, 1, W)
        else:
            counts = active @ onehot  # (K, R, W)
        below = np.cumsum(counts, axis=2)[:, :, : width - 1]  # below[v-1] = #{digit < v}
        # passed[v-1] = [#{digit < v} < remaining]: the digit is the number of bins passed.
        passed = mpc.np_sgn(below - remaining.reshape(num_kpis, num_ranks, 1),
                            l=compare_bits, LT=True)
        digit = np.sum(passed, axis=2)
        result = result * width + digit
        if level == len(indicators) - 1:
            break
        # Values skipped over: sum_v passed[v] * counts[v-1] (counts of the passed bins).
        remaining = remaining - np.sum(passed * counts[:, :, : width - 1], axis=2)
        padded = np.concatenate((ones, passed, zeros), axis=2)
        chosen = padded[:, :, :-1] - padded[:, :, 1:]  # one-hot of the chosen digit
        in_chosen_bin = chosen @ np.transpose(onehot, (0, 2, 1))  # (K, R, n)
        if active is None:
            active = valid.reshape(num_kpis, 1, num_rows) * in_chosen_bin
        else:
            active = active * in_chosen_bin
    return result
