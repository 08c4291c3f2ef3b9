"""Secure ``[a < 0]`` for small secret integers, in two rounds after one masked opening.

MPyC's ``np_sgn`` (Toft's protocol) opens ``a`` plus a mask of ``l`` random bits, then compares
the public low bits with the mask's bits by a product of ``l + 1`` terms and a zero test: six
rounds for the walk's ~10-bit counts, plus the random bits.  Here the mask's low part ``r'`` is
prepared ahead of time, in one batch for every comparison of a computation, as the one-hot
encodings of its digits (digits of at most 4 bits; made from random bits by multiplications
that do not depend on the data).  Once ``c = b + r' + 2**l * r''`` is open (``b = a + 2**l``),
``[c mod 2**l < r']`` is, per digit, a *public* selection of one-hot entries:
``[c_j < r_j]`` and ``[c_j == r_j]`` are sums of entries, so combining the ``D`` digits costs
``ceil(log2 D)`` rounds of multiplications (one for ``D = 2``, two for ``D = 4``), and then
``[a < 0] = 1 - (c >> l) + r'' + [c mod 2**l < r']``.

Secrecy is MPyC's: ``c mod 2**l`` is uniform (``r'`` is), and ``c >> l`` hides the one bit of
``b`` above them statistically by ``r'' < 2**k`` (``k = mpc.options.sec_param``).  The opened
values' number and shape depend only on the number of comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from smpc_bench.engine.driver import mpc_coroutine, runtime
from smpc_bench.engine.local_shares import open_values, random_ints, reshare

__all__ = [
    "ComparisonMasks",
    "fold_digit_comparisons",
    "less_than_zero",
    "less_than_zero_shares",
    "mask_digit_widths",
    "onehot_shares",
    "prepare_masks",
]

SecureArray = Any

#: Called as ``observer(elements, bit_length)`` by every comparison (cost tracking).
OBSERVERS: list[Callable[[int, int], None]] = []

#: Widest mask digit: a w-bit digit costs 2**w - w - 1 products to encode one-hot.
MAX_DIGIT_BITS = 4


def mask_digit_widths(bit_length: int) -> tuple[int, ...]:
    """Digit widths of an ``l``-bit mask, most significant first.

    The number of digits is the smallest power of two that keeps every digit at most
    :data:`MAX_DIGIT_BITS` wide (a power of two keeps the combining tree full); the widths
    differ by at most one, the wider ones on top.
    """
    if bit_length < 1:
        raise ValueError("bit_length must be positive")
    digits = 1
    while digits * MAX_DIGIT_BITS < bit_length:
        digits *= 2
    digits = min(digits, bit_length)
    base, extra = divmod(bit_length, digits)
    return tuple(base + 1 if j < extra else base for j in range(digits))


def _halves(mask: int) -> tuple[int, int]:
    """Split a bit mask into two halves of (nearly) equal popcount."""
    members = [i for i in range(mask.bit_length()) if mask >> i & 1]
    low = sum(1 << i for i in members[: len(members) // 2])
    return low, mask ^ low


def _depth(mask: int) -> int:
    return (bin(mask).count("1") - 1).bit_length()


async def onehot_shares(field: Any, digit_bits: Sequence[Sequence[Any]]) -> list[Any]:
    """Shares of the one-hot encodings of digits given by the shares of their bits.

    Args:
        field: The shares' prime field.
        digit_bits: Per digit, the shares of its bits (least significant first), all arrays of
            one shape ``S``.

    Returns:
        Per digit, shares of shape ``(*S, 2**width)``: the indicator of the digit's value.
        All monomials (products of a digit's bits) of one depth, over all digits, are one
        resharing: ``ceil(log2(max width))`` rounds, ``2**w - w - 1`` products per ``w``-bit
        digit.  The one-hot vector is the Moebius inversion of the monomials:
        ``onehot[v] = sum over masks m >= v of (-1)**|m - v| * monomial[m]``.
    """
    widths = [len(bits) for bits in digit_bits]
    monomials: dict[tuple[int, int], Any] = {  # (digit, mask) -> shares
        (j, 1 << i): bit for j, bits in enumerate(digit_bits) for i, bit in enumerate(bits)}
    for depth in range(1, _depth((1 << max(widths)) - 1) + 1):
        wanted = [(j, mask) for j, width in enumerate(widths) for mask in range(1, 1 << width)
                  if _depth(mask) == depth]
        if wanted:
            fresh = await reshare(field, *(
                monomials[(j, _halves(mask)[0])] * monomials[(j, _halves(mask)[1])]
                for j, mask in wanted))
            monomials.update(zip(wanted, fresh, strict=True))
    onehots = []
    for j, width in enumerate(widths):
        shape = np.shape(digit_bits[j][0])
        onehot = [np.ones(shape, dtype=object)] + [monomials[(j, m)] for m in range(1, 1 << width)]
        for i in range(width):
            for mask in range(1 << width):
                if not mask >> i & 1:
                    onehot[mask] = onehot[mask] - onehot[mask | 1 << i]
        onehots.append(np.stack(onehot, axis=-1) % field.modulus)
    return onehots


async def fold_digit_comparisons(field: Any, pairs: Sequence[tuple[Any, Any]], *,
                                 or_equal: bool = False) -> Any:
    """Combine per-digit comparisons into ``[x < y]`` (or ``[x <= y]``), on shares.

    Args:
        field: The shares' prime field.
        pairs: Per digit, most significant first, shares of ``([x_j < y_j], [x_j == y_j])``
            (public ints such as 0 are fine).
        or_equal: Return ``[x <= y]`` instead of ``[x < y]``.

    Returns:
        The shares.  Neighbours merge as ``lt = lt_hi + eq_hi * lt_lo``,
        ``eq = eq_hi * eq_lo``, one resharing per tree level; the top merge needs a single
        product (``eq_hi * lt_lo``, or ``eq_hi * (lt_lo + eq_lo)`` for ``<=``).
    """
    modulus = field.modulus
    pairs = list(pairs)
    while len(pairs) > 1:
        last = len(pairs) == 2
        merges = [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)]
        local = []
        for (_, eq_hi), (lt_lo, eq_lo) in merges:
            if last:
                local.append(eq_hi * (lt_lo + eq_lo) if or_equal else eq_hi * lt_lo)
            else:
                local += [eq_hi * lt_lo, eq_hi * eq_lo]
        fresh = await reshare(field, *local)
        if last:
            return np.asarray((merges[0][0][0] + fresh[0]) % modulus, dtype=object)
        merged = [(hi[0] + fresh[2 * i], fresh[2 * i + 1]) for i, (hi, _) in enumerate(merges)]
        if len(pairs) % 2:
            merged.append(pairs[-1])
        pairs = merged
    less, equal = pairs[0]
    return np.asarray((less + equal if or_equal else less) % modulus, dtype=object)


@mpc_coroutine
async def _mask_material(sectype, count, bit_length, widths):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    mpc = runtime()
    field = sectype.field
    await mpc.returnType((sectype.array, (count, 1 + sum(1 << w for w in widths))))
    bits = (await mpc.np_random_bits(field, count * bit_length)).value.reshape(count, bit_length)
    low = (bits @ np.array([1 << i for i in range(bit_length)], dtype=object)) % field.modulus
    tops = np.cumsum(widths[::-1])[::-1]  # one past each digit's top bit, most significant first
    onehots = await onehot_shares(field, [[bits[:, i] for i in range(top - width, top)]
                                          for top, width in zip(tops, widths, strict=True)])
    return field.array(np.concatenate([low.reshape(count, 1), *onehots], axis=1), check=False)


@dataclass(frozen=True)
class ComparisonMasks:
    """Random material for ``N`` comparisons of ``bit_length``-bit integers.

    Attributes:
        bit_length: ``l``: each compared ``a`` must lie in ``[-2**(l-1), 2**(l-1))``.
        widths: Digit widths of the mask's low part, most significant first.
        material: Secure ``(N, 1 + sum(2**width))``: per comparison the low part ``r'``
            (uniform in ``[0, 2**l)``), then the one-hot encoding of each of its digits.
        high: Secure ``(N,)``: the high part ``r''``, in ``[0, 2**k)``.
    """

    bit_length: int
    widths: tuple[int, ...]
    material: SecureArray
    high: SecureArray

    def __len__(self) -> int:
        return int(self.high.shape[0])

    def take(self, start: int, stop: int) -> ComparisonMasks:
        """The masks of comparisons ``start .. stop - 1`` (each mask is used once)."""
        if not 0 <= start <= stop <= len(self):
            raise IndexError(f"masks {start}:{stop} of {len(self)}")
        return ComparisonMasks(self.bit_length, self.widths, self.material[start:stop],
                               self.high[start:stop])


def prepare_masks(sectype: Any, count: int, bit_length: int) -> ComparisonMasks:
    """Make the masks for ``count`` comparisons, in one batch (independent of any data).

    Costs ``count * bit_length`` random bits (one opening round) and, per comparison, the
    ``2**w - w - 1`` products of each ``w``-bit digit, in ``ceil(log2(max w))`` rounds.
    """
    mpc = runtime()
    if count < 1:
        raise ValueError("count must be positive")
    security = mpc.options.sec_param
    if bit_length + security + 2 > sectype.field.order.bit_length():
        raise ValueError(f"{bit_length}-bit comparisons need a field of more than "
                         f"{bit_length + security + 2} bits")
    widths = mask_digit_widths(bit_length)
    material = _mask_material(sectype, count, bit_length, widths)
    high = random_ints(sectype, count, 1 << security)
    return ComparisonMasks(bit_length, widths, material, high)


async def less_than_zero_shares(field: Any, a: np.ndarray, bit_length: int,
                                widths: tuple[int, ...], material: np.ndarray,
                                high: np.ndarray) -> np.ndarray:
    """``[a < 0]`` on share values, inside an MPyC coroutine (see ``engine.local_shares``).

    Args:
        field: The shares' prime field.
        a: Shares ``(N,)`` of integers in ``[-2**(l-1), 2**(l-1))``.
        bit_length: ``l``.
        widths: The masks' digit widths.
        material: Shares ``(N, 1 + sum(2**w))`` of unused masks (see :class:`ComparisonMasks`).
        high: Shares ``(N,)`` of the masks' high parts.

    Returns:
        Shares ``(N,)`` of the 0/1 results.
    """
    count = a.shape[0]
    for observer in OBSERVERS:
        observer(count, bit_length)
    modulus = field.modulus
    shift = 1 << bit_length
    low = material[:, 0]
    opened = await open_values(field, a + shift + low + high * shift, masked=True)
    c_low = (opened & (shift - 1)).astype(np.int64)
    c_high = opened >> bit_length
    rows = np.arange(count)
    pairs = []  # per digit (most significant first): shares of [c_j < r_j], [c_j == r_j]
    column = 1
    position = bit_length
    for width in widths:
        position -= width
        onehot = material[:, column : column + (1 << width)]
        column += 1 << width
        digit = (c_low >> position) & ((1 << width) - 1)
        # at_least[:, v] = sum of onehot[:, u] for u >= v; [c_j < r_j] = at_least[:, c_j + 1].
        at_least = np.concatenate(
            (np.cumsum(onehot[:, ::-1], axis=1)[:, ::-1], np.zeros((count, 1), dtype=object)),
            axis=1)
        pairs.append((at_least[rows, digit + 1], onehot[rows, digit]))
    below_mask = await fold_digit_comparisons(field, pairs)  # [c' < r'] over all digits
    return np.asarray((1 - c_high + high + below_mask) % modulus, dtype=object)


@mpc_coroutine
async def _less_than_zero(a, masks):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    mpc = runtime()
    array_type = type(a)
    await mpc.returnType((array_type, a.shape))
    field = array_type.sectype.field
    values, material, high = await mpc.gather(a, masks.material, masks.high)
    result = await less_than_zero_shares(field, values.value.reshape(-1), masks.bit_length,
                                         masks.widths, material.value, high.value)
    return field.array(result.reshape(a.shape), check=False)


def less_than_zero(a: SecureArray, masks: ComparisonMasks) -> SecureArray:
    """Secure ``[a < 0]`` elementwise, for ``a`` in ``[-2**(l-1), 2**(l-1))``.

    Args:
        a: Secure integer array of any shape.
        masks: Exactly ``a.size`` unused masks from :func:`prepare_masks` (``l`` is theirs).

    Returns:
        Secure 0/1 array of ``a``'s shape.  Costs one opening of ``a.size`` masked values and
        ``ceil(log2 D)`` multiplication rounds (``D`` mask digits), nothing else.
    """
    if len(masks) != a.size:
        raise ValueError(f"{a.size} comparisons need as many masks, got {len(masks)}")
    return _less_than_zero(a, masks)
