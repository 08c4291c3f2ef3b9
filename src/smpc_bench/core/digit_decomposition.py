"""Secret integers to the one-hot digits the radix walk needs, in a few rounds, with a range check.

:func:`onehot_digits` decomposes secret values (secure integers of any MPyC type) straight into
the one-hot digits of :mod:`smpc_bench.core.order_stats` on share values (see
:mod:`smpc_bench.engine.local_shares`): one masked opening, the random bits of the mask and
``ceil(log2 D) + 3`` resharings for ``D`` digits, instead of MPyC's ``np_to_bits`` (a carry
circuit of many small secure-array operations) followed by one-hot encoding.
:func:`range_check` then tells, opening one masked field element, whether every value lay in
``[0, span]``.  Used by :mod:`smpc_bench.stats`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from smpc_bench.core.less_than import fold_digit_comparisons, onehot_shares
from smpc_bench.engine.driver import mpc_coroutine, runtime
from smpc_bench.engine.local_shares import open_values, random_ints, reshare

__all__ = ["onehot_digits", "range_check"]


@mpc_coroutine
async def onehot_digits(offsets, value_bits, layout):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """One-hot digits of ``a mod 2**L`` for secret ``a`` in ``(-2**l, 2**l)``: ``(1, n, sum 2**w)``.

    A bit decomposition that goes straight to digits, on share values: a random mask
    ``r = r_low + 2**L * r_high`` is made with the one-hot digits of ``r_low`` (from random
    bits, like the comparison masks of :mod:`smpc_bench.core.less_than`), and
    ``c = a + 2**l + r`` is opened; ``r_high`` covers ``l + sec_param`` bits, so ``c`` hides
    ``a`` statistically as in MPyC's ``np_to_bits``.  Digit ``j`` of ``a`` is
    ``(c_j - r_j - b_j) mod 2**w`` with the borrow ``b_j`` of the digits below: its one-hot
    vector is a public rotation of ``r_j``'s by ``c_j`` (or ``c_j - 1`` if ``b_j``), so one
    product with ``b_j``.  The borrows, ``b_{j+1} = [r_j > c_j] + [r_j == c_j] * b_j`` with
    public selections of one-hot entries, come from a parallel prefix: ``ceil(log2 D)``
    resharings for ``D`` digits.  Openings: the random bits' and ``c`` (``n`` values).
    """
    mpc = runtime()
    array_type = type(offsets)
    sectype = array_type.sectype
    field = sectype.field
    modulus = field.modulus
    count = offsets.shape[0]
    total = sum(1 << width for _, width in layout)
    await mpc.returnType((array_type, (1, count, total)))
    bit_length = sectype.bit_length
    # r_high: statistical hiding of a + 2**l < 2**(l+1), as long as c stays below the prime.
    high_bits = bit_length + mpc.options.sec_param + 1 - value_bits
    if (1 << (bit_length + 2)) + (1 << (high_bits + value_bits)) >= modulus:
        high_bits -= 1
    high = random_ints(sectype, count, 1 << high_bits)
    bits = (await mpc.np_random_bits(field, count * value_bits)).value.reshape(count, value_bits)
    low_mask = bits @ np.array([1 << i for i in range(value_bits)], dtype=object)
    least_first = list(reversed(layout))
    mask_onehots = await onehot_shares(field, [[bits[:, start + i] for i in range(width)]
                                               for start, width in least_first])
    values, high_shares = await mpc.gather(offsets, high)
    opened = await open_values(
        field, values.value + (1 << bit_length) + low_mask + (high_shares.value << value_bits),
        masked=True)
    rows = np.arange(count)
    low_opened = opened & ((1 << value_bits) - 1)
    if value_bits <= 64:  # machine words: much faster shifts than on Python ints
        low_opened = low_opened.astype(np.uint64)
    generate, propagate, digits = [], [], []
    for (start, width), onehot in zip(least_first, mask_onehots, strict=True):
        digit = ((low_opened >> low_opened.dtype.type(start))
                 & low_opened.dtype.type((1 << width) - 1)).astype(np.int64)
        above = np.concatenate((np.cumsum(onehot[:, ::-1], axis=1)[:, ::-1],
                                np.zeros((count, 1), dtype=object)), axis=1)
        generate.append(above[rows, digit + 1] % modulus)  # [r_j > c_j]
        propagate.append(onehot[rows, digit])  # [r_j == c_j]
        digits.append(digit)
    borrows = await _prefix_borrows(field, generate[:-1], propagate[:-1])  # into digits 1..D-1
    rotated, differences = [], []
    for j, ((_, width), onehot, digit) in enumerate(zip(least_first, mask_onehots, digits,
                                                        strict=True)):
        shifts = (digit[:, None] - np.arange(1 << width)[None, :]) % (1 << width)
        no_borrow = np.take_along_axis(onehot, shifts, axis=1)  # [r_j == c_j - v]
        rotated.append(no_borrow)
        if j:
            with_borrow = np.take_along_axis(onehot, (shifts - 1) % (1 << width), axis=1)
            differences.append(borrows[j - 1][:, None] * (with_borrow - no_borrow))
    corrections = await reshare(field, *differences) if differences else []
    onehots = [rotated[0] % modulus] + [(r + c) % modulus for r, c in
                                        zip(rotated[1:], corrections, strict=True)]
    stacked = np.concatenate(onehots[::-1], axis=1)  # most significant digit first
    return field.array(stacked.reshape(1, count, total), check=False)


async def _prefix_borrows(field: Any, generate: list[Any], propagate: list[Any]) -> list[Any]:
    """Borrow into digit ``j + 1`` for every ``j``: ``B = G_j + P_j * B_j``, ``B_0 = 0``.

    Kogge-Stone on shares: after the round with distance ``s`` each ``(G_j, P_j)`` covers the
    digits ``j - 2s + 1 .. j``; one resharing per round, ``ceil(log2 len)`` rounds.
    """
    modulus = field.modulus
    g, p = list(generate), list(propagate)
    distance = 1
    while distance < len(g):
        combined = range(distance, len(g))
        # A new P_j is only used by later rounds, and only for j >= 2 * distance.
        later = range(2 * distance, len(g))
        fresh = await reshare(field, *(p[j] * g[j - distance] for j in combined),
                              *(p[j] * p[j - distance] for j in later))
        g[distance:] = [(g[j] + f) % modulus for j, f in zip(combined, fresh, strict=False)]
        p[2 * distance :] = fresh[len(combined):]
        distance *= 2
    return g


@mpc_coroutine
async def range_check(offsets, stacked, span, layout):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """Public ``[every offset lies in [0, span]]``, opening one masked field element.

    Per value ``e = offset - (the value of its L-bit digits)`` is 0 exactly when
    ``0 <= offset < 2**L``, and ``1 - [offset <= span]`` (from the one-hot digits, as in
    :func:`smpc_bench.core.secure_table._in_range_flags`) is 0 exactly when the digits do not
    exceed the span's.  Their combination with secret uniform coefficients (one inner product:
    one resharing) is opened: 0 when all are 0, uniform otherwise.
    """
    mpc = runtime()
    await mpc.returnType(asyncio.Future)
    sectype = type(offsets).sectype
    field = sectype.field
    modulus = field.modulus
    count = offsets.shape[0]
    value_bits = sum(width for _, width in layout)
    coefficients = random_ints(sectype, 2 * count)
    offset_shares, digit_shares, weights = (
        g.value for g in await mpc.gather(offsets, stacked, coefficients))
    digit_shares = digit_shares[0]
    onehots, start = [], 0
    for _, width in layout:
        onehots.append(digit_shares[:, start : start + (1 << width)])
        start += 1 << width
    represented = sum(onehot @ (np.arange(1 << width, dtype=object) << low)
                      for (low, width), onehot in zip(layout, onehots, strict=True))
    terms = [(offset_shares - represented) % modulus]
    if span != (1 << value_bits) - 1:
        pairs: list[tuple[Any, Any]] = []
        for (low, width), onehot in zip(layout, onehots, strict=True):
            digit = (span >> low) & ((1 << width) - 1)
            pairs.append((onehot[:, :digit].sum(axis=1), onehot[:, digit]))
        within = await fold_digit_comparisons(field, pairs, or_equal=True)
        terms.append((1 - within) % modulus)
    else:
        terms.append(np.zeros(count, dtype=object))
    combined = np.sum(weights * np.concatenate(terms)) % modulus
    (shares,) = await reshare(field, np.array([combined], dtype=object))
    opened = await open_values(field, shares, masked=True)
    return bool(opened[0] == 0)
