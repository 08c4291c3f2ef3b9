"""Size the secure integer type from the KPI bounds and the number of contributions.

All arithmetic is exact integer arithmetic in a prime field, so the field must hold the largest
intermediate value of every statistic we release; comparisons then only look at the few bits
they need (counts, offset values), which keeps them cheap even in a large field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from smpc_bench.spec.kpi import KpiSpec

__all__ = ["Sizing", "dominance_bits", "magnitude_bits", "size_for"]

from smpc_bench.spec.quantile_methods import MAX_QUANTILE_DENOMINATOR


def magnitude_bits(specs: Sequence[KpiSpec], max_rows: int) -> int:
    """Signed bit length of any firm's (or all firms') total of actual values of ``specs``.

    Unlike every other quantity, the dominance rule of :mod:`smpc_bench.spec.disclosure` sees the
    lower bounds inside the MPC: a firm's total is its offset sum plus ``lower`` times its
    (secret) number of valid cells.  So its size is ``max_rows`` times the largest absolute
    bound, not the span.
    """
    largest = max(max(abs(s.lower_units), abs(s.lower_units + s.span)) for s in specs)
    return (max_rows * largest).bit_length() + 1


def dominance_bits(specs: Sequence[KpiSpec], max_rows: int, share_denominator: int) -> int:
    """Bit length ``l`` of the dominance comparison, for ``mpc.np_sgn(..., l=l)``.

    The comparison tests ``numerator * total - denominator * |firm total| < 0`` with
    ``numerator <= denominator`` and ``|firm total| <= total <= max_rows * largest bound``, so
    its argument lies within ``+-denominator * max_rows * largest bound``; MPyC needs it in
    ``[-2**(l-1), 2**(l-1))``.
    """
    return magnitude_bits(specs, max_rows) + share_denominator.bit_length()


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


def size_for(specs: Sequence[KpiSpec], max_rows: int, *, moments: bool = True,
             dominance: Sequence[KpiSpec] = (), max_firm_share: Fraction = Fraction(1)
             ) -> Sizing:
    """Choose bit lengths that keep every statistic exact.

    Args:
        specs: The KPIs of the table.
        max_rows: Upper bound on the number of contributions (rows).
        moments: Whether variance/standard deviation may be computed; they need
            ``n**2 * 2**(2*value_bits)`` to fit, which is the largest intermediate value.
        dominance: The KPIs the dominance rule checks (see
            :attr:`smpc_bench.spec.round_spec.RoundSpec.dominance_kpis`); empty when it is off.
        max_firm_share: The rule's share; its denominator widens the comparison.

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
    if dominance:
        # Only this rule brings the lower bounds into the MPC, and only when it is on.
        compare_bits = max(compare_bits,
                           dominance_bits(dominance, max_rows, max_firm_share.denominator))
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
