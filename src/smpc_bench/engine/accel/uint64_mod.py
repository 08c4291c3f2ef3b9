"""Exact modular arithmetic on ``uint64`` arrays, for primes below ``2**64``.

Wrap-around of 64-bit words is intended and silent for arrays: every function below accounts
for it.  Shared by :mod:`smpc_bench.engine.accel.sharing` (share generation and recombination) and
:mod:`smpc_bench.engine.accel.matmul` (reducing limb products).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["addmod", "mul_wide", "mulmod_scalar"]

U64Array = npt.NDArray[np.uint64]


def addmod(a: U64Array, b: U64Array, p: np.uint64) -> U64Array:
    """Return ``(a + b) % p`` for ``a, b < p <= 2**64 - 1``, exact even when ``a + b`` wraps."""
    z = a + b
    return np.where((z < a) | (z >= p), z - p, z)


_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def mul_wide(a: U64Array, b: int) -> tuple[U64Array, U64Array]:
    """Return the exact 128-bit products ``a * b`` as ``(high, low)`` 64-bit words.

    Args:
        a: Array of 64-bit unsigned integers.
        b: A Python int, ``0 <= b < 2**64``.

    Returns:
        ``(a * b) >> 64`` and ``(a * b) % 2**64``, elementwise.
    """
    b0 = np.uint64(b & 0xFFFFFFFF)
    b1 = np.uint64(b >> 32)
    a0 = a & _M32
    a1 = a >> _S32
    t00 = a0 * b0
    t01 = a0 * b1
    t10 = a1 * b0
    mid = (t00 >> _S32) + (t01 & _M32) + (t10 & _M32)  # < 3 * 2**32
    high = a1 * b1 + (t01 >> _S32) + (t10 >> _S32) + (mid >> _S32)
    return high, a * np.uint64(b)


def mulmod_scalar(a: U64Array, c: int, p: int) -> U64Array:
    """Return ``(a * c) % p`` exactly, for residues ``0 <= a, c < p < 2**64``.

    Shoup's precomputed-quotient multiplication, in integer arithmetic only.  With
    ``c' = floor(c * 2**64 / p)``, the estimate ``q = floor(a * c' / 2**64)`` satisfies
    ``Q - 1 <= q <= Q`` for the true quotient ``Q = floor(a * c / p)`` (the error, ``a`` times the
    fractional part of ``c * 2**64 / p`` over ``2**64``, is below 1 as ``a < 2**64``), so
    ``r = a * c - q * p`` lies in ``[0, 2 p)``.  For
    ``p < 2**63`` that is below ``2**64`` and the wrapping 64-bit difference is ``r`` itself; for
    larger ``p`` the high words of both 128-bit products tell whether ``r >= 2**64``.  One
    conditional subtraction of ``p`` finishes.

    Args:
        a: Residues modulo ``p`` as ``uint64``.
        c: A residue modulo ``p``.
        p: The modulus, ``1 < p < 2**64``.

    Returns:
        The residues ``a * c mod p`` in ``[0, p)``.
    """
    pu = np.uint64(p)
    q, _ = mul_wide(a, (c << 64) // p)
    if p < 1 << 63:
        r = a * np.uint64(c) - q * pu
        return np.where(r >= pu, r - pu, r)
    prod_high, prod_low = mul_wide(a, c)
    qp_high, qp_low = mul_wide(q, p)
    r = prod_low - qp_low
    r_high = prod_high - qp_high - (prod_low < qp_low).astype(np.uint64)  # 0 or 1
    return np.where((r_high != 0) | (r >= pu), r - pu, r)
