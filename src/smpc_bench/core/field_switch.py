"""Move small secret values from the round's main (narrow) field into a wide one.

The main field stays a prime below ``2**64`` so that every fast local path applies; the second
moments and the dominance comparison need more room (see :mod:`smpc_bench.spec.sizing`), and
get it in a second prime field that only they use.  A secret ``x`` with ``0 <= x < 2**b`` is
moved by a statistically masked opening (honest majority, passive security):

1. each of the parties ``0..t`` (``t`` = MPyC's threshold, so at least one of them is honest)
   draws ``r_i`` uniform in ``[0, 2**(b + k))``, ``k = mpc.options.sec_param``, and inputs the
   same ``r_i`` in BOTH fields; ``r = sum r_i`` does not wrap in either field;
2. the parties open ``c = x + r`` in the main field (no wrap: the main prime exceeds
   ``(t + 1) * 2**(b + k) + 2**b``, which :func:`smpc_bench.spec.sizing.size_for` ensures for up
   to :data:`~smpc_bench.spec.sizing.MAX_MASK_PARTIES` mask parties, checked here);
3. ``x = c - r`` in the wide field, locally.

``c`` is ``x`` plus an honest party's uniform ``r_j`` (the others' are independent of it), so its
distribution is within statistical distance ``2**-k`` of one that does not depend on ``x``; the
opening is recorded as masked.  Costs: one input round (every mask party shares its masks in
both fields; it runs beside whatever computes ``x``, so it is rarely on the critical path) and
one opening round; the opened values' number and shape depend only on the number of values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from smpc_bench.engine.accel.sharing import uniform_below
from smpc_bench.engine.driver import mpc_coroutine, runtime
from smpc_bench.engine.local_shares import open_values

__all__ = ["WideCells", "to_wide", "wide_cells", "wide_type"]

SecureArray = Any


def wide_type(table: Any) -> Any:
    """The wide secure integer type of ``table``'s sizing (None if it has none)."""
    bits = table.sizing.moment_field_bits
    return None if bits is None else runtime().SecInt(bits)


def _masks(narrow: Any, wide: Any, count: int, bits: int) -> tuple[SecureArray, SecureArray]:
    """``r = sum_{i <= t} r_i`` as shares in both fields: ``(narrow, wide)``, each ``(count,)``."""
    mpc = runtime()
    senders = list(range(mpc.threshold + 1))
    bound = 1 << (bits + mpc.options.sec_param)
    mine = uniform_below(bound, count) if mpc.pid in senders else np.zeros(count, dtype=object)
    narrow_parts = mpc.input(narrow.array(mine), senders=senders)
    wide_parts = mpc.input(wide.array(mine), senders=senders)
    narrow_sum, wide_sum = narrow_parts[0], wide_parts[0]
    for narrow_part, wide_part in zip(narrow_parts[1:], wide_parts[1:], strict=True):
        narrow_sum = narrow_sum + narrow_part  # local
        wide_sum = wide_sum + wide_part
    return narrow_sum, wide_sum


def to_wide(values: SecureArray, bits: int, wide: Any) -> SecureArray:
    """``values`` (a secure main-field array, entries in ``[0, 2**bits)``) in the wide field.

    Args:
        values: Secure array of any shape; every entry must lie in ``[0, 2**bits)`` (an entry
            outside gives a wrong, unspecified result, and its opening is not hiding).
        bits: The bound's bit length ``b``.
        wide: The wide secure integer type (:func:`wide_type`).

    Returns:
        A secure array of type ``wide.array`` and the shape of ``values``.

    Raises:
        ValueError: The main field is too narrow for the masks of this many parties.
    """
    mpc = runtime()
    narrow = type(values).sectype
    parties = mpc.threshold + 1
    bound = 1 << (bits + mpc.options.sec_param)
    if parties * (bound - 1) + (1 << bits) - 1 >= narrow.field.modulus:
        raise ValueError(f"{parties} mask parties do not fit the main field: size it with "
                         "smpc_bench.spec.sizing.size_for")
    shape = tuple(values.shape)
    size = int(np.prod(shape))
    narrow_mask, wide_mask = _masks(narrow, wide, size, bits)
    return _switch(values.reshape(size), narrow_mask, wide_mask, wide).reshape(shape)


@mpc_coroutine
async def _switch(values, narrow_mask, wide_mask, wide):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """Open ``values + mask`` in the main field, subtract the mask in the wide one (1 round)."""
    mpc = runtime()
    await mpc.returnType((wide.array, values.shape))
    field = type(values).sectype.field
    own, mask, wide_shares = (g.value for g in await mpc.gather(values, narrow_mask, wide_mask))
    opened = await open_values(field, own + mask, masked=True)
    return wide.field.array((opened - wide_shares) % wide.field.modulus, check=False)


@dataclass(frozen=True)
class WideCells:
    """The table's cells in the wide field, for second moments and the dominance rule.

    Attributes:
        valid: Secure wide 0/1 array ``(K, n)``: the validity flags.
        products: Secure wide array ``(K, n)``: flag times offset value (0 for invalid cells).
    """

    valid: SecureArray
    products: SecureArray


def wide_cells(table: Any) -> WideCells:
    """The validity flags and ``flag * offset value`` of every cell, moved to the wide field.

    Computed once per table (one multiplication in the main field, one conversion of
    ``2 * K * n`` values) and cached on it; every party must ask in the same order, as for any
    MPyC computation.  ``table.sizing.moment_field_bits`` must be set.
    """
    cached = table.wide
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    wide = wide_type(table)
    if wide is None:
        raise ValueError("the table's sizing has no wide field (moment_field_bits is None)")
    num_kpis, num_rows = table.valid.shape
    both = np.concatenate((table.valid, table.valid * table.values), axis=0)  # (2K, n)
    moved = to_wide(both, table.sizing.value_bits, wide)
    cells = WideCells(moved[:num_kpis], moved[num_kpis:])
    table.wide = cells
    return cells
