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

from smpc_bench.quantile_methods import MAX_QUANTILE_DENOMINATOR


@dataclass(frozen=True)
class Sizing:
    """Bit lengths for one secure run.

    Attributes:
        value_bits: Bits of the largest offset value over all KPIs (the walk's depth).
        count_bits: Bits of the number of rows ``n`` (counts are in ``[0, n]``).
        field_bits: Bit length of the secure type ``mpc.SecInt(field_bits)``: comparisons
            fit in it, and its prime field (about ``field_bits + 32`` bits) holds every
            intermediate value exactly.
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
    denominator_bits = MAX_QUANTILE_DENOMINATOR.bit_length()
    # Comparisons and MPyC's secure modulo see at most: offset values, scaled quantile
    # positions denominator * (n + 1), and counts.  The lower bounds never enter the MPC
    # (they are added back in the clear), so they do not widen the field.
    position_bits = (MAX_QUANTILE_DENOMINATOR * (max_rows + 2)).bit_length() + 1  # signed
    compare_bits = max(value_bits + 2, position_bits, count_bits + 3, 32)
    # The field must hold, without wrapping: sums n * 2**value_bits, quantile numerators
    # denominator * 2**value_bits and, for variances, c * S2 - S1**2 < n**2 * 2**(2*value_bits).
    largest = max(count_bits, denominator_bits + 1) + value_bits + 1
    if moments:
        largest = max(largest, 2 * count_bits + 2 * value_bits + 1)
    # MPyC picks a prime of compare_bits + sec_param + 2 bits (sec_param 30 by default), so the
    # field holds signed values below 2**(compare_bits + 31); 32 keeps it a 64-bit prime, which
    # is what the fast local arithmetic needs.
    field_bits = max(compare_bits, largest - 30)
    return Sizing(value_bits=value_bits, count_bits=count_bits, field_bits=field_bits)
