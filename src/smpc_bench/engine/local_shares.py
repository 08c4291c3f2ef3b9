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
from contextvars import ContextVar
from typing import Any

import numpy as np

from smpc_bench.engine.accel import matmul as fast_matmul
from smpc_bench.engine.accel.matmul import modmatmul
from smpc_bench.engine.driver import runtime

__all__ = ["matmul", "open_values", "opening_is_masked", "random_ints", "reshare"]

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


#: Set while a masked sub-protocol opens a value: cost accounting and the opening log read it
#: (:func:`opening_is_masked`) to tell masked openings from declared outputs.
_MASKED: ContextVar[bool] = ContextVar("smpc_bench_masked_opening", default=False)


def opening_is_masked() -> bool:
    """Whether the opening being made right now was marked masked by its caller."""
    return _MASKED.get()


async def open_values(field: Any, values: np.ndarray, *, masked: bool = False) -> ObjArray:
    """Open shares to every party: the values in ``[0, p)``, as an object array of ints.

    Args:
        field: The MPyC prime field of the shares.
        values: The shares (ints, reduced here).
        masked: The values are uniformly masked (a comparison's masked difference, say), not a
            declared output; recorded as such by :mod:`smpc_bench.costs`.
    """
    token = _MASKED.set(masked)
    try:  # only the call is marked: MPyC records the opening when it is issued
        pending = runtime().output(field.array(values % field.modulus, check=False))
    finally:
        _MASKED.reset(token)
    opened = await pending
    return np.asarray(opened.value, dtype=object)


def random_ints(sectype: Any, count: int, bound: int | None = None) -> Any:
    """``count`` secret random integers, uniform in ``[0, bound)`` (default: the field).

    MPyC's own vectorised draw (``Runtime._np_randoms``, PRSS or interactive as the round
    runs), the one its comparisons use for their masks.
    """
    if bound is None:
        return runtime()._np_randoms(sectype, count)
    return runtime()._np_randoms(sectype, count, bound)
