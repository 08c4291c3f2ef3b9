"""Oblivious order statistics by a radix walk over bit-decomposed values.

For every requested rank the walk descends the binary trie of the values, one digit of
``radix_bits`` bits per level, from the most significant digit down.  At each level it counts,
per rank, how many still-active values fall in each digit bin (one secure matrix product: an
inner product costs a single resharing however long it is), compares the cumulative counts with
the remaining rank (``2**radix_bits - 1`` small comparisons per rank, for all KPIs and ranks in
one vectorised call of :mod:`smpc_bench.core.less_than`, whose masks for every level are made in
one batch up front), and narrows the active set to the chosen bin.

Nothing is opened except the comparisons' masked values, whose number and shape depend only on
the table's shape, the ranks requested and the radix.  Per level: the counts (one resharing),
``K*R*(2**radix_bits-1)`` comparisons on ``log2(n + 1) + 2`` bits (one opening and two
resharings for ``n < 32767``), then the skipped counts with the chosen bin (one resharing) and
the ``K*R*n`` new active flags (one resharing): six rounds a level, ``O(value_bits /
radix_bits)`` in all, never O(n).  The walk runs on share values (see
:mod:`smpc_bench.engine.local_shares`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from smpc_bench.core.less_than import less_than_zero_shares, onehot_shares, prepare_masks
from smpc_bench.engine.driver import mpc_coroutine, runtime
from smpc_bench.engine.local_shares import matmul, reshare

__all__ = ["digit_indicators", "order_statistics"]

SecureArray = Any  # mpyc.sectypes.SecureArray; mpyc ships no type information


def digit_indicators(bits: SecureArray, layout: Sequence[tuple[int, int]]) -> list[SecureArray]:
    """One-hot encode every digit of every value.

    Args:
        bits: Secure 0/1 array of shape ``(K, n, L)``, least significant bit first.
        layout: Output of :func:`digit_layout` for ``L``.

    Returns:
        Per digit (most significant first) a secure array of shape ``(K, n, 2**width)`` whose
        last axis is the indicator of the digit's value.  Computing them costs
        ``2**width - width - 1`` multiplications per value and digit, in
        ``ceil(log2(width))`` rounds (:func:`smpc_bench.core.less_than.onehot_shares`),
        independent of everything else in the walk.
    """
    stacked = _stacked_indicators(bits, list(layout))
    indicators = []
    offset = 0
    for _, width in layout:
        indicators.append(stacked[:, :, offset : offset + (1 << width)])
        offset += 1 << width
    return indicators


@mpc_coroutine
async def _stacked_indicators(bits, layout):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    mpc = runtime()
    array_type = type(bits)
    num_kpis, num_rows = bits.shape[:2]
    await mpc.returnType((array_type, (num_kpis, num_rows, sum(1 << w for _, w in layout))))
    field = array_type.sectype.field
    values = (await mpc.gather(bits)).value
    onehots = await onehot_shares(field, [[values[:, :, low + i] for i in range(width)]
                                          for low, width in layout])
    return field.array(np.concatenate(onehots, axis=2), check=False)


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
    sectype = type(valid).sectype
    num_kpis, num_rows = valid.shape
    # Counts and ranks lie in [0, n + 1], so their differences need l - 1 > log2(n + 1).
    compare_bits = (num_rows + 1).bit_length() + 1
    lanes = num_kpis * ranks.shape[1]
    masks = prepare_masks(sectype, lanes * sum(onehot.shape[-1] - 1 for onehot in indicators),
                          compare_bits)
    return _walk(list(indicators), valid, ranks, masks)


@mpc_coroutine
async def _walk(indicators, valid, ranks, masks):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """The walk on share values (``engine.local_shares``): MPyC only reshares and opens."""
    mpc = runtime()
    array_type = type(valid)
    num_kpis, num_rows = valid.shape
    num_ranks = ranks.shape[1]
    await mpc.returnType((array_type, (num_kpis, num_ranks)))
    field = array_type.sectype.field
    modulus = field.modulus
    secure_ranks = isinstance(ranks, array_type)
    gathered = await mpc.gather(valid, masks.material, masks.high, *indicators,
                                *([ranks] if secure_ranks else []))
    valid_shares, material, high = (g.value for g in gathered[:3])
    onehots = [g.value for g in gathered[3 : 3 + len(indicators)]]
    if modulus < 1 << 64:  # each level multiplies its digits twice: make them words once
        onehots = [onehot.astype(np.uint64) for onehot in onehots]
    remaining = gathered[-1].value if secure_ranks else np.asarray(ranks, dtype=object)
    members = valid_shares.reshape(num_kpis, 1, num_rows)  # rank lanes share it at first
    used = 0
    result: Any = np.zeros((num_kpis, num_ranks), dtype=object)
    ones = np.ones((num_kpis, num_ranks, 1), dtype=object)
    zeros = np.zeros((num_kpis, num_ranks, 1), dtype=object)
    for level, onehot in enumerate(onehots):
        width = onehot.shape[-1]
        (counts,) = await reshare(field, matmul(members, onehot, modulus))  # (K, 1|R, W)
        below = np.cumsum(counts, axis=2)[:, :, : width - 1]  # below[v-1] = #{digit < v}
        # passed[v-1] = [#{digit < v} < remaining]: the digit is the number of bins passed.
        differences = below - remaining.reshape(num_kpis, num_ranks, 1)  # (K, R, W-1)
        size = differences.size
        passed = (await less_than_zero_shares(
            field, differences.reshape(size) % modulus, masks.bit_length, masks.widths,
            material[used : used + size], high[used : used + size])).reshape(differences.shape)
        used += size
        result = (result * width + np.sum(passed, axis=2)) % modulus
        if level == len(onehots) - 1:
            break
        padded = np.concatenate((ones, passed, zeros), axis=2)
        chosen = padded[:, :, :-1] - padded[:, :, 1:]  # one-hot of the chosen digit
        # Values skipped over, sum_v passed[v] * counts[v-1] (the passed bins), and each
        # value's membership of the chosen bin: one resharing for both.
        skipped, in_chosen_bin = await reshare(
            field, passed * counts[:, :, : width - 1],
            matmul(chosen % modulus, np.transpose(onehot, (0, 2, 1)), modulus))
        remaining = (remaining - np.sum(skipped, axis=2)) % modulus
        (members,) = await reshare(field, members * in_chosen_bin)  # (K, R, n)
    return field.array(result, check=False)
