"""A party's own share values, for the hot paths' local work inside one MPyC coroutine.

MPyC runs every operation on a secure array, even a local addition or a slice, as a coroutine
of its own with futures and event-loop callbacks: some tens of microseconds each.  The quantile
walk and its comparisons do hundreds of small local steps per round, so at a few hundred values
that overhead, not the arithmetic, was most of their time.  These paths therefore await their
secure inputs once and compute on the share values, NumPy object arrays of ints modulo the
field's prime, calling MPyC only to reshare products and to open masked values: how MPyC's own
protocols (``np_sgn``, ``np_random_bits``) are written.

Only use inside an MPyC coroutine (:func:`smpc_bench.engine.driver.mpc_coroutine`), identically on
every party: each call below is one message exchange, matched across parties by MPyC's program
counter.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from smpc_bench.engine.accel import matmul as fast_matmul
from smpc_bench.engine.accel.matmul import modmatmul
from smpc_bench.engine.driver import runtime

__all__ = ["matmul", "open_values", "reshare"]

ObjArray = np.ndarray  # dtype=object: Python ints


def matmul(a: np.ndarray, b: np.ndarray, modulus: int) -> ObjArray:
    """``(a @ b) % modulus`` of share values or public integer arrays (exact).

    Uses :mod:`smpc_bench.engine.accel.matmul` while it is installed (see
    :mod:`smpc_bench.engine.accel`), NumPy's object loop otherwise.
    """
    product = modmatmul(a, b, modulus) if fast_matmul.installed() else None
    if product is None:  # fast path off, not applicable or not worth it: NumPy's object loop
        product = np.asarray(np.matmul(a.astype(object), b.astype(object)) % modulus,
                             dtype=object)
    return product


async def reshare(field: Any, *parts: np.ndarray) -> list[ObjArray]:
    """Reshare local products (degree ``2t`` shares) of any shapes in one message exchange.

    Args:
        field: The MPyC prime field of the shares (``sectype.field``).
        parts: Local products, each any shape, entries ints (reduced here).

    Returns:
        The fresh degree-``t`` shares, in order, of the parts' shapes.
    """
    flat = np.concatenate([np.asarray(part, dtype=object).reshape(-1) for part in parts])
    fresh = (await runtime()._reshare(field.array(flat % field.modulus, check=False))).value
    results = []
    offset = 0
    for part in parts:
        size = math.prod(np.shape(part))
        results.append(fresh[offset : offset + size].reshape(np.shape(part)))
        offset += size
    return results


async def open_values(field: Any, values: np.ndarray) -> ObjArray:
    """Open shares to every party: the values in ``[0, p)``, as an object array of ints."""
    opened = await runtime().output(field.array(values % field.modulus, check=False))
    return np.asarray(opened.value, dtype=object)
