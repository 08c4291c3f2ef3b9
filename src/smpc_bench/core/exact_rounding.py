"""Exact rounding of secret ratios with public divisors, in a secure type wide enough for them.

A mean, variance or interpolated quantile is an exact ratio ``N / E`` of a secret integer and a
public one; returning it as a value of the caller's secure type means rounding it once.  The
caller's field has only ``sec_param + 2`` bits of room above its values, too little for ``N``
and a statistical mask, so the values are first converted (:func:`widen`: MPyC's ``convert``,
one masked opening) to a secure integer type of :func:`rounding_width` bits, where
:func:`round_half_up` and :func:`rounded_sqrt` work with MPyC's truncation and comparisons.
Used by :mod:`smpc_bench.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from smpc_bench.engine.driver import runtime

__all__ = ["round_half_up", "round_up_bits", "rounded_sqrt", "rounding_width", "sqrt_width",
           "widen"]

SecureArray = Any  # mpyc.sectypes.SecureArray; mpyc ships no type information


def round_up_bits(bits: int) -> int:
    """Bit lengths rounded up to a multiple of 32: fewer distinct secure types (and primes)."""
    return -(-bits // 32) * 32


def rounding_width(width: int, divisor: int) -> int:
    """Bit length of a secure type in which :func:`round_half_up` of ``width``-bit values works."""
    moved = width + 2  # M = 2N + E + G*T < 2**(width + 2)
    shift = moved + divisor.bit_length() + 1
    return moved + shift + 2


def sqrt_width(largest: int, denominator: int) -> int:
    """Bit length needed by :func:`rounded_sqrt` for numerators up to ``largest``."""
    bits = (math.isqrt(largest // denominator) + 1).bit_length()
    return (4 * largest + denominator * (1 << (2 * bits + 2))).bit_length() + 4


def widen(values: SecureArray, width_or_type: Any) -> SecureArray:
    """The values in a secure integer type of (at least) the given bit length.

    MPyC's ``convert``: one masked opening of the values (which must be valid values of their
    own type), no other message.
    """
    mpc = runtime()
    wtype = (mpc.SecInt(round_up_bits(width_or_type)) if isinstance(width_or_type, int)
             else width_or_type)
    return mpc.np_fromlist(mpc.convert(mpc.np_tolist(values), wtype))


def round_half_up(numerators: SecureArray, divisors: Sequence[int], width: int) -> SecureArray:
    """Secure ``floor(N / E + 1/2)`` elementwise, for ``|N| < 2**(width - 1)``, public ``E > 0``.

    With ``G = 2E`` and a public ``T`` that makes ``M = 2N + E + G*T`` positive,
    ``floor(M / G) - T`` is the result.  ``floor(M / G) = floor(M * K / 2**s)`` exactly for
    ``K = ceil(2**s / G)`` and ``s = bits(M) + bits(G) + 1``; MPyC's ``np_trunc`` gives it or
    one more, and a comparison of ``M - q*G`` (a few bits) with 0 corrects that.  The secure
    type must be :func:`rounding_width` bits wide.
    """
    mpc = runtime()
    divisors = [int(e) for e in divisors]
    doubled = [2 * e for e in divisors]
    lifts = [-(-(1 << width) // g) for g in doubled]  # G*T >= 2**width > -2N
    moved_bits = width + 2
    shift = moved_bits + max(doubled).bit_length() + 1
    multipliers = np.array([-(-(1 << shift) // g) for g in doubled], dtype=object)
    moved = numerators * 2 + np.array([e + g * t for e, g, t in
                                       zip(divisors, doubled, lifts, strict=True)], dtype=object)
    quotient = mpc.np_trunc(moved * multipliers, f=shift, l=moved_bits + shift + 2)
    remainder = moved - quotient * np.array(doubled, dtype=object)  # in [-G, G)
    too_far = mpc.np_sgn(remainder, l=max(doubled).bit_length() + 2, LT=True)
    return quotient - too_far - np.array(lifts, dtype=object)


def rounded_sqrt(numerator: SecureArray, denominator: int, largest: int) -> SecureArray:
    """Secure ``floor(sqrt(N / D) + 1/2)`` for ``0 <= N <= largest``, bit by bit.

    The result is the largest ``r >= 0`` with ``r == 0`` or ``(2r - 1)**2 * D <= 4N``: one
    comparison per result bit, keeping ``r**2`` alongside (as ``mpyc.statistics._isqrt`` does).
    """
    mpc = runtime()
    wtype = type(numerator).sectype
    bits = (math.isqrt(largest // denominator) + 1).bit_length()
    compare_bits = (4 * largest + denominator * (1 << (2 * bits + 2))).bit_length() + 2
    root = wtype.array(np.zeros(1, dtype=object))
    square = wtype.array(np.zeros(1, dtype=object))
    four_n = numerator * 4
    for i in reversed(range(bits)):
        step = 1 << i
        trial = root + step
        trial_square = square + root * (2 * step) + step * step
        slack = four_n - (trial_square * 4 - trial * 4 + 1) * denominator
        take = 1 - mpc.np_sgn(slack, l=compare_bits, LT=True)
        square = square + take * (root * (2 * step) + step * step)
        root = root + take * step
    return root
