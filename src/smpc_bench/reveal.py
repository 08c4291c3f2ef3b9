"""Open declared outputs and turn them into exact numbers in the KPIs' units.

This is the only place where the protocol core's secure results become public; callers decide
*which* results are declared outputs (and to whom) before calling it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from smpc_bench.driver import runtime
from smpc_bench.kpi import KpiSpec
from smpc_bench.secure_fraction import SecureFraction

__all__ = ["Released", "decode", "open_counts", "open_fraction"]

#: A released statistic: exact Fraction, float (square roots), or None (undefined: no data).
Released = Fraction | float | None


async def open_counts(counts: object, receivers: Sequence[int] | None = None) -> list[int]:
    """Open a secure count array ``(K,)`` (a declared output) as Python ints."""
    opened = await runtime().output(counts, receivers=receivers)
    return [int(c) for c in np.asarray(opened).reshape(-1)]


def decode(
    numerators: np.ndarray, denominators: np.ndarray, fraction: SecureFraction,
    specs: Sequence[KpiSpec],
) -> list[list[Released]]:
    """Exact values per KPI (rows) from opened numerators and denominators."""
    numerators = np.asarray(numerators, dtype=object)
    denominators = np.broadcast_to(np.asarray(denominators, dtype=object), numerators.shape)
    numerators = numerators.reshape(len(specs), -1)
    denominators = denominators.reshape(len(specs), -1)
    rows: list[list[Released]] = []
    for spec, row_num, row_den in zip(specs, numerators, denominators, strict=True):
        scale = Fraction(spec.scale) ** fraction.power
        row: list[Released] = []
        for num, den in zip(row_num, row_den, strict=True):
            if int(den) == 0:
                row.append(None)
                continue
            value = Fraction(int(num), int(den)) / scale
            if fraction.root:
                row.append(math.sqrt(value) if value >= 0 else None)
            else:
                row.append(value)
        rows.append(row)
    return rows


async def open_fraction(
    fraction: SecureFraction, specs: Sequence[KpiSpec], receivers: Sequence[int] | None = None
) -> list[list[Released]]:
    """Open a secure result (a declared output) and decode it per KPI.

    Returns:
        One list per KPI (one entry per column of the result; a single entry for scalars).
    """
    mpc = runtime()
    numerators = await mpc.output(fraction.numerator, receivers=receivers)
    if fraction.public_denominator:
        denominators = np.asarray(fraction.denominator, dtype=object)
    else:
        denominators = await mpc.output(fraction.denominator, receivers=receivers)
    return decode(numerators, denominators, fraction, specs)
