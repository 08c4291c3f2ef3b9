"""KpiSpec: exact integer encoding (offset by the lower bound, decimals, half-even rounding),
decoding, and the InputError messages a firm sees before any MPC starts."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpc_bench.spec.encoding import encode_column_with_missing, encode_table
from smpc_bench.spec.kpi import MAX_VALUE_BITS, InputError, KpiSpec

MARGIN = KpiSpec("margin", "-50", 80, decimals=2, unit="%")


# ---------------------------------------------------------------------------------------------
# Encoding and decoding
# ---------------------------------------------------------------------------------------------


def test_offsets_scale_and_span():
    assert MARGIN.scale == 100
    assert MARGIN.lower_units == -5000
    assert MARGIN.span == 13000
    assert MARGIN.bit_length == 14
    assert MARGIN.encode_one(-50) == 0
    assert MARGIN.encode_one(80) == 13000
    assert MARGIN.encode_one(0) == 5000
    assert MARGIN.encode_one("-49.99") == 1


@pytest.mark.parametrize(
    ("value", "expected_units"),
    [
        (Decimal("0.125"), 12),  # tie: round half to even (down to the even 2)
        (Decimal("0.135"), 14),  # tie: round half to even (up to the even 4)
        ("0.145", 14),
        ("-0.125", -12),
        ("-0.135", -14),
        (2.675, 268),  # the float's shortest repr is 2.675 (a tie in decimal): even -> 2.68
        (1.005, 100),  # shortest repr 1.005: tie -> 1.00 (not 1.01)
        (0.1, 10),
        (0.1 + 0.2, 30),  # 0.30000000000000004
        ("1e1", 1000),
        (" 3.5 ", 350),
        (np.float64(12.345), 1234),
        (np.int64(7), 700),
        (Fraction(1, 3), 33),
        (Fraction(2, 3), 67),
        (Decimal("79.994"), 7999),
    ],
)
def test_rounding_half_even_to_declared_decimals(value, expected_units):
    assert MARGIN.encode_one(value) == expected_units - MARGIN.lower_units
    assert MARGIN.rounded(value) == Fraction(expected_units, 100)
    assert MARGIN.decode(MARGIN.encode_one(value)) == Fraction(expected_units, 100)


def test_values_that_round_into_the_range_are_accepted():
    assert MARGIN.encode_one(80.004) == 13000
    assert MARGIN.encode_one("80.005") == 13000  # tie rounds to the even 80.00
    assert MARGIN.encode_one("-50.005") == 0
    with pytest.raises(InputError, match="outside the agreed range"):
        MARGIN.encode_one("80.006")
    with pytest.raises(InputError, match="outside the agreed range"):
        MARGIN.encode_one("-50.015")  # rounds to -50.02


def test_integer_kpi_with_negative_bounds():
    spec = KpiSpec("profit", -1000, -10)
    assert spec.lower_units == -1000 and spec.span == 990
    assert spec.encode_one(-1000) == 0
    assert spec.encode_one(-10) == 990
    assert spec.encode_one(-10.5) == 990  # tie -> -10 (even)
    assert spec.encode_one(-11.5) == 988  # tie -> -12 (even)
    assert spec.decode(0) == -1000 and spec.decode(990) == -10


def test_decode_is_exact_for_fractional_offsets():
    assert MARGIN.decode(Fraction(1, 3)) == Fraction(-15000 + 1, 300)
    assert MARGIN.decode_units(Fraction(-5000)) == -50
    assert MARGIN.decode_units(1234) == Fraction(1234, 100)


@settings(max_examples=300, deadline=None)
@given(lower=st.integers(-10**9, 10**9), width=st.integers(1, 10**9),
       decimals=st.integers(0, 4), data=st.data())
def test_encode_decode_round_trip_property(lower, width, decimals, data):
    scale = 10**decimals
    lower_dec = Decimal(lower).scaleb(-decimals)
    upper_dec = Decimal(lower + width).scaleb(-decimals)
    spec = KpiSpec("x", str(lower_dec), str(upper_dec), decimals=decimals)
    assert spec.span == width and spec.lower_units == lower and spec.scale == scale
    units = data.draw(st.integers(lower, lower + width))
    text = str(Decimal(units).scaleb(-decimals))
    offset = spec.encode_one(text)
    assert 0 <= offset <= spec.span
    assert offset == units - lower
    assert spec.decode(offset) == Fraction(units, scale)
    # a float that prints as the same decimal encodes the same way
    if abs(units) < 10**15:
        assert spec.encode_one(float(text)) == offset


def test_encode_returns_int64_array_and_encode_table_stacks_columns():
    rev = KpiSpec("revenue", 0, 1000)
    column = MARGIN.encode([1, "2.5", 80])
    assert column.dtype == np.int64
    assert column.tolist() == [5100, 5250, 13000]
    table = encode_table([rev, MARGIN], [[0, 10, 1000], [1, "2.5", 80]])
    assert table.shape == (2, 3)
    assert table.tolist() == [[0, 10, 1000], [5100, 5250, 13000]]


def test_encode_table_checks_shapes():
    rev = KpiSpec("revenue", 0, 1000)
    with pytest.raises(InputError, match="expected 2 KPI columns, got 1"):
        encode_table([rev, MARGIN], [[1, 2]])
    with pytest.raises(InputError, match="same number of rows"):
        encode_table([rev, MARGIN], [[1, 2], [1]])


def test_encode_column_with_missing_cells():
    values, valid = encode_column_with_missing(MARGIN, [None, 1.5, float("nan"), "-50", 80])
    assert values.tolist() == [0, 5150, 0, 0, 13000]
    assert valid.tolist() == [0, 1, 0, 1, 1]
    assert values.dtype == np.int64 and valid.dtype == np.int64


def test_encode_column_with_missing_still_rejects_bad_cells_with_row_number():
    with pytest.raises(InputError, match=r"margin row 2: 81 is outside the agreed range"):
        encode_column_with_missing(MARGIN, [None, 81])
    with pytest.raises(InputError, match=r"margin row 3: 'n/a' is not a number"):
        encode_column_with_missing(MARGIN, [1, None, "n/a"])


# ---------------------------------------------------------------------------------------------
# Error messages for bad values
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), r"margin row 3: value is missing \(NaN\); mark it as missing instead"),
        (np.float64("nan"), r"value is missing \(NaN\)"),
        (float("inf"), r"margin row 3: value is infinite"),
        (-math.inf, r"value is infinite"),
        (None, r"margin row 3: expected a number, got None"),
        ("abc", r"margin row 3: 'abc' is not a number"),
        ("", r"'' is not a number"),
        ("1,5", r"'1,5' is not a number"),
        ("12 %", r"'12 %' is not a number"),
        ("nan", r"value 'nan' is not a finite number"),
        ("Infinity", r"value 'Infinity' is not a finite number"),
        (Decimal("NaN"), r"is not a finite number"),
        (True, r"margin row 3: expected a number, got True"),
        (False, r"expected a number, got False"),
        (np.bool_(True), r"expected a number"),
        (1 + 2j, r"expected a number, got complex"),
        ([1], r"expected a number, got list"),
        (81, r"margin row 3: 81 is outside the agreed range -50 to 80 %"),
        ("-50.01", r"-50.01 is outside the agreed range -50 to 80 %"),
        (1e25, r"outside the agreed range"),
    ],
)
def test_bad_values_raise_input_error_with_clear_message(value, message):
    with pytest.raises(InputError, match=message):
        MARGIN.encode_one(value, where="row 3")


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)


@pytest.mark.parametrize("value", [1e26, "-1e40", 10**30])
def test_fixed_huge_values_raise_input_error_not_decimal_invalid_operation(value):
    """SRC BUG (kpi.py, KpiSpec._round): a value with more than 28 significant digits after
    rounding to the declared decimals makes ``Decimal.quantize`` raise
    ``decimal.InvalidOperation`` (an ArithmeticError, not a ValueError), so callers that catch
    InputError (frames.check_frame, the CLI) crash on a CSV cell like ``1e30`` instead of
    reporting "outside the agreed range".  Repro::

        KpiSpec("m", 0, 100, decimals=2).encode_one(1e26)   # decimal.InvalidOperation
    """
    with pytest.raises(InputError, match="outside the agreed range"):
        MARGIN.encode_one(value, where="row 1")


def test_empty_columns_are_refused():
    with pytest.raises(InputError, match="margin: no values given"):
        MARGIN.encode([])
    with pytest.raises(InputError, match="margin: no values given"):
        encode_column_with_missing(MARGIN, [])


def test_message_without_unit_and_without_where():
    spec = KpiSpec("revenue", 0, 1000)
    with pytest.raises(InputError, match=r"^revenue: 1001 is outside the agreed range 0 to 1000$"):
        spec.encode_one(1001)


# ---------------------------------------------------------------------------------------------
# Validating the specification itself
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(lower="0.15", upper=1, decimals=1), r"bound 0.15 has more than 1 decimals"),
        (dict(lower=0, upper=1.001, decimals=2), r"bound 1.001 has more than 2 decimals"),
        (dict(lower=0.5, upper=1), r"bound 0.5 has more than 0 decimals"),
        (dict(lower=1, upper=1), r"lower bound 1 must be below upper 1"),
        (dict(lower=2, upper=1), r"lower bound 2 must be below upper 1"),
        (dict(lower=0, upper=1, decimals=13), r"decimals must be between 0 and 12"),
        (dict(lower=0, upper=1, decimals=-1), r"decimals must be between 0 and 12"),
        (dict(lower=0, upper=1, decimals=True), r"decimals must be an integer"),
        (dict(lower=0, upper=1, decimals=1.0), r"decimals must be an integer"),
        (dict(lower=0, upper=2**48), r"needs 49 bits; at most 48 are supported"),
        (dict(lower=-(2**47), upper=2**47), r"needs 49 bits"),
        (dict(lower=0, upper=10**10, decimals=5), r"needs 50 bits; at most 48"),
        (dict(lower=0, upper="nan"), r"upper bound"),
        (dict(lower=None, upper=1), r"lower bound: expected a number, got None"),
        (dict(lower="low", upper=1), r"'low' is not a number"),
    ],
)
def test_bad_specs_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KpiSpec("x", **kwargs)


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_kpi_name_must_be_nonempty_string(name):
    with pytest.raises(ValueError, match="non-empty string"):
        KpiSpec(name, 0, 1)


def test_largest_supported_range_is_accepted():
    spec = KpiSpec("x", 0, 2**MAX_VALUE_BITS - 1)
    assert spec.bit_length == MAX_VALUE_BITS
    assert spec.encode_one(2**MAX_VALUE_BITS - 1) == 2**MAX_VALUE_BITS - 1
    wide = KpiSpec("x", "-1000000", "1000000", decimals=4)
    assert wide.span == 2 * 10**10 and wide.bit_length == 35


def test_bit_length_is_at_least_one():
    spec = KpiSpec("flag", 0, 1)
    assert spec.span == 1 and spec.bit_length == 1
    assert KpiSpec("tiny", 0, "0.01", decimals=2).span == 1


def test_bounds_given_as_float_decimal_or_string_agree():
    a = KpiSpec("x", 0.1, 2.5, decimals=1)
    b = KpiSpec("x", Decimal("0.1"), Decimal("2.5"), decimals=1)
    c = KpiSpec("x", "0.1", "2.5", decimals=1)
    assert a.span == b.span == c.span == 24
    assert a.lower_units == b.lower_units == c.lower_units == 1


def test_missing_markers_of_every_kind_are_missing() -> None:
    import pandas as pd

    spec = KpiSpec("a", 0, 100)
    values = [1, None, float("nan"), np.float32("nan"), np.float64("nan"), pd.NA, 7]
    encoded, valid = encode_column_with_missing(spec, values)
    assert valid.tolist() == [1, 0, 0, 0, 0, 0, 1]
    assert encoded.tolist() == [1, 0, 0, 0, 0, 0, 7]
