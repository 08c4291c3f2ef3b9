"""MPyC's pseudorandom function, with its output reduced in 64-bit words instead of Python ints.

Pseudorandom secret sharing (PRSS) and the random bits of every secure comparison draw their
field elements from :class:`mpyc.thresha.PRF`: SHAKE-128 output cut into ``l``-byte
little-endian integers, each reduced modulo the bound (for a 64-bit prime, ``l = 8 + 16``
bytes, so the reduction is nearly uniform).  MPyC converts and reduces them one Python int at a
time.  For bounds below ``2**64`` and ``l`` a multiple of 8, :func:`install` computes the same
numbers as ``sum_j w_j * 2**(64 j) mod bound`` over the 64-bit words ``w_j`` of each chunk, in
``uint64`` arithmetic (:mod:`smpc_bench.engine.accel.uint64_mod`): bit-for-bit the same values, so
parties with and without it interoperate.
"""

from __future__ import annotations

from hashlib import shake_128
from math import prod
from typing import Any

import numpy as np

from smpc_bench.engine.accel.uint64_mod import addmod, mulmod_scalar
from smpc_bench.engine.patches import Patch, PatchSet

__all__ = ["install", "installed", "prf_values", "uninstall"]

_MIN_VALUES = 64  # below this, the per-call numpy overhead exceeds the saving


def prf_values(digest: bytes, chunk_bytes: int, bound: int) -> np.ndarray:
    """The chunks of ``digest`` as little-endian integers reduced modulo ``bound``, as uint64.

    Args:
        digest: ``count * chunk_bytes`` bytes.
        chunk_bytes: A positive multiple of 8.
        bound: Modulus, ``1 < bound < 2**64``.
    """
    words_per_chunk = chunk_bytes // 8
    words = np.frombuffer(digest, dtype="<u8").reshape(-1, words_per_chunk)
    modulus = np.uint64(bound)
    total = words[:, 0] % modulus
    for j in range(1, words_per_chunk):
        weight = pow(2, 64 * j, bound)
        total = addmod(total, mulmod_scalar(words[:, j] % modulus, weight, bound), modulus)
    return total


def _mpyc_call() -> Any:
    """MPyC's own ``PRF.__call__`` (the current one when nothing is installed)."""
    from mpyc.thresha import PRF

    return _PATCHES.original("__call__") if _PATCHES.installed else PRF.__call__


def _call(self: Any, s: bytes, n: Any = None) -> Any:
    length = self.byte_length
    count = prod(n) if isinstance(n, tuple) else n
    if (not isinstance(count, int) or count < _MIN_VALUES or not length or length % 8
            or self.max >= 1 << 64):
        return _mpyc_call()(self, s, n)
    values = prf_values(shake_128(self.key + s).digest(count * length), length, self.max)
    if isinstance(n, tuple):
        return values.astype(object).reshape(n)
    return [int(v) for v in values]


def _patches() -> list[Patch]:
    from mpyc.thresha import PRF

    return [Patch(PRF, "__call__", _call)]


_PATCHES = PatchSet(_patches)


def install() -> None:
    """Use the word-wise reduction in :class:`mpyc.thresha.PRF` (idempotent)."""
    _PATCHES.install()


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return _PATCHES.installed


def uninstall() -> None:
    """Restore MPyC's own PRF evaluation."""
    _PATCHES.uninstall()
