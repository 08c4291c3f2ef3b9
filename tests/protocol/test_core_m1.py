"""The protocol core at m=1, in process, against the plaintext oracles in ``tests/oracles.py``.

Every secure function (count, fsum, mean, variance, pvariance, stdev, pstdev, quantiles,
percentiles, median, median_low/high, minimum, maximum, quantile_cuts, summarize) is run on
tables with several KPIs of different bounds and decimals (negative lower bounds, fixed point),
missing cells, out-of-range values smuggled past the owners' local check, ties, all-equal data,
tiny tables and a KPI without any valid cell; with secret counts and with public counts; built
from one-hot digits, from bits and from values; with every radix from 1 to 5 bits.

Inputs beyond what the secure type was sized for (quantile fractions finer than 1/10000, more
rows than sized for) are refused with a ValueError; malformed shared inputs (digits that are not
one-hot, validity flags that are not bits, values beyond the span) are rejected in the MPC.
"""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpc_bench.core import aggregates
from smpc_bench.core import quantiles as secure_quantiles
from smpc_bench.core.reveal import open_counts, open_fraction
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.core.summarize import summarize
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.encoding import encode_digits
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.quantile_methods import METHODS, Cut
from smpc_bench.spec.sizing import MAX_MASK_PARTIES, size_for
from tests import oracles
from tests.oracles import PATHS, TableData, build_secure_table, table_from_columns

mpc = runtime()

SPECS = (
    KpiSpec("revenue", 0, 1000, unit="kEUR"),
    KpiSpec("margin", -50, 80, decimals=2, unit="%"),
    KpiSpec("growth", "-3", "-0.5", decimals=1),  # an all-negative range
)

COLUMNS = [
    [120, 0, 1000, 560, None, 560, 33, 999, 1, 560, 250, None, 700],
    [-50, 80, 12.5, -0.01, 3.14, None, 12.5, "-12.345", 79.99, 0, None, 45.6, -7],
    [-3, -0.5, -1.2, None, -2.25, -1.2, -1.2, -0.5, None, -2.9, -3, -1.0, -0.7],
]
# Offsets a dishonest owner could share directly (claimed valid): above the span, below 2**14.
SMUGGLED = {(0, 0): 1023, (0, 4): 1001, (1, 5): 2**14 - 1, (2, 8): 26, (2, 3): 9000}

FRACTIONS = (Fraction(0), Fraction(1, 10), Fraction(1, 4), Fraction(1, 3), Fraction(1, 2),
             Fraction(3, 4), Fraction(9, 10), Fraction(1))
ALL_CUT_METRICS = tuple(Metric("quantile", p, m) for m in METHODS for p in FRACTIONS)
FULL_METRICS = (Metric.COUNT, Metric.SUM, Metric.MEAN, Metric.VARIANCE, Metric.STDEV,
                Metric.MIN, Metric.MAX, *ALL_CUT_METRICS)
COUNT_MODES = ("secret", "public")


def main_table() -> TableData:
    return table_from_columns(SPECS, COLUMNS, smuggled=SMUGGLED)


def run(coro: Any) -> Any:
    return mpc.run(coro)


async def open_all(results: dict[Metric, Any], specs: tuple[KpiSpec, ...]) -> dict[Metric, Any]:
    return {metric: await open_fraction(fraction, specs) for metric, fraction in results.items()}


def public_counts(data: TableData, mode: str) -> list[int] | None:
    return data.counts() if mode == "public" else None


def check_metrics(opened: dict[Metric, list[list[Any]]], data: TableData) -> None:
    """Every opened metric of every KPI equals the oracle on that KPI's valid values."""
    problems = []
    for metric, per_kpi in opened.items():
        assert len(per_kpi) == len(data.specs)
        for k, row in enumerate(per_kpi):
            assert len(row) == 1
            expected = oracles.reference(metric, data.values(k))
            if not oracles.same(row[0], expected):
                problems.append(f"{data.specs[k].name} {metric}: got {row[0]!r}, "
                                f"expected {expected!r}")
    assert not problems, "\n".join(problems)


def summarize_and_open(data: TableData, metrics, *, counts_mode: str, path: str = "digits",
                       radix_bits: int = 4, max_rows: int | None = None):
    sizing = size_for(data.specs, max_rows or data.shape[1])

    async def body():
        table = build_secure_table(data, sizing, path=path, radix_bits=radix_bits)
        results = summarize(table, metrics, counts=public_counts(data, counts_mode))
        opened = await open_all(results, data.specs)
        rejected = await open_counts(table.rejected)
        return opened, rejected

    return run(body())


# ---------------------------------------------------------------------------------------------
# The whole metric set, every input path, secret and public counts
# ---------------------------------------------------------------------------------------------


def test_main_table_has_what_it_should():
    data = main_table()
    assert data.counts() == [10, 11, 11]
    assert data.rejected() == [2, 1, 2]
    assert min(data.values(1)) == -50 and max(data.values(1)) == 80
    assert Fraction("-12.34") in data.values(1)  # rounded half to even
    assert Fraction("-2.2") in data.values(2)


@pytest.mark.parametrize("counts_mode", COUNT_MODES)
@pytest.mark.parametrize("path", PATHS)
def test_summarize_every_metric_three_kpis(path, counts_mode):
    data = main_table()
    opened, rejected = summarize_and_open(data, FULL_METRICS, counts_mode=counts_mode, path=path)
    assert list(opened) == list(FULL_METRICS)
    check_metrics(opened, data)
    assert rejected == data.rejected()


@pytest.mark.parametrize("counts_mode", COUNT_MODES)
def test_direct_functions_match_python_statistics(counts_mode):
    data = main_table()
    sizing = size_for(SPECS, data.shape[1])
    counts = public_counts(data, counts_mode)
    order_functions = {
        "median": (secure_quantiles.median, oracles.median),
        "median_low": (secure_quantiles.median_low, oracles.median_low),
        "median_high": (secure_quantiles.median_high, oracles.median_high),
        "minimum": (secure_quantiles.minimum, oracles.minimum),
        "maximum": (secure_quantiles.maximum, oracles.maximum),
    }
    moment_functions = {
        "fsum": (aggregates.fsum, oracles.fsum),
        "mean": (aggregates.mean, oracles.mean),
        "variance": (aggregates.variance, oracles.variance),
        "pvariance": (aggregates.pvariance, oracles.pvariance),
        "stdev": (aggregates.stdev, oracles.stdev),
        "pstdev": (aggregates.pstdev, oracles.pstdev),
    }

    async def body():
        table = build_secure_table(data, sizing)
        out: dict[str, Any] = {}
        for name, (function, _) in order_functions.items():
            out[name] = await open_fraction(function(table, counts=counts), SPECS)
        for name, (function, _) in moment_functions.items():
            out[name] = await open_fraction(function(table), SPECS)
        out["count"] = await open_counts(aggregates.count(table))
        for method in ("exclusive", "inclusive"):
            for n in (2, 4, 10):
                out[f"quantiles {n} {method}"] = await open_fraction(
                    secure_quantiles.quantiles(table, n, method=method, counts=counts), SPECS)
        for method in METHODS:
            out[f"percentiles {method}"] = await open_fraction(
                secure_quantiles.percentiles(table, [2.5, 10, 50, "97.5", Fraction(200, 3)],
                                             method=method, counts=counts), SPECS)
        return out

    out = run(body())
    assert out["count"] == data.counts()
    for k in range(len(SPECS)):
        values = data.values(k)
        for name, (_, oracle) in {**order_functions, **moment_functions}.items():
            assert oracles.same(out[name][k][0], oracle(values)), (name, k)
            assert len(out[name][k]) == 1
        for method in ("exclusive", "inclusive"):
            for n in (2, 4, 10):
                assert out[f"quantiles {n} {method}"][k] == oracles.quantiles(values, n, method)
        for method in METHODS:
            fractions = [Fraction(1, 40), Fraction(1, 10), Fraction(1, 2), Fraction(39, 40),
                         Fraction(2, 3)]
            assert out[f"percentiles {method}"][k] == [
                oracles.exact_quantile(values, p, method) for p in fractions], method


def test_results_are_exact_fractions_in_kpi_units():
    data = main_table()
    opened, _ = summarize_and_open(data, (Metric.MEAN, Metric.VARIANCE, Metric.STDEV,
                                          Metric.MEDIAN), counts_mode="secret")
    for k in range(len(SPECS)):
        assert isinstance(opened[Metric.MEAN][k][0], Fraction)
        assert isinstance(opened[Metric.VARIANCE][k][0], Fraction)
        assert isinstance(opened[Metric.MEDIAN][k][0], Fraction)
        assert isinstance(opened[Metric.STDEV][k][0], float)
    # margin has 2 decimals: its median is a multiple of 1/200 in % (mean of two cents)
    assert (opened[Metric.MEDIAN][1][0] * 200).denominator == 1


def test_summarize_computes_duplicates_once_and_returns_only_what_was_asked():
    data = main_table()
    metrics = [Metric.MEDIAN, Metric.STDEV, Metric.parse("p50"), Metric.parse("q2"), Metric.STDEV]
    opened, _ = summarize_and_open(data, metrics, counts_mode="secret")
    assert list(opened) == [Metric.MEDIAN, Metric.STDEV]
    check_metrics(opened, data)


def test_quantile_cuts_argument_errors():
    data = main_table()
    sizing = size_for(SPECS, data.shape[1])

    async def body():
        table = build_secure_table(data, sizing)
        with pytest.raises(ValueError, match="at least one quantile cut"):
            secure_quantiles.quantile_cuts(table, [])
        with pytest.raises(ValueError, match="one count per KPI"):
            secure_quantiles.quantile_cuts(table, [Cut(Fraction(1, 2), "lower")], counts=[1, 2])
        with pytest.raises(ValueError, match="n must be at least 1"):
            secure_quantiles.quantiles(table, 0)
        return True

    assert run(body())


# ---------------------------------------------------------------------------------------------
# Radix widths and input paths
# ---------------------------------------------------------------------------------------------

TIES = table_from_columns(
    SPECS,
    [[560, 560, 0, 1000, 560, 33, 33, 560, 999],
     [12.5, 12.5, 12.5, -50, 80, 12.5, None, 0, 0],
     [-1.2, -1.2, -3, -0.5, -0.5, -1.2, -1.2, -1.2, None]],
    smuggled={(1, 6): 13001},
)


@pytest.mark.parametrize("path", ["digits", "bits"])
@pytest.mark.parametrize("radix_bits", [1, 2, 3, 4, 5])
def test_every_radix_width(radix_bits, path):
    metrics = (Metric.COUNT, Metric.MIN, Metric.MAX,
               *(Metric("quantile", p, m) for m in METHODS
                 for p in (Fraction(1, 4), Fraction(1, 2), Fraction(9, 10))))
    counts_mode = "secret" if radix_bits % 2 else "public"
    opened, rejected = summarize_and_open(TIES, metrics, counts_mode=counts_mode, path=path,
                                          radix_bits=radix_bits)
    check_metrics(opened, TIES)
    assert rejected == [0, 1, 0]


def test_from_values_with_radix_bits_1_and_5():
    for radix_bits in (1, 5):
        opened, rejected = summarize_and_open(TIES, (Metric.MEDIAN, Metric.MIN, Metric.MAX),
                                              counts_mode="secret", path="values",
                                              radix_bits=radix_bits)
        check_metrics(opened, TIES)
        assert rejected == [0, 1, 0]


def test_digit_shapes_are_validated():
    sizing = size_for(SPECS, 3)
    data = table_from_columns(SPECS, [[1, 2, 3], [1, 2, 3], [-1, -2, -3]])

    async def body():
        sec = mpc.SecInt(sizing.field_bits)
        digits = encode_digits(data.offsets, sizing.value_bits, 4)
        claimed = sec.array(data.claimed)
        with pytest.raises(ValueError, match="digits must have shape"):
            SecureTable.from_digits(SPECS, sizing, sec.array(digits), claimed, radix_bits=3)
        bits = oracles.bits_of(data.offsets, sizing.value_bits)[:, :, :-1]
        with pytest.raises(ValueError, match="bits must have shape"):
            SecureTable.from_bits(SPECS, sizing, sec.array(bits), claimed)
        with pytest.raises(ValueError, match="claimed_valid must have shape"):
            SecureTable.from_digits(SPECS[:2], sizing, sec.array(digits[:2]),
                                    sec.array(data.claimed[:1]))
        return True

    assert run(body())


def test_encode_digits_is_one_hot_per_digit():
    offsets = np.array([[0, 1, 2**14 - 1, 12345]])
    digits = encode_digits(offsets, 14, 4)
    assert digits.shape == (1, 4, 4, 16)
    assert (digits.sum(axis=3) == 1).all()
    assert (digits[0, :, 0, 4:] == 0).all()  # the top digit has only 2 bits
    weights = np.array([[16**3 * v for v in range(16)], [256 * v for v in range(16)],
                        [16 * v for v in range(16)], list(range(16))])
    assert ((digits[0] * weights).sum(axis=(1, 2)) == offsets[0]).all()
    with pytest.raises(ValueError, match=r"\[0, 2\*\*14\)"):
        encode_digits(np.array([[2**14]]), 14, 4)
    with pytest.raises(ValueError, match=r"shape \(K, n\)"):
        encode_digits(np.array([1, 2]), 14, 4)


def test_secure_values_are_recombined_from_digits():
    data = main_table()
    sizing = size_for(SPECS, data.shape[1])

    async def body():
        table = build_secure_table(data, sizing, radix_bits=3)
        return await mpc.output(table.values), await mpc.output(table.valid)

    values, valid = run(body())
    assert np.array_equal(np.asarray(values, dtype=np.int64), data.offsets)
    expected_valid = [[int(ok) for ok in data.accepted(k)] for k in range(len(SPECS))]
    assert np.asarray(valid, dtype=np.int64).tolist() == expected_valid


# ---------------------------------------------------------------------------------------------
# Range check inside the MPC
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_smuggled_values_at_and_beyond_the_span(path):
    specs = (KpiSpec("a", 0, 1000), KpiSpec("b", "-1", "1.5", decimals=2),
             KpiSpec("c", 0, 2**14 - 1))  # c spans every 14-bit value: nothing to reject
    data = table_from_columns(
        specs,
        [[5, 6, 7, 8, 9, 10], [0, 0.5, 1, None, -1, 1.5], [0, 1, 2, 3, 4, 16383]],
        smuggled={(0, 1): 1000, (0, 2): 1001, (0, 3): 1023, (0, 4): 1024, (0, 5): 2**14 - 1,
                  (1, 0): 250, (1, 1): 251, (1, 3): 8191, (2, 2): 2**14 - 1},
    )
    assert data.rejected() == [4, 2, 0]
    opened, rejected = summarize_and_open(
        data, (Metric.COUNT, Metric.SUM, Metric.MAX, Metric.MIN, Metric.MEDIAN, Metric.VARIANCE),
        counts_mode="secret", path=path)
    assert rejected == [4, 2, 0]
    assert [row[0] for row in opened[Metric.COUNT]] == [2, 4, 6]
    assert opened[Metric.MAX][0][0] == 1000  # offset == span is accepted
    check_metrics(opened, data)


def test_all_kpis_spanning_every_value_reject_nothing():
    specs = (KpiSpec("x", 0, 255), KpiSpec("y", -128, 127))
    data = table_from_columns(specs, [[0, 255, 7, None], [-128, 127, None, 0]])

    async def body():
        table = build_secure_table(data, size_for(specs, 4), path="bits", radix_bits=3)
        return await open_counts(table.rejected), await open_fraction(
            aggregates.fsum(table), specs)

    rejected, sums = run(body())
    assert rejected == [0, 0]
    assert sums == [[262], [-1]]


# ---------------------------------------------------------------------------------------------
# Degenerate data
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("counts_mode", COUNT_MODES)
def test_kpi_without_valid_cells_gives_none(counts_mode):
    data = table_from_columns(
        SPECS,
        [[None] * 5,  # every cell missing
         [1, 2, 3, 4, 5],
         [-1, -2, -3, None, -0.5]],
        smuggled={(2, 0): 26, (2, 1): 31, (2, 2): 9999, (2, 4): 2**14 - 1},  # all rejected
    )
    assert data.counts() == [0, 5, 0]
    opened, rejected = summarize_and_open(data, FULL_METRICS, counts_mode=counts_mode)
    assert rejected == [0, 0, 4]
    for metric, per_kpi in opened.items():
        for k in (0, 2):
            expected = Fraction(0) if metric == Metric.COUNT else None
            assert per_kpi[k] == [expected], (metric, k)
    check_metrics(opened, data)


def test_direct_functions_without_valid_cells_give_none():
    data = table_from_columns(SPECS, [[None] * 3, [1, None, 2], [None] * 3])

    async def body():
        table = build_secure_table(data, size_for(SPECS, 3))
        results = [aggregates.fsum(table), aggregates.mean(table), aggregates.variance(table),
                   aggregates.pvariance(table), aggregates.stdev(table), aggregates.pstdev(table),
                   secure_quantiles.median(table), secure_quantiles.minimum(table),
                   secure_quantiles.quantiles(table, 4)]
        return [await open_fraction(r, SPECS) for r in results]

    for opened in run(body()):
        assert all(value is None for value in opened[0] + opened[2]), opened


@pytest.mark.parametrize("counts_mode", COUNT_MODES)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_tables(n, counts_mode):
    rng = random.Random(n)
    columns = [[rng.randint(0, 1000) for _ in range(n)],
               [Fraction(rng.randint(-5000, 8000), 100) for _ in range(n)],
               [Fraction(rng.randint(-30, -5), 10) for _ in range(n)]]
    data = table_from_columns(SPECS, [[float(v) for v in col] for col in columns])
    opened, _ = summarize_and_open(data, FULL_METRICS, counts_mode=counts_mode)
    check_metrics(opened, data)


@pytest.mark.parametrize("n", [7, 8, 15, 16])
def test_row_counts_at_powers_of_two(n):
    """Ranks reach count + 1 (weight-0 lanes): the walk's comparisons must hold -(n + 1) when
    n + 1 is a power of two, i.e. just beyond ``count_bits`` bits."""
    rng = random.Random(n)
    specs = (KpiSpec("x", 0, 50), KpiSpec("y", -5, 5, decimals=1))
    data = table_from_columns(specs, [[rng.randint(0, 50) for _ in range(n)],
                                      [rng.randint(-50, 50) / 10 for _ in range(n)]])
    metrics = (Metric.COUNT, Metric.MIN, Metric.MAX,
               *(Metric("quantile", p, m) for m in METHODS
                 for p in (Fraction(0), Fraction(1, 2), Fraction(7, 8), Fraction(1))))
    opened, _ = summarize_and_open(data, metrics, counts_mode="secret")
    check_metrics(opened, data)


@pytest.mark.parametrize("counts_mode", COUNT_MODES)
def test_all_equal_data(counts_mode):
    data = table_from_columns(SPECS, [[560] * 7, [-12.5] * 7, [-3] * 7])
    opened, _ = summarize_and_open(data, FULL_METRICS, counts_mode=counts_mode)
    check_metrics(opened, data)
    assert opened[Metric.VARIANCE] == [[0], [0], [0]]
    assert opened[Metric.STDEV] == [[0.0], [0.0], [0.0]]
    assert opened[Metric("quantile", Fraction(0), "exclusive")] == [[560], [Fraction(-25, 2)],
                                                                    [-3]]


def test_extreme_48_bit_range_stays_exact():
    """Sums, variances and quantile numerators at the largest supported range and precision."""
    top = 2**48 - 1
    specs = (KpiSpec("big", 0, top), KpiSpec("neg", -(2**47), 2**47 - 1))
    big = [0, top, 0, top, top, 0, top, 1, top - 1, 0, top]
    neg = [-(2**47), 2**47 - 1] * 5 + [0]
    data = table_from_columns(specs, [big, neg])
    metrics = (Metric.SUM, Metric.MEAN, Metric.VARIANCE, Metric.STDEV, Metric.MIN, Metric.MAX,
               Metric.percentile("0.01", "exclusive"), Metric.percentile("99.99", "exclusive"),
               Metric.percentile("0.01"), Metric.percentile("33.33"),
               Metric.percentile("99.99", "midpoint"))
    for counts_mode in COUNT_MODES:
        opened, _ = summarize_and_open(data, metrics, counts_mode=counts_mode, path="bits",
                                       radix_bits=5)
        check_metrics(opened, data)


@pytest.mark.parametrize(("specs", "max_rows"), [
    ((KpiSpec("x", 0, 1),), 1),
    ((KpiSpec("x", 0, 1000),), 40),
    ((KpiSpec("x", 0, 2**48 - 1),), 100_000),
    ((KpiSpec("x", 0, 2**48 - 1),), 10**7),
])
def test_secure_type_prime_has_the_headroom_sizing_assumes(specs, max_rows):
    for moments in (True, False):
        sizing = size_for(specs, max_rows, moments=moments)
        modulus = mpc.SecInt(sizing.field_bits).field.modulus
        # size_for relies on a prime of field_bits + 32 bits: signed values up to
        # 2**(field_bits + 30) are represented exactly (tests/unit/test_sizing.py's HEADROOM)
        assert modulus.bit_length() >= sizing.field_bits + 32
        assert 2 ** (sizing.field_bits + 30) < modulus // 2
        if moments:
            # The second moments live in the wide field when the main one cannot hold them.
            wide = modulus if sizing.moment_field_bits is None else mpc.SecInt(
                sizing.moment_field_bits).field.modulus
            assert (max_rows * (2**sizing.value_bits)) ** 2 < wide // 2
        if sizing.moment_field_bits is not None:
            # A masked offset value of up to MAX_MASK_PARTIES parties fits the main field.
            masks = MAX_MASK_PARTIES * 2 ** (sizing.value_bits + 30)
            assert masks + 2**sizing.value_bits < modulus
            assert modulus.bit_length() <= 64 or sizing.value_bits > 27


# ---------------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------------

PROPERTY_SPECS = (KpiSpec("p", -20, 20, decimals=1), KpiSpec("q", -1000, -1))


@st.composite
def property_tables(draw):
    n = draw(st.integers(1, 40))
    columns = []
    for spec in PROPERTY_SPECS:
        lo, hi = spec.lower_units, spec.lower_units + spec.span
        shape = draw(st.sampled_from(["random", "ties", "equal", "sorted", "reversed"]))
        if shape == "equal":
            units = [draw(st.integers(lo, hi))] * n
        elif shape == "ties":
            pool = draw(st.lists(st.integers(lo, hi), min_size=1, max_size=3))
            units = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
        else:
            units = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
            if shape != "random":
                units.sort(reverse=shape == "reversed")
        cells: list[object] = [str(Decimal(u).scaleb(-spec.decimals)) for u in units]
        missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        if draw(st.booleans()):
            missing = [False] * n
        columns.append([None if gone else cell for gone, cell in zip(missing, cells, strict=True)])
    return table_from_columns(PROPERTY_SPECS, columns)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=property_tables(), method=st.sampled_from(METHODS),
       n_quantiles=st.sampled_from([2, 4, 10]), extra=st.fractions(0, 1, max_denominator=100),
       counts_mode=st.sampled_from(COUNT_MODES), path=st.sampled_from(["digits", "bits"]),
       radix_bits=st.integers(1, 5))
def test_quantiles_property(data, method, n_quantiles, extra, counts_mode, path, radix_bits):
    cuts = [*secure_quantiles.cuts_for_quantiles(n_quantiles, method), Cut(extra, method),
            Cut(Fraction(0), method), Cut(Fraction(1), method)]
    sizing = size_for(PROPERTY_SPECS, data.shape[1])

    async def body():
        table = build_secure_table(data, sizing, path=path, radix_bits=radix_bits)
        result = secure_quantiles.quantile_cuts(table, cuts,
                                                counts=public_counts(data, counts_mode))
        return await open_fraction(result, PROPERTY_SPECS)

    opened = run(body())
    for k in range(len(PROPERTY_SPECS)):
        values = data.values(k)
        expected = [oracles.exact_quantile(values, cut.fraction, method) for cut in cuts]
        assert opened[k] == expected, (k, values)
        if len(values) >= 2 and method in ("exclusive", "inclusive"):
            assert opened[k][: n_quantiles - 1] == oracles.quantiles(values, n_quantiles, method)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=property_tables(), counts_mode=st.sampled_from(COUNT_MODES))
def test_moments_and_medians_property(data, counts_mode):
    metrics = (Metric.COUNT, Metric.SUM, Metric.MEAN, Metric.VARIANCE, Metric.STDEV,
               Metric.MIN, Metric.MAX, Metric.MEDIAN)
    opened, _ = summarize_and_open(data, metrics, counts_mode=counts_mode)
    check_metrics(opened, data)


# ---------------------------------------------------------------------------------------------
# Inputs beyond what the secure type was sized for are refused (once bugs in src/)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("counts_mode", COUNT_MODES)
def test_quantile_fractions_finer_than_the_sizing_are_refused(counts_mode):
    """``size_for`` sizes the field and the comparisons for quantile denominators up to 10**4
    (percentiles with two decimals).  Finer fractions, which ordinary inputs produce
    (``percentiles(table, [100/3])`` is the fraction 4166666666666667/12500000000000000), once
    wrapped in the field and gave garbage (0.45 instead of 23.33 for data 10..50); they are
    refused before any MPC, and a fraction at the limit (33.33 %) is exact.
    """
    specs = (KpiSpec("a", 0, 1000),)
    data = table_from_columns(specs, [[10, 20, 30, 40, 50]])
    refused = [(100 / 3, "inclusive", "4166666666666667/12500000000000000"),
               (Fraction(100, 3**40), "inclusive", f"1/{3**40}"),
               (Fraction(100, 3**40), "exclusive", f"1/{3**40}")]
    at_the_limit = [("33.33", "inclusive"), ("33.33", "exclusive"), ("0.01", "exclusive"),
                    ("99.99", "nearest-rank")]

    async def body():
        table = build_secure_table(data, size_for(specs, 5, moments=False))
        counts = public_counts(data, counts_mode)
        for percent, method, fraction in refused:
            with pytest.raises(ValueError, match=rf"quantile fraction {fraction} is finer than "
                                                 r"1/10000"):
                secure_quantiles.percentiles(table, [percent], method=method, counts=counts)
        return [(await open_fraction(secure_quantiles.percentiles(
            table, [percent], method=method, counts=counts), specs))[0][0]
            for percent, method in at_the_limit]

    got = run(body())
    assert got == [oracles.exact_quantile(data.values(0), Fraction(percent) / 100, method)
                   for percent, method in at_the_limit]
    assert got[0] == Fraction(5833, 250)  # 23.332: 10 + 3333/10000 * 4 * 10


@pytest.mark.parametrize("path", PATHS)
def test_tables_with_more_rows_than_sized_for_are_refused(path):
    """The walk's comparisons have ``count_bits + 2`` bits: more rows than ``size_for`` was
    told overflowed them (200 rows 0..199 on ``size_for(specs, 1)`` once gave median
    -650972.5).  The table builders refuse ``n >= 2**count_bits`` rows; the largest accepted
    table is exact.
    """
    specs = (KpiSpec("a", 0, 1000),)
    sizing = size_for(specs, 4)
    limit = (1 << sizing.count_bits) - 1
    largest = table_from_columns(specs, [[3 * i for i in range(limit)]])
    too_many = table_from_columns(specs, [list(range(limit + 1))])
    far_too_many = table_from_columns(specs, [list(range(200))])

    async def body():
        for data in (too_many, far_too_many):
            rows = data.shape[1]
            with pytest.raises(ValueError, match=rf"^{rows} rows, but the secure type was sized "
                                                 rf"for at most {limit}: call size_for"):
                build_secure_table(data, sizing, path=path)
        table = build_secure_table(largest, sizing, path=path)
        return (await open_fraction(secure_quantiles.median(table), specs))[0][0]

    assert limit >= 4
    assert run(body()) == oracles.median(largest.values(0))


def test_malformed_one_hot_digits_are_rejected():
    """SRC BUG / threat-model gap (secure_table.from_digits): the in-MPC range check assumes
    every shared digit vector is one-hot; that is not checked.  An owner who shares a digit
    with two ones passes the range check with a value above the span, and ``rejected`` stays
    0.  Repro: KPI 0..1000 (span 0b11_1110_1000: digits 3|14|8 at radix 4); a cell with top
    digit 3, middle digit with ones in bins 0 *and* 15, low digit 8 is accepted as
    768 + 240 + 8 = 1016 > 1000 (the middle digit compares as "0 < 14").  DESIGN.md: "range
    checks and clipping happen inside the MPC, and the count of rejected inputs is an output".
    A fix: check each digit vector sums to 1 and each entry is a bit (x*(x-1) == 0), and fold
    that into ``valid``.
    """
    specs = (KpiSpec("a", 0, 1000),)
    sizing = size_for(specs, 4)
    digits = encode_digits(np.array([[10, 20, 30, 40]]), sizing.value_bits, 4)
    assert digits.shape == (1, 4, 3, 16)
    digits[0, 0] = 0
    digits[0, 0, 0, 3] = 1  # top digit 3 (== the span's)
    digits[0, 0, 1, 0] = digits[0, 0, 1, 15] = 1  # middle digit: two ones
    digits[0, 0, 2, 8] = 1

    async def body():
        sec = mpc.SecInt(sizing.field_bits)
        table = SecureTable.from_digits(specs, sizing, sec.array(digits),
                                        sec.array(np.ones((1, 4), dtype=np.int64)))
        return (await open_counts(table.rejected),
                await open_fraction(aggregates.fsum(table), specs))

    rejected, total = run(body())
    assert (rejected, total) == ([1], [[90]]), f"rejected {rejected}, sum {total} (1016 got in)"


def test_validity_that_is_not_a_bit_rejects_the_cell():
    """An owner who shares validity 7 once counted seven times (count 10 and mean 22 instead of
    4 and 25 for rows 10, 20, 30, 40 with validity [1, 7, 1, 1]).  The input check finds the
    flag that is not a bit: the cell is rejected (counted in ``rejected``) and left out of
    every statistic, exactly like a value out of range.
    """
    specs = (KpiSpec("a", 0, 1000),)
    sizing = size_for(specs, 4)
    digits = encode_digits(np.array([[10, 20, 30, 40]]), sizing.value_bits, 4)

    async def body():
        sec = mpc.SecInt(sizing.field_bits)
        table = SecureTable.from_digits(specs, sizing, sec.array(digits),
                                        sec.array(np.array([[1, 7, 1, 1]])))
        return (await open_counts(aggregates.count(table)), await open_counts(table.rejected),
                await open_fraction(aggregates.mean(table), specs),
                await open_fraction(secure_quantiles.median(table), specs))

    counts, rejected, mean, median = run(body())
    assert (counts, rejected, mean, median) == ([3], [1], [[Fraction(80, 3)]], [[30]])


def test_from_values_rejects_values_beyond_value_bits():
    """SRC BUG / threat-model gap (secure_table.from_values): the values are decomposed with
    ``mpc.np_to_bits(values, l=value_bits)``, which keeps only the low ``value_bits`` bits of a
    value outside ``[0, 2**value_bits)``.  Such a value (e.g. shared by a firm in outsourced
    mode) is not rejected but silently wrapped into range: for KPI 0..1000 (value_bits 10),
    2**10 + 5 is accepted as 5 and 2**40 as 0; -1 becomes 1023 (rejected only by luck).  The
    class docstring promises "Cells whose value lies outside the KPI's declared range are
    rejected inside the MPC".  A fix: decompose with more bits (e.g. field_bits) and reject
    cells with any bit set above value_bits.  Fixed: decomposition over the secure type's
    bit length; values beyond the secure type itself (|x| >= 2**(field_bits-1), e.g. 2**40 for
    field_bits 32) are not integers of that type and remain the caller's precondition.
    """
    specs = (KpiSpec("a", 0, 1000),)
    sizing = size_for(specs, 4)
    data = TableData(specs, np.array([[10, 2**10 + 5, -1, 2**31 - 1]]), np.ones((1, 4), np.int64))

    async def body():
        table = build_secure_table(data, sizing, path="values")
        return await open_counts(table.rejected), await open_fraction(aggregates.fsum(table),
                                                                      specs)

    rejected, total = run(body())
    assert (rejected, total) == ([3], [[10]]), f"rejected {rejected}, sum {total}"
