"""Size the secure integer types from the KPI bounds and the number of contributions.

All arithmetic is exact integer arithmetic in a prime field, so a field must hold the largest
intermediate value of every statistic computed in it; comparisons then only look at the few bits
they need (counts, offset values), which keeps them cheap even in a large field.

A round computes in two fields.  The main one holds the table, sums, quantiles and comparisons;
it is kept narrow, a prime below ``2**64`` for ordinary KPIs, because every fast local path
(:mod:`smpc_bench.engine.accel`) needs 64-bit words.  Second moments (``c*S2 - S1**2`` is about
``n**2 * 2**(2*value_bits)``) and the dominance rule's comparison (it sees the lower bounds) would
widen it past 64 bits; they are computed in a second, wide field instead, from masked conversions
of the few values they need (:mod:`smpc_bench.core.field_switch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from smpc_bench.spec.kpi import KpiSpec

__all__ = ["DEFAULT_SEC_PARAM", "MAX_MASK_PARTIES", "Sizing", "dominance_bits",
           "magnitude_bits", "round_prime", "size_for"]

from smpc_bench.spec.quantile_methods import MAX_QUANTILE_DENOMINATOR

#: Most parties that add a random mask to one value moved into the wide field (the threshold
#: plus one: :mod:`smpc_bench.core.field_switch`); the main field keeps room for their sum, so a
#: round of up to ``2 * 31 - 1 = 61`` parties at the default threshold fits without widening.
MAX_MASK_PARTIES = 31


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
        field_bits: Bit length of the main secure type ``mpc.SecInt(field_bits)``: its
            comparisons fit in it, and its prime field (about ``field_bits + 32`` bits) holds
            every intermediate value computed in it exactly, and a masked offset value (see
            :data:`MAX_MASK_PARTIES`).
        moment_field_bits: Bit length of the wide secure type of the second moments and the
            dominance comparison, or None when the main type holds them (or none is needed):
            they are then computed in the main field, as everything else.
    """

    value_bits: int
    count_bits: int
    field_bits: int
    moment_field_bits: int | None = None


def size_for(specs: Sequence[KpiSpec], max_rows: int, *, moments: bool = True,
             dominance: Sequence[KpiSpec] = (), max_firm_share: Fraction = Fraction(1)
             ) -> Sizing:
    """Choose bit lengths that keep every statistic exact.

    Args:
        specs: The KPIs of the table.
        max_rows: Upper bound on the number of contributions (rows).
        moments: Whether variance/standard deviation may be computed; they need
            ``n**2 * 2**(2*value_bits)`` to fit, the largest intermediate value (in the wide
            field if the main one does not hold it).
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
    # positions denominator * (n + 1), and counts.  The lower bounds never enter the main
    # field (they are added back in the clear), so they do not widen it.
    position_bits = (MAX_QUANTILE_DENOMINATOR * (max_rows + 2)).bit_length() + 1  # signed
    compare_bits = max(value_bits + 2, position_bits, count_bits + 3, 32)
    # The main field must hold, without wrapping: sums n * 2**value_bits and quantile
    # numerators denominator * 2**value_bits.
    largest = max(count_bits, denominator_bits + 1) + value_bits + 1
    # MPyC picks a prime of field_bits + sec_param + 2 bits (sec_param 30 by default), so the
    # field holds signed values below 2**(field_bits + 31); 32 keeps it a 64-bit prime, which
    # is what the fast local arithmetic needs.
    field_bits = max(compare_bits, largest - 30)
    wide = 0
    if dominance:
        # Only this rule brings the lower bounds into the MPC, and only when it is on.
        wide = dominance_bits(dominance, max_rows, max_firm_share.denominator)
    if moments:
        # c * S2 - S1**2 < n**2 * 2**(2*value_bits), with its sign.
        wide = max(wide, 2 * count_bits + 2 * value_bits + 1 - 30)
    moment_field_bits = None
    if wide > field_bits:
        moment_field_bits = wide
        # A value moves to the wide field opened as value + mask, the mask a sum of up to
        # MAX_MASK_PARTIES terms below 2**(value_bits + sec_param): it must not wrap (the
        # prime exceeds 2**(field_bits + sec_param + 1), and 31 + 1 <= 2**5).
        field_bits = max(field_bits, value_bits + MAX_MASK_PARTIES.bit_length() - 1)
    return Sizing(value_bits=value_bits, count_bits=count_bits, field_bits=field_bits,
                  moment_field_bits=moment_field_bits)


#: MPyC's default statistical security parameter (``-K``), in bits.
DEFAULT_SEC_PARAM = 30


def round_prime(sizing: Sizing, sec_param: int = DEFAULT_SEC_PARAM) -> int:
    """The round's public prime: the one MPyC 0.11 picks for ``SecInt(sizing.field_bits)``.

    MPyC takes the largest prime below ``2**l`` that is ``3 mod 4`` (its
    ``finfields.find_prime_root(l, n=2)``), with ``l = field_bits + sec_param + 2``.  Computed
    here with gmpy2 alone, so a contributor preparing its submission loads no MPC code; a unit
    test checks it against MPyC's own function.
    """
    import gmpy2

    bits = sizing.field_bits + sec_param + 2
    prime = gmpy2.prev_prime(1 << bits)
    while prime % 4 != 3:
        prime = gmpy2.prev_prime(prime)
    return int(prime)
