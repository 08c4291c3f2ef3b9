"""Open declared outputs and turn them into exact numbers in the KPIs' units.

This is the only place where the protocol core's secure results become public; callers decide
*which* results are declared outputs (and to whom) before calling it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from smpc_bench.core.secure_fraction import SecureFraction
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.outcome import Released

__all__ = ["decode", "open_counts", "open_fraction"]

async def open_counts(counts: object, receivers: Sequence[int] | None = None) -> list[int]:
    """Open a secure count array ``(K,)`` (a declared output) as Python ints."""
    opened = await runtime().output(counts, receivers=receivers)
    return [int(c) for c in np.asarray(opened).reshape(-1)]


def decode(
    numerators: np.ndarray,
    denominators: np.ndarray,
    fraction: SecureFraction,
    specs: Sequence[KpiSpec],
    counts: Sequence[int] | None = None,
    rows: Sequence[int] | None = None,
) -> list[list[Released]]:
    """Exact values per KPI (rows) from opened numerators and denominators.

    Args:
        numerators: Opened numerators, one row per KPI in ``specs``.
        denominators: Opened or public denominators, broadcastable to ``numerators``.
        fraction: The secure result they came from (for offset, root and power).
        specs: The KPIs of the opened rows.
        counts: Released counts of the opened rows (needed for sums; a count of zero makes
            every statistic of that KPI undefined).
        rows: Indices of the opened rows in the full table, if only some were opened.
    """
    numerators = np.asarray(numerators, dtype=object)
    denominators = np.broadcast_to(np.asarray(denominators, dtype=object), numerators.shape)
    numerators = numerators.reshape(len(specs), -1)
    denominators = denominators.reshape(len(specs), -1)
    offsets = [0] * len(specs)
    if fraction.offset is not None:
        all_offsets = list(np.asarray(fraction.offset, dtype=object).reshape(-1))
        offsets = [all_offsets[r] for r in rows] if rows is not None else all_offsets
    if fraction.offset_per_count:
        if counts is None:
            raise ValueError("decoding a sum needs the released counts")
        offsets = [offset * int(c) for offset, c in zip(offsets, counts, strict=True)]
    empty = [False] * len(specs) if counts is None else [int(c) == 0 for c in counts]
    result: list[list[Released]] = []
    for spec, offset, no_data, row_num, row_den in zip(specs, offsets, empty, numerators,
                                                       denominators, strict=True):
        scale = Fraction(spec.scale) ** fraction.power
        row: list[Released] = []
        for num, den in zip(row_num, row_den, strict=True):
            if no_data or int(den) == 0:
                row.append(None)
                continue
            value = (Fraction(int(num), int(den)) + offset) / scale
            if fraction.root:
                row.append(math.sqrt(value) if value >= 0 else None)
            else:
                row.append(value)
        result.append(row)
    return result


async def open_fraction(
    fraction: SecureFraction, specs: Sequence[KpiSpec], receivers: Sequence[int] | None = None
) -> list[list[Released]]:
    """Open a secure result (a declared output) and decode it per KPI.

    The count of valid cells behind the statistic is opened with it (it is released with
    every statistic): statistics over no data decode to None.

    Returns:
        One list per KPI (one entry per column of the result; a single entry for scalars).
    """
    mpc = runtime()
    numerators = await mpc.output(fraction.numerator, receivers=receivers)
    if fraction.public_denominator:
        denominators = np.asarray(fraction.denominator, dtype=object)
    else:
        denominators = await mpc.output(fraction.denominator, receivers=receivers)
    counts = None
    if isinstance(fraction.count, list):
        counts = [int(c) for c in fraction.count]
    elif fraction.count is not None:
        counts = [int(c) for c in np.asarray(
            await mpc.output(fraction.count, receivers=receivers)).reshape(-1)]
    return decode(numerators, denominators, fraction, specs, counts)
