"""Size the secure integer type from the KPI bounds and the number of contributions.

All arithmetic is exact integer arithmetic in a prime field, so the field must hold the largest
intermediate value of every statistic we release; comparisons then only look at the few bits
they need (counts, offset values), which keeps them cheap even in a large field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smpc_bench.kpi import KpiSpec

__all__ = ["Sizing", "size_for"]

#: Largest quantile denominator we size for (percentiles with two decimals: 1/10000).
MAX_QUANTILE_DENOMINATOR = 10_000


@dataclass(frozen=True)
class Sizing:
    """Bit lengths for one secure run.

    Attributes:
        value_bits: Bits of the largest offset value over all KPIs (the walk's depth).
        count_bits: Bits of the number of rows ``n`` (counts are in ``[0, n]``).
        field_bits: Signed bit length every intermediate value fits in; the secure type is
            ``mpc.SecInt(field_bits)``.
    """

    value_bits: int
    count_bits: int
    field_bits: int


def size_for(specs: Sequence[KpiSpec], max_rows: int, *, moments: bool = True) -> Sizing:
    """Choose bit lengths that keep every statistic exact.

    Args:
        specs: The KPIs of the table.
        max_rows: Upper bound on the number of contributions (rows).
        moments: Whether variance/standard deviation may be computed; they need
            ``n**2 * 2**(2*value_bits)`` to fit, which is the largest intermediate value.

    Returns:
        The :class:`Sizing`.
    """
    if not specs:
        raise ValueError("at least one KPI is needed")
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    value_bits = max(spec.bit_length for spec in specs)
    count_bits = max(1, max_rows.bit_length())
    offset_bits = max(abs(spec.lower_units).bit_length() for spec in specs)
    # Sums with the offset added back: n * (2**value_bits + |lower|).
    sum_bits = count_bits + max(value_bits, offset_bits) + 1
    # Quantile numerators: denominator * value (+ offset).
    quantile_bits = MAX_QUANTILE_DENOMINATOR.bit_length() + max(value_bits, offset_bits) + 1
    # Walk comparisons on scaled counts: denominator * (n + 1).
    walk_bits = MAX_QUANTILE_DENOMINATOR.bit_length() + count_bits + 2
    needed = max(sum_bits, quantile_bits, walk_bits)
    if moments:
        # c * sum(u**2) - (sum u)**2 and the denominator c * (c - 1).
        needed = max(needed, 2 * count_bits + 2 * value_bits + 1)
    return Sizing(value_bits=value_bits, count_bits=count_bits, field_bits=needed + 1)
