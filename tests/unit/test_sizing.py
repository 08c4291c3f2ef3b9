"""size_for: bit lengths from KPI bounds and row counts keep every statistic exact.

The MPC side (that ``mpc.SecInt(field_bits)`` really gets a prime this large, and that extreme
data stay exact) is checked in ``tests/protocol/test_core_m1.py``.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpc_bench.spec.kpi import MAX_VALUE_BITS, KpiSpec
from smpc_bench.spec.sizing import (
    MAX_MASK_PARTIES,
    MAX_QUANTILE_DENOMINATOR,
    Sizing,
    dominance_bits,
    magnitude_bits,
    size_for,
)

#: MPyC's prime for SecInt(l) has l + sec_param + 2 = l + 32 bits, so it represents signed
#: values of absolute value below 2**(l + 30) for sure (the protocol tests check the prime).
HEADROOM = 30


def spec_with_bits(bits: int, name: str = "x") -> KpiSpec:
    return KpiSpec(name, 0, 2**bits - 1)


def test_refuses_no_kpis_and_no_rows():
    with pytest.raises(ValueError, match="at least one KPI"):
        size_for([], 10)
    with pytest.raises(ValueError, match="max_rows must be at least 1"):
        size_for([spec_with_bits(8)], 0)
    with pytest.raises(ValueError, match="max_rows must be at least 1"):
        size_for([spec_with_bits(8)], -5)


def test_value_bits_is_the_widest_kpi_and_count_bits_fits_max_rows():
    specs = [KpiSpec("a", 0, 1000), KpiSpec("b", -50, 80, decimals=2), KpiSpec("c", 0, 1)]
    sizing = size_for(specs, 100)
    assert isinstance(sizing, Sizing)
    assert sizing.value_bits == 14  # 13000 needs 14 bits
    assert sizing.count_bits == 7  # 100 < 128
    assert size_for(specs, 1).count_bits == 1
    assert size_for(specs, 127).count_bits == 7
    assert size_for(specs, 128).count_bits == 8


def test_lower_bounds_do_not_widen_anything():
    near_zero = size_for([KpiSpec("x", 0, 1000)], 50)
    far_away = size_for([KpiSpec("x", 10**12, 10**12 + 1000)], 50)
    negative = size_for([KpiSpec("x", -(10**12) - 1000, -(10**12))], 50)
    assert near_zero == far_away == negative


def test_small_cases_keep_the_64_bit_prime_floor():
    sizing = size_for([KpiSpec("flag", 0, 1)], 1)
    assert sizing.field_bits == 32
    assert size_for([spec_with_bits(10)], 5, moments=False).field_bits == 32


def exactness_requirements(sizing: Sizing, max_rows: int, moments: bool) -> dict[str, int]:
    """Largest absolute value of each intermediate the protocol needs exact in the main field.

    The second moments are among them only when the sizing has no wide field for them
    (:func:`moment_requirements`).
    """
    top = 2**sizing.value_bits - 1
    needs = {
        "offset values in comparisons (range check)": top,
        "counts": max_rows,
        "sums": max_rows * top,
        # interpolated quantile numerators; exclusive extrapolation has weights up to 2*D
        "quantile numerators": 2 * MAX_QUANTILE_DENOMINATOR * top,
        "scaled quantile positions": MAX_QUANTILE_DENOMINATOR * (max_rows + 2),
    }
    if moments and sizing.moment_field_bits is None:
        needs.update(moment_requirements(sizing, max_rows))
    return needs


def check_masked_values_fit(sizing: Sizing) -> None:
    """A value moved to the wide field is opened with the masks of up to MAX_MASK_PARTIES
    parties, each below 2**(value_bits + 30): value + masks must stay below the prime, which
    exceeds 2**(field_bits + 31) (an unsigned bound: the opened value is never negative)."""
    if sizing.moment_field_bits is not None:
        top = 2**sizing.value_bits - 1
        assert top + MAX_MASK_PARTIES * (2 ** (sizing.value_bits + 30) - 1) < 2 ** (
            sizing.field_bits + 31)


def moment_requirements(sizing: Sizing, max_rows: int) -> dict[str, int]:
    """Largest absolute values of the second moments (in whichever field holds them)."""
    top = 2**sizing.value_bits - 1
    return {"variance numerator c*S2 - S1**2 and c*S2": max_rows * max_rows * top * top,
            "variance denominator c*(c-1)": max_rows * max_rows}


def moment_field(sizing: Sizing) -> int:
    """Bit length of the secure type the second moments are computed in."""
    return sizing.field_bits if sizing.moment_field_bits is None else sizing.moment_field_bits


@pytest.mark.parametrize("moments", [True, False])
@pytest.mark.parametrize("max_rows", [1, 2, 7, 100, 10_000, 400_000, 10**7])
@pytest.mark.parametrize("bits", [1, 8, 14, 32, MAX_VALUE_BITS])
def test_field_holds_every_intermediate(bits, max_rows, moments):
    sizing = size_for([spec_with_bits(bits)], max_rows, moments=moments)
    assert sizing.field_bits >= 32
    # comparisons in the walk (counts vs ranks) and the range check need these bit lengths
    assert sizing.field_bits >= sizing.value_bits + 2
    assert sizing.field_bits >= sizing.count_bits + 3
    for what, largest in exactness_requirements(sizing, max_rows, moments).items():
        assert largest < 2 ** (sizing.field_bits + HEADROOM), what
    if moments:
        for what, largest in moment_requirements(sizing, max_rows).items():
            assert largest < 2 ** (moment_field(sizing) + HEADROOM), what
    else:
        assert sizing.moment_field_bits is None
    check_masked_values_fit(sizing)
    # the comparison width covers scaled positions D*(n+2) as signed values
    assert MAX_QUANTILE_DENOMINATOR * (max_rows + 2) < 2 ** (sizing.field_bits - 1)


@settings(max_examples=300, deadline=None)
@given(widths=st.lists(st.integers(1, MAX_VALUE_BITS), min_size=1, max_size=6),
       max_rows=st.integers(1, 10**8), moments=st.booleans())
def test_field_holds_every_intermediate_property(widths, max_rows, moments):
    specs = [spec_with_bits(w, f"k{i}") for i, w in enumerate(widths)]
    sizing = size_for(specs, max_rows, moments=moments)
    assert sizing.value_bits == max(widths)
    assert sizing.count_bits == max_rows.bit_length()
    for what, largest in exactness_requirements(sizing, max_rows, moments).items():
        assert largest < 2 ** (sizing.field_bits + HEADROOM), what
    if moments:
        for what, largest in moment_requirements(sizing, max_rows).items():
            assert largest < 2 ** (moment_field(sizing) + HEADROOM), what
    check_masked_values_fit(sizing)
    # The wide field exists only where the main one cannot hold what it is for.
    if sizing.moment_field_bits is not None:
        assert sizing.moment_field_bits > sizing.field_bits


@settings(max_examples=200, deadline=None)
@given(bits=st.integers(1, MAX_VALUE_BITS), rows=st.integers(1, 10**6),
       more_rows=st.integers(0, 10**6), more_bits=st.integers(0, 10))
def test_sizing_is_monotone(bits, rows, more_rows, more_bits):
    small = size_for([spec_with_bits(bits)], rows)
    large = size_for([spec_with_bits(min(bits + more_bits, MAX_VALUE_BITS))], rows + more_rows)
    assert large.field_bits >= small.field_bits
    assert large.value_bits >= small.value_bits and large.count_bits >= small.count_bits
    assert size_for([spec_with_bits(bits)], rows, moments=False).field_bits <= small.field_bits


def test_kpi_order_does_not_matter():
    specs = [KpiSpec("a", 0, 1000), KpiSpec("b", -50, 80, decimals=2), KpiSpec("c", 0, 1)]
    assert size_for(specs, 40) == size_for(list(reversed(specs)), 40)


def test_sizing_is_a_frozen_value():
    sizing = size_for([spec_with_bits(8)], 10)
    with pytest.raises(AttributeError):
        sizing.field_bits = 8  # type: ignore[misc]


# The dominance rule (smpc_bench.spec.disclosure) compares denominator * |firm total| with
# numerator * (sum of |firm totals|): the lower bounds enter the MPC, but only when it is on.

EXTREME_SPECS = [spec_with_bits(MAX_VALUE_BITS, "wide"),
                 KpiSpec("far", -(10**15), -(10**15) + 1000),
                 KpiSpec("across", -(2**47), 2**47 - 1),
                 KpiSpec("cents", 0, "999999999.99", decimals=2)]


@pytest.mark.parametrize("spec", EXTREME_SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("max_rows", [1, 7, 10_000, 10**7])
@pytest.mark.parametrize("share", [Fraction(1, 4), Fraction(1, 3), Fraction(1, 10_000),
                                   Fraction(9_999, 10_000)])
def test_dominance_comparison_fits_with_every_row_at_the_extreme_bound(spec, max_rows, share):
    """n rows all at the bound farthest from zero, held by one firm or spread over many."""
    extreme = max(abs(spec.lower_units), abs(spec.lower_units + spec.span))
    total = max_rows * extreme  # the largest firm total and the largest sum of magnitudes
    bits = dominance_bits([spec], max_rows, share.denominator)
    sizing = size_for([spec], max_rows, dominance=[spec], max_firm_share=share)
    # np_sgn(x, l) needs -2**(l-1) <= x < 2**(l-1): the two ends of the compared quantity.
    for compared in (share.numerator * total - share.denominator * total,  # one firm: fails
                     share.numerator * total,  # a firm with nothing
                     -share.denominator * total, share.denominator * total):
        assert -(2 ** (bits - 1)) <= compared < 2 ** (bits - 1)
    # |firm total| for the secure sign of ranges across zero.
    assert total < 2 ** (magnitude_bits([spec], max_rows) - 1)
    compared_in = moment_field(sizing)  # the main field, or the wide one if it must
    assert compared_in >= bits  # MPyC's prime then holds the comparison's masks too
    assert share.denominator * total < 2 ** (compared_in + HEADROOM)


def test_dominance_widens_only_when_on_and_only_for_its_kpis():
    far = KpiSpec("far", 10**12, 10**12 + 1000)
    plain = size_for([far], 50)
    assert size_for([far], 50, dominance=[], max_firm_share=Fraction(1, 4)) == plain
    wider = size_for([far], 50, dominance=[far], max_firm_share=Fraction(1, 4))
    assert wider.moment_field_bits is not None
    assert wider.moment_field_bits >= dominance_bits([far], 50, 4) > plain.field_bits
    assert (wider.value_bits, wider.count_bits) == (plain.value_bits, plain.count_bits)
    # The main field stays 64 bits: the rule's comparison is made in the wide one.
    assert wider.field_bits == plain.field_bits == 32
    # The bakery's revenue (0 to 5,000,000 EUR) at nine rows stays in the 64-bit prime.
    revenue = KpiSpec("revenue", 0, 5_000_000)
    assert size_for([revenue], 9, dominance=[revenue],
                    max_firm_share=Fraction(1, 4)) == size_for([revenue], 9)


@pytest.mark.parametrize("field_bits", [8, 20, 31, 32, 40, 64, 90])
def test_round_prime_is_the_prime_mpyc_picks(field_bits):
    from mpyc import finfields

    from smpc_bench.spec.sizing import Sizing, round_prime

    sizing = Sizing(value_bits=4, count_bits=4, field_bits=field_bits)
    expected = int(finfields.find_prime_root(field_bits + 30 + 2, n=2)[0])
    assert round_prime(sizing) == expected


def test_a_twelve_firm_round_keeps_the_64_bit_main_field():
    """Cents up to 10**6 at 22 rows with stdev and the dominance rule: both go to the wide field."""
    kpi = KpiSpec("kpi", 0, 1_000_000, decimals=2)
    sizing = size_for([kpi], 22, moments=True, dominance=[kpi], max_firm_share=Fraction(1, 4))
    assert sizing.field_bits == 32  # MPyC's prime: 64 bits
    assert sizing.moment_field_bits == dominance_bits([kpi], 22, 4) == 36
    assert size_for([kpi], 22, moments=False).moment_field_bits is None
