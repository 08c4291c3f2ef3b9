"""Exact matrix products over prime fields below 2**64, computed with float64 BLAS on limbs.

MPyC stores field arrays as numpy object arrays of Python ints, so a local matrix product runs
the generic object loop at ~100 ns per multiply-add; the quantile walk's per-level products
(``active @ onehot``) dominated its local work.  Splitting every residue into four 16-bit limbs
makes each limb product an exact float64 matrix product (terms below ``2**32``, sums below
``2**53`` while the inner dimension stays below ``2**21``); recombining the 16 partial products
with Python ints and reducing mod ``p`` gives bit-for-bit the same result as MPyC's own code.

:func:`install` patches ``PrimeFieldArray.__matmul__``/``__rmatmul__``; anything outside the fast
path (larger fields, huge inner dimensions, scalars) falls through to MPyC's original.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smpc_bench.engine.accel.uint64_mod import addmod, mulmod_scalar
from smpc_bench.engine.patches import Patch, PatchSet

__all__ = ["install", "installed", "modmatmul", "uninstall"]

_LIMB_BITS = 16
_LIMBS = 4  # 4 x 16 bits cover residues below 2**64
_MAX_INNER = 1 << (53 - 2 * _LIMB_BITS)  # float64 stays exact below this inner dimension
_MIN_WORK = 4096  # below this many multiply-adds the object loop is just as fast
_MIN_WORD_OUTPUTS = 1024  # below this many outputs Python ints recombine faster than words
_MAX_PAIRED_INNER = 1 << 12  # up to this inner dimension two limb groups share a word



def _limbs(residues: np.ndarray) -> list[np.ndarray]:
    words = residues.astype(np.uint64)
    mask = np.uint64((1 << _LIMB_BITS) - 1)
    return [((words >> np.uint64(_LIMB_BITS * j)) & mask).astype(np.float64)
            for j in range(_LIMBS)]


def _residues(values: np.ndarray, modulus: int, *, reduced: bool = False) -> np.ndarray:
    if values.dtype == object:
        if reduced:  # field-array values already lie in [0, modulus)
            return values.astype(np.uint64)
        return np.asarray(values % modulus, dtype=object).astype(np.uint64)
    as_int = values.astype(np.int64) if values.dtype != np.uint64 else values
    if as_int.dtype == np.uint64:
        return as_int % np.uint64(modulus)
    return (as_int.astype(object) % modulus).astype(np.uint64)


def modmatmul(a: np.ndarray, b: np.ndarray, modulus: int, *, a_reduced: bool = False,
              b_reduced: bool = False) -> np.ndarray | None:
    """``(a @ b) % modulus`` as an object array, or None if the fast path does not apply.

    Args:
        a: Integer or object array (any values; reduced first), at least 1-D.
        b: Same, matmul-compatible with ``a``.
        modulus: Prime below ``2**64``.
        a_reduced: ``a`` is known to hold residues in ``[0, modulus)`` (skips a reduction).
        b_reduced: Same for ``b``.
    """
    if modulus >= 1 << 64 or a.ndim == 0 or b.ndim == 0:
        return None
    if not (a.dtype == object or np.issubdtype(a.dtype, np.integer)):
        return None
    if not (b.dtype == object or np.issubdtype(b.dtype, np.integer)):
        return None
    inner = a.shape[-1]
    if inner >= _MAX_INNER or inner * max(a.size // max(inner, 1), 1) * (
            b.size // max(inner, 1)) < _MIN_WORK:
        return None
    a_limbs = _limbs(_residues(a, modulus, reduced=a_reduced))
    b_limbs = _limbs(_residues(b, modulus, reduced=b_reduced))
    groups = []
    for shift in range(2 * _LIMBS - 1):
        group: np.ndarray | None = None
        for j in range(max(0, shift - _LIMBS + 1), min(shift, _LIMBS - 1) + 1):
            partial = np.matmul(a_limbs[j], b_limbs[shift - j]).astype(np.uint64)
            group = partial if group is None else group + partial  # < 4 * 2**53: fits
        assert group is not None
        groups.append(group)
    # terms: (words, shift) with result = sum(words << shift) mod p.
    terms = [(group, _LIMB_BITS * shift) for shift, group in enumerate(groups)]
    if inner <= _MAX_PAIRED_INNER:
        # Groups lie below 4 * inner * 2**32 <= 2**46, so a neighbour shifted by 16 bits still
        # fits a word (< 2**63): 4 terms to recombine instead of 7.
        terms = [(groups[i] + (groups[i + 1] << np.uint64(_LIMB_BITS))
                  if i + 1 < len(groups) else groups[i], _LIMB_BITS * i)
                 for i in range(0, len(groups), 2)]
    if groups[0].size < _MIN_WORD_OUTPUTS:  # a few numpy calls per word operation: not worth it
        total: Any = sum(words.astype(object) << shift for words, shift in terms)
        return np.asarray(total % modulus, dtype=object)
    # Recombine in 64-bit words: Python ints would cost ~100 ns per output and term.
    p = np.uint64(modulus)
    total = None
    for words, shift in terms:
        term = words % p if shift == 0 else mulmod_scalar(words % p, pow(2, shift, modulus),
                                                           modulus)
        total = term if total is None else addmod(total, term, p)
    return np.asarray(total, dtype=np.uint64).astype(object)


def _fast_matmul(self: Any, other: Any) -> Any:
    cls = type(self)
    coerced = cls._coerce(other)
    if coerced is NotImplemented:
        return NotImplemented
    if isinstance(coerced, np.ndarray):
        product = modmatmul(self.value, coerced, cls.field.modulus, a_reduced=True,
                            b_reduced=isinstance(other, cls))
        if product is not None:
            return cls(product) if product.ndim else cls.field(int(product))
    return _PATCHES.original("__matmul__")(self, other)


def _fast_rmatmul(self: Any, other: Any) -> Any:
    cls = type(self)
    coerced = cls._coerce(other)
    if coerced is NotImplemented:
        return NotImplemented
    if isinstance(coerced, np.ndarray):
        product = modmatmul(coerced, self.value, cls.field.modulus,
                            a_reduced=isinstance(other, cls), b_reduced=True)
        if product is not None:
            return cls(product) if product.ndim else cls.field(int(product))
    return _PATCHES.original("__rmatmul__")(self, other)


def _patches() -> list[Patch]:
    from mpyc.finfields import PrimeFieldArray

    return [Patch(PrimeFieldArray, "__matmul__", _fast_matmul),
            Patch(PrimeFieldArray, "__rmatmul__", _fast_rmatmul)]


_PATCHES = PatchSet(_patches)


def install() -> None:
    """Use the BLAS path for matrix products of prime-field arrays (idempotent)."""
    _PATCHES.install()


def uninstall() -> None:
    """Restore MPyC's own matrix products."""
    _PATCHES.uninstall()


def installed() -> bool:
    """Whether the fast path is active."""
    return _PATCHES.installed
