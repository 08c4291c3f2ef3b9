"""``smpc_bench.stats`` at m=1, in process: against Python's ``statistics`` on exact Fractions.

Every function, on MPyC secure integers and fixed-point numbers, as lists, iterators and secure
arrays: ties, negatives, all equal, the type's extremes, n = 1..3; default results (the input's
type, the exact value rounded once, halves up) and ``exact=True`` results (Fractions; the
correctly rounded root for stdev/pstdev, equal to ``statistics``' float); bounds (kept and
broken); the opening log, identical for different data of one size.
"""

from __future__ import annotations

import random
import statistics
import sys
from fractions import Fraction

import mpyc.statistics as mpyc_statistics
import numpy as np
import pytest

from smpc_bench import stats
from smpc_bench.costs.openings import record_openings
from smpc_bench.engine.driver import runtime
from tests import stats_oracles as oracle
from tests.protocol.test_oblivious import reproducible_randomness

mpc = runtime()
SECINT = mpc.SecInt(32)
SECFXP = mpc.SecFxp(32, 16)

ONE_VALUE = ("mean", "pvariance", "pstdev", *oracle.MEDIANS)
TWO_VALUES = ("variance", "stdev")
FUNCTIONS = (*ONE_VALUE, *TWO_VALUES)

rng = random.Random(12)
INTEGER_DATA = {
    "one": [7],
    "two": [3, -2],
    "three": [-4, 9, 9],
    "all equal": [5] * 6,
    "negatives": [-17, -3, -250, -3, -99],
    "ties": [rng.choice([-3, 0, 4]) for _ in range(11)],
    "random": [rng.randint(-10**6, 10**6) for _ in range(20)],
    "even spread": [1, 2, 4, 7, 11, 16, 22, 29],
}
GRID = 1 << 16  # SecFxp(32, 16): values are multiples of 2**-16
FIXED_DATA = {
    "one": [0.5],
    "two": [-1.25, 3.0],
    "three": [2.5, -0.75, 2.5],
    "all equal": [-3.125] * 5,
    "random": [rng.randint(-50 * GRID, 50 * GRID) / GRID for _ in range(13)],
    "ties": [rng.choice([-0.5, 0.0, 1.5]) for _ in range(9)],
}


def run(coro):
    return mpc.run(coro)


async def opened(result):
    return await mpc.output(result)


def call(name, x, **kwargs):
    return run(opened(getattr(stats, name)(x, **kwargs)))


def minimum_size(name):
    return 2 if name in TWO_VALUES else 1


def secure(sectype, data):
    return [sectype(v) for v in data]


def sized_cases(datasets):
    """(name, case) pairs with enough values for the statistic (fewer are tested below)."""
    return [(name, case) for name in FUNCTIONS for case in datasets
            if len(datasets[case]) >= minimum_size(name)]


@pytest.mark.parametrize(("name", "case"), sized_cases(INTEGER_DATA))
def test_integers_match_statistics(name, case):
    data = INTEGER_DATA[case]
    x = secure(SECINT, data)
    result = getattr(stats, name)(x)
    assert isinstance(result, SECINT)  # the input's type: composes with the program
    assert call(name, x) == oracle.rounded(name, data, 0)
    exact = call(name, x, exact=True)
    assert exact == oracle.exact(name, data)
    assert float(exact) == getattr(statistics, name)(data)  # Python's own float answer


@pytest.mark.parametrize(("name", "case"), sized_cases(FIXED_DATA))
def test_fixed_point_matches_statistics(name, case):
    data = FIXED_DATA[case]
    x = secure(SECFXP, data)
    assert isinstance(getattr(stats, name)(x), SECFXP)
    assert Fraction(call(name, x)) == oracle.rounded(name, data, 16)
    exact = call(name, x, exact=True)
    assert exact == oracle.exact(name, data)
    assert float(exact) == getattr(statistics, name)(data)


@pytest.mark.parametrize("method", ["exclusive", "inclusive"])
@pytest.mark.parametrize("n", [1, 2, 4, 10, 100])
@pytest.mark.parametrize("case", ["two", "three", "all equal", "ties", "random", "even spread"])
def test_quantiles_of_integers(case, n, method):
    data = INTEGER_DATA[case]
    x = secure(SECINT, data)
    got = run(opened(stats.quantiles(x, n=n, method=method)))
    exact = run(opened(stats.quantiles(x, n=n, method=method, exact=True)))
    assert len(got) == len(exact) == n - 1
    if n > 1:
        assert exact == oracle.exact("quantiles", data, n=n, method=method)
        assert [float(e) for e in exact] == statistics.quantiles(data, n=n, method=method)
        assert got == oracle.rounded("quantiles", data, 0, n=n, method=method)


@pytest.mark.parametrize("method", ["exclusive", "inclusive", "lower", "higher", "midpoint",
                                    "nearest-rank"])
def test_quantiles_of_fixed_point_and_numpy_methods(method):
    data = FIXED_DATA["random"]
    x = secure(SECFXP, data)
    got = run(opened(stats.quantiles(x, n=10, method=method)))
    exact = run(opened(stats.quantiles(x, n=10, method=method, exact=True)))
    assert exact == oracle.exact("quantiles", data, n=10, method=method)
    assert [Fraction(g) for g in got] == oracle.rounded("quantiles", data, 16, n=10,
                                                       method=method)


def test_percentiles_in_one_call():
    data = INTEGER_DATA["random"]
    x = secure(SECINT, data)
    ps = [0, 10, 25, 50, 75, 90, 99.5, 100]
    for method in ("inclusive", "nearest-rank", "exclusive"):
        exact = run(opened(stats.percentiles(x, ps, method=method, exact=True)))
        assert exact == oracle.exact("percentiles", data, ps=ps, method=method)
        got = run(opened(stats.percentiles(x, ps, method=method)))
        assert got == oracle.rounded("percentiles", data, 0, ps=ps, method=method)
    # numpy's default method, in floats, agrees on these exactly representable answers
    expected = np.percentile(data, [10, 50, 90])
    got = run(opened(stats.percentiles(x, [10, 50, 90], exact=True)))
    assert [float(g) for g in got] == pytest.approx(list(expected), abs=1e-9)


def test_type_extremes_are_exact():
    smallest, largest = -(1 << 31), (1 << 31) - 1
    data = [largest, smallest, 0, largest, smallest + 1, -1]
    x = secure(SECINT, data)
    for name in (*oracle.MEDIANS, "mean"):
        assert call(name, x) == oracle.rounded(name, data, 0)
    for name in ("variance", "pvariance", "stdev", "pstdev"):  # far beyond SecInt(32)'s range
        assert call(name, x, exact=True) == oracle.exact(name, data)
    assert (run(opened(stats.quantiles(x, n=4, exact=True)))
            == oracle.exact("quantiles", data, n=4))
    assert run(opened(stats.quantiles(x, n=4))) == oracle.rounded("quantiles", data, 0, n=4)


def test_ties_round_half_up_where_mpyc_floors():
    x = secure(SECINT, [1, 2])
    assert call("median", x) == 2  # 1.5 rounded half up
    assert run(opened(mpyc_statistics.median(x))) == 1  # mpyc.statistics floors it
    assert call("median", x, exact=True) == Fraction(3, 2)
    y = secure(SECINT, [-2, -1])
    assert call("median", y) == -1  # -1.5 rounded half up (towards +infinity)
    assert call("mean", secure(SECINT, [0, 0, 1])) == 0
    assert call("mean", secure(SECINT, [0, 1])) == 1


def test_secure_arrays_and_iterators():
    data = INTEGER_DATA["random"]
    array = SECINT.array(np.array(data))
    assert call("median", array) == oracle.rounded("median", data, 0)
    assert call("mean", iter(secure(SECINT, data))) == oracle.rounded("mean", data, 0)
    fixed = SECFXP.array(np.array(FIXED_DATA["random"]))
    assert Fraction(call("median_high", fixed)) == oracle.exact("median_high",
                                                                FIXED_DATA["random"])
    with pytest.raises(ValueError, match="1-D"):
        stats.median(SECINT.array(np.zeros((2, 2), dtype=np.int64)))


def test_results_compose_with_the_program():
    data = INTEGER_DATA["random"]
    x = secure(SECINT, data)
    centre = stats.median(x)
    deviations = [abs(a - centre) for a in x]  # secure arithmetic on the secure median
    mad = run(opened(stats.median(deviations)))  # nothing opened in between
    middle = oracle.rounded("median", data, 0)
    assert mad == oracle.rounded("median", [abs(v - middle) for v in data], 0)
    # a secure centre for the variance, and a list of exact results of several calls
    assert (call("variance", x, xbar=stats.mean(x), exact=True)
            == oracle.exact("variance", data, centre=oracle.rounded("mean", data, 0)))
    both = run(opened([stats.mean(x, exact=True), stats.pvariance(x, exact=True),
                       stats.pstdev(x, exact=True)]))
    assert both == [oracle.exact("mean", data), oracle.exact("pvariance", data),
                    oracle.exact("pstdev", data)]


def test_public_centres_like_python():
    data = INTEGER_DATA["three"]
    x = secure(SECINT, data)
    for centre in (3, Fraction(7, 3), 2.5, -1):
        assert (call("variance", x, xbar=centre, exact=True)
                == oracle.exact("variance", data, centre=centre))
        assert call("pvariance", x, mu=centre) == oracle.rounded("pvariance", data, 0,
                                                                 centre=centre)
        assert call("pstdev", x, mu=centre) == oracle.rounded("pstdev", data, 0, centre=centre)
    y = secure(SECFXP, FIXED_DATA["three"])
    assert (call("variance", y, xbar=0.125, exact=True)
            == oracle.exact("variance", FIXED_DATA["three"], centre=0.125))


def test_bounds_give_the_same_answers():
    data = INTEGER_DATA["random"]
    x = secure(SECINT, data)
    bounds = (-10**6, 10**6)
    for name in FUNCTIONS:
        assert call(name, x, bounds=bounds) == oracle.rounded(name, data, 0)
    assert (run(opened(stats.quantiles(x, n=10, bounds=(min(data), max(data)))))
            == oracle.rounded("quantiles", data, 0, n=10))
    fixed = FIXED_DATA["random"]
    y = secure(SECFXP, fixed)
    assert Fraction(call("median", y, bounds=(-50, 50.0))) == oracle.rounded("median", fixed,
                                                                              16)
    assert call("median", y, bounds=("-50", "50"), exact=True) == oracle.exact("median", fixed)


@pytest.mark.parametrize("value", [-11, 101, 1 << 20, -(1 << 31), (1 << 31) - 1])
@pytest.mark.parametrize("name", ["median", "quantiles", "mean", "stdev"])
def test_values_outside_bounds_raise(name, value):
    x = secure(SECINT, [0, 5, value, 100, 7])
    with pytest.raises(ValueError, match="outside the bounds"):
        call(name, x, bounds=(-10, 100))
    with pytest.raises(ValueError, match="outside the bounds"):
        call(name, x, bounds=(-10, 100), exact=True)


def test_fixed_point_bounds_are_the_grid_points_inside():
    y = secure(SECFXP, [1.0 + 2**-16, 0.5, 1.0 + 2**-16])
    assert Fraction(call("median_high", y, bounds=(0, 1 + 2**-16))) == 1 + Fraction(1, GRID)
    with pytest.raises(ValueError, match="outside the bounds"):
        call("median", y, bounds=(0, 1))


def test_refusals_like_statistics():
    with pytest.raises(statistics.StatisticsError):
        stats.mean([])
    with pytest.raises(statistics.StatisticsError):
        stats.median([])
    with pytest.raises(statistics.StatisticsError):
        stats.variance([SECINT(1)])
    with pytest.raises(statistics.StatisticsError):
        stats.quantiles(secure(SECINT, [1, 2]), n=0)
    with pytest.raises(ValueError, match="Unknown method"):
        stats.quantiles(secure(SECINT, [1, 2]), method="weird")
    with pytest.raises(TypeError, match="secure fixed-point or integer"):
        stats.median([mpc.SecFld(101)(3)])
    with pytest.raises(ValueError, match="range"):
        stats.median(secure(SECINT, [1, 2]), bounds=(0, 1 << 40))
    if sys.version_info < (3, 13):
        with pytest.raises(statistics.StatisticsError):
            stats.quantiles([SECINT(3)])
    # the walk's comparisons do not fit an 8-bit type for 200 values
    with pytest.raises(ValueError, match="walk"):
        stats.median([mpc.SecInt(8)(1)] * 200)


def test_plain_data_is_relayed_to_statistics():
    assert stats.median([1, 2]) == statistics.median([1, 2])
    assert stats.variance([1.5, 2, 4]) == statistics.variance([1.5, 2, 4])
    assert stats.quantiles([1, 2, 3, 4, 5], n=4) == statistics.quantiles([1, 2, 3, 4, 5], n=4)
    assert stats.percentiles([1, 2, 3, 4], [50]) == [Fraction(5, 2)]
    assert stats.mode is mpyc_statistics.mode  # MPyC's own, unchanged
    with pytest.raises(AttributeError):
        _ = stats.no_such_function


@pytest.mark.parametrize("bits", [16, 64, 80])
def test_other_integer_types(bits):
    sectype = mpc.SecInt(bits)
    top = (1 << (bits - 1)) - 1
    data = [top, -top, 3, 3, -7, top // 3]
    x = secure(sectype, data)
    assert call("median", x) == oracle.rounded("median", data, 0)
    assert call("median_low", x) == oracle.exact("median_low", data)
    assert run(opened(stats.quantiles(x, exact=True))) == oracle.exact("quantiles", data)


# --- what is opened: the same for any data of one size --------------------------------------

SIZE = 8
SAME_SIZE = {
    "random": [rng.randint(-1000, 1000) for _ in range(SIZE)],
    "other random": [rng.randint(-1000, 1000) for _ in range(SIZE)],
    "all equal": [42] * SIZE,
    "sorted": sorted(rng.randint(-1000, 1000) for _ in range(SIZE)),
    "reverse sorted": sorted((rng.randint(-1000, 1000) for _ in range(SIZE)), reverse=True),
    "ties": [rng.choice([-1, 7]) for _ in range(SIZE)],
    "extremes": [rng.choice([-1000, 1000]) for _ in range(SIZE)],
}
CALLS = {
    "mean": lambda x, **kw: stats.mean(x, **kw),
    "variance": lambda x, **kw: stats.variance(x, **kw),
    "stdev": lambda x, **kw: stats.stdev(x, **kw),
    "median": lambda x, **kw: stats.median(x, **kw),
    "median_low": lambda x, **kw: stats.median_low(x, **kw),
    "quartiles": lambda x, **kw: stats.quantiles(x, **kw),
    "deciles": lambda x, **kw: stats.quantiles(x, n=10, method="inclusive", **kw),
    "percentiles": lambda x, **kw: stats.percentiles(x, [5, 50, 95], **kw),
}


def signature(function, sectype, data, **kwargs):
    async def body():
        return await mpc.output(function(secure(sectype, data), **kwargs))

    with record_openings() as log:
        run(body())
    return log.signature()


@pytest.mark.parametrize("options", [{}, {"bounds": (-1000, 1000)}, {"exact": True}],
                         ids=["type bounds", "given bounds", "exact"])
@pytest.mark.parametrize("sectype", [SECINT, SECFXP], ids=["SecInt32", "SecFxp32"])
@pytest.mark.parametrize("call_name", CALLS)
def test_openings_do_not_depend_on_the_data(call_name, sectype, options):
    signatures = {case: signature(CALLS[call_name], sectype, data, **options)
                  for case, data in SAME_SIZE.items()}
    reference = signatures["random"]
    assert all(s == reference for s in signatures.values()), {
        case: len(s) for case, s in signatures.items()}
    assert len(reference) >= 2  # masked openings inside, then the output itself
    assert reference[-1].shape in ((), (1,), (3,), (9,))  # last: the caller's own output


def test_mpyc_statistics_median_openings_do_depend_on_the_data():
    """The contrast: quickselect opens pivot partition sizes (with the same randomness)."""
    def mpyc_signature(data):
        with reproducible_randomness(), record_openings() as log:
            run(opened(mpyc_statistics.median(secure(SECINT, data))))
        return log.signature()

    signatures = {mpyc_signature(data) for data in SAME_SIZE.values()}
    assert len(signatures) > 1
