"""Quantile definitions: the oracles against Python/numpy, and the rank plans against the oracles.

Pure Python, no MPC: ``plan_secure`` is exercised with :class:`~fractions.Fraction` standing in for
a secure integer (it supports ``%``, exact ``/`` and comparisons, which is all the plan needs).
"""

from __future__ import annotations

import random
import statistics
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpc_bench.core.quantiles import cuts_for_quantiles
from smpc_bench.spec.quantile_methods import METHODS, Cut, RankPlan, plan_public, plan_secure
from tests import oracles

# Fractions used on grids: all quartiles/deciles/percentile-style cuts plus extremes.
GRID_FRACTIONS = sorted({Fraction(a, b) for b in range(1, 13) for a in range(b + 1)}
                        | {Fraction(1, 100), Fraction(99, 100), Fraction(1, 10000),
                           Fraction(9999, 10000), Fraction(1, 40), Fraction(39, 40),
                           Fraction(1, 3), Fraction(2, 3)})


def f(rank: int) -> int:
    """A strictly increasing, non-linear value for 1-based rank: wrong ranks/weights show."""
    return rank**3 + 7 * rank


def plan_value(plan: RankPlan, count: int, value=f) -> Fraction:
    total = Fraction(0)
    for rank, weight in ((plan.rank_low, plan.weight_low), (plan.rank_high, plan.weight_high)):
        weight = int(weight)
        if weight:
            assert 1 <= int(rank) <= count, (plan, count)
            total += weight * value(int(rank))
    return total / plan.denominator


def as_int(x) -> int:
    """An integer from a plan entry computed over Fractions (must be integral)."""
    x = Fraction(x)
    assert x.denominator == 1, x
    return int(x)


def secure_like_plan(cut: Cut, count: int) -> RankPlan:
    """plan_secure with a Fraction standing in for the secret count."""
    plan = plan_secure(cut, Fraction(count))
    return RankPlan(as_int(plan.rank_low), as_int(plan.rank_high), as_int(plan.weight_low),
                    as_int(plan.weight_high), plan.denominator)


# ---------------------------------------------------------------------------------------------
# The oracles themselves
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["exclusive", "inclusive"])
def test_exact_oracle_matches_python_statistics_quantiles(method):
    rng = random.Random(7)
    for _ in range(300):
        size = rng.randint(2, 30)
        data = [Fraction(rng.randint(-50, 50), rng.choice([1, 2, 4, 10])) for _ in range(size)]
        n = rng.randint(2, 13)
        expected = statistics.quantiles(data, n=n, method=method)
        got = [oracles.exact_quantile(data, Fraction(i, n), method) for i in range(1, n)]
        assert got == expected, (data, n)
        assert oracles.quantiles(data, n, method) == expected
        assert [oracles.stdlib_quantile(data, Fraction(i, n), method)
                for i in range(1, n)] == expected


def test_oracle_single_value_and_empty_conventions():
    assert oracles.quantiles([Fraction(5)], 4) == [5, 5, 5]
    assert oracles.quantiles([], 4) == [None, None, None]
    for method in METHODS:
        for p in (Fraction(0), Fraction(1, 3), Fraction(1)):
            assert oracles.exact_quantile([Fraction(-7, 2)], p, method) == Fraction(-7, 2)
            assert oracles.exact_quantile([], p, method) is None
    assert oracles.variance([Fraction(1)]) is None
    assert oracles.stdev([Fraction(1)]) is None
    assert oracles.pvariance([Fraction(1)]) == 0
    assert oracles.mean([]) is None and oracles.fsum([]) is None


def dyadic_fractions() -> list[Fraction]:
    return sorted({Fraction(a, 2**e) for e in range(0, 8) for a in range(0, 2**e + 1)})


@pytest.mark.parametrize("method", METHODS)
def test_exact_oracle_matches_numpy_exactly_on_integers_and_dyadic_fractions(method):
    """With small integers and dyadic p, numpy computes exactly: compare with ``==``."""
    rng = random.Random(11)
    for _ in range(60):
        size = rng.randint(1, 25)
        data = [Fraction(rng.randint(-1000, 1000)) for _ in range(size)]
        if rng.random() < 0.3:
            data = [Fraction(rng.choice([3, 3, 5, -2]) * 100) for _ in range(size)]  # ties
        fractions = [p for p in dyadic_fractions() if method != "exclusive"
                     or oracles.weibull_agrees_with_exclusive(size, p)]
        # (numpy clips where Python's exclusive extrapolates: checked separately)
        got = oracles.numpy_quantiles(data, fractions, method)
        for p, value in zip(fractions, got, strict=True):
            assert Fraction(value) == oracles.exact_quantile(data, p, method), (data, p)
            if p.denominator <= 4:
                assert value == oracles.numpy_quantile(data, p, method)


@pytest.mark.parametrize("method", ["exclusive", "inclusive", "midpoint"])
def test_exact_oracle_matches_numpy_closely_for_any_fraction(method):
    """Interpolating methods are continuous in p, so float rounding of p only costs ulps."""
    rng = random.Random(5)
    for _ in range(200):
        size = rng.randint(2, 40)
        data = [Fraction(rng.randint(-10**6, 10**6), 100) for _ in range(size)]
        p = Fraction(rng.randint(0, 10000), 10000)
        if method == "exclusive" and not oracles.weibull_agrees_with_exclusive(size, p):
            continue
        if method == "midpoint" and (p * (size - 1)).denominator <= 2:
            pass  # floor/ceil are exact here too
        elif method == "midpoint":
            continue  # floor/ceil of a float product may flip at integers: not continuous
        expected = oracles.exact_quantile(data, p, method)
        assert float(expected) == pytest.approx(oracles.numpy_quantile(data, p, method),
                                                rel=1e-12, abs=1e-9)


def test_exclusive_extrapolates_like_python_where_numpy_weibull_clips():
    data = [Fraction(10), Fraction(20), Fraction(40)]
    # p = 1/8: position p*(c+1) = 1/2 < 1: Python extrapolates below the minimum.
    assert oracles.exact_quantile(data, Fraction(1, 8), "exclusive") == 5
    assert statistics.quantiles(data, n=8, method="exclusive")[0] == 5
    assert oracles.numpy_quantile(data, Fraction(1, 8), "exclusive") == 10.0
    assert not oracles.weibull_agrees_with_exclusive(3, Fraction(1, 8))
    assert oracles.weibull_agrees_with_exclusive(3, Fraction(1, 4))


@pytest.mark.parametrize("method", ["lower", "higher", "nearest-rank"])
def test_discrete_methods_return_a_data_value(method):
    rng = random.Random(3)
    for _ in range(100):
        data = [Fraction(rng.randint(0, 9)) for _ in range(rng.randint(1, 12))]
        p = Fraction(rng.randint(0, 100), 100)
        assert oracles.exact_quantile(data, p, method) in data


def test_nearest_rank_classic_definition():
    data = [Fraction(v) for v in (15, 20, 35, 40, 50)]  # Wikipedia's nearest-rank example
    assert oracles.exact_quantile(data, Fraction(5, 100), "nearest-rank") == 15
    assert oracles.exact_quantile(data, Fraction(30, 100), "nearest-rank") == 20
    assert oracles.exact_quantile(data, Fraction(40, 100), "nearest-rank") == 20
    assert oracles.exact_quantile(data, Fraction(50, 100), "nearest-rank") == 35
    assert oracles.exact_quantile(data, Fraction(1), "nearest-rank") == 50
    assert oracles.exact_quantile(data, Fraction(0), "nearest-rank") == 15


# ---------------------------------------------------------------------------------------------
# Cut
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [Fraction(-1, 10), Fraction(11, 10), -1, 2])
def test_cut_rejects_fraction_outside_unit_interval(fraction):
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        Cut(fraction, "inclusive")


def test_cut_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown quantile method 'linear'"):
        Cut(Fraction(1, 2), "linear")


def test_cut_normalises_fraction_and_denominators():
    assert Cut(0.25, "inclusive").fraction == Fraction(1, 4)
    assert Cut(Fraction(3, 4), "exclusive").denominator == 4
    assert Cut(Fraction(3, 4), "inclusive").denominator == 4
    assert Cut(Fraction(3, 4), "midpoint").denominator == 2
    for method in ("lower", "higher", "nearest-rank"):
        assert Cut(Fraction(3, 4), method).denominator == 1
    assert Cut(Fraction(1, 2), "lower") == Cut(Fraction(2, 4), "lower")


def test_cuts_for_quantiles_match_statistics_quantiles_cut_points():
    assert cuts_for_quantiles() == [Cut(Fraction(i, 4), "exclusive") for i in (1, 2, 3)]
    assert cuts_for_quantiles(10, "inclusive") == [Cut(Fraction(i, 10), "inclusive")
                                                   for i in range(1, 10)]
    assert cuts_for_quantiles(1) == []
    with pytest.raises(ValueError, match="at least 1"):
        cuts_for_quantiles(0)


# ---------------------------------------------------------------------------------------------
# plan_public and plan_secure against the oracles
# ---------------------------------------------------------------------------------------------


def check_plan(plan: RankPlan, cut: Cut, count: int) -> None:
    assert plan.denominator == cut.denominator
    assert int(plan.weight_low) + int(plan.weight_high) == plan.denominator
    data = [Fraction(f(r)) for r in range(1, count + 1)]
    assert plan_value(plan, count) == oracles.exact_quantile(data, cut.fraction, cut.method), (
        cut, count, plan)


@pytest.mark.parametrize("method", METHODS)
def test_plan_public_matches_oracle_on_grid(method):
    for count in range(1, 41):
        for p in GRID_FRACTIONS:
            check_plan(plan_public(Cut(p, method), count), Cut(p, method), count)


@pytest.mark.parametrize("method", METHODS)
def test_plan_secure_formulas_match_oracle_on_grid(method):
    for count in range(1, 41):
        for p in GRID_FRACTIONS:
            cut = Cut(p, method)
            plan = secure_like_plan(cut, count)
            check_plan(plan, cut, count)
            # ranks stay within [1, count + 1] (the walk's comparison width relies on it)
            assert 1 <= plan.rank_low <= count + 1 and 1 <= plan.rank_high <= count + 1


@pytest.mark.parametrize("method", METHODS)
def test_plans_match_python_and_numpy_on_random_data(method):
    rng = random.Random(2024)
    for _ in range(150):
        count = rng.randint(1, 30)
        data = sorted(Fraction(rng.randint(-20, 20), rng.choice([1, 4])) for _ in range(count))
        p = rng.choice(GRID_FRACTIONS)
        cut = Cut(p, method)
        expected = oracles.exact_quantile(data, p, method)
        for plan in (plan_public(cut, count), secure_like_plan(cut, count)):
            assert plan_value(plan, count, lambda r, d=data: d[r - 1]) == expected
        if method in ("exclusive", "inclusive") and 0 < p < 1 and count >= 2:
            assert expected == oracles.stdlib_quantile(data, p, method)


def test_single_value_gives_that_value_for_every_method_and_fraction():
    for method in METHODS:
        for p in GRID_FRACTIONS:
            for plan in (plan_public(Cut(p, method), 1), secure_like_plan(Cut(p, method), 1)):
                assert plan_value(plan, 1) == f(1), (method, p, plan)


@pytest.mark.parametrize("method", METHODS)
def test_plans_for_count_zero_are_well_formed(method):
    """No data: the value is unspecified (suppressed later) but ranks must stay walkable."""
    for p in GRID_FRACTIONS:
        for plan in (plan_public(Cut(p, method), 0), secure_like_plan(Cut(p, method), 0)):
            assert int(plan.weight_low) + int(plan.weight_high) == plan.denominator
            assert 0 <= int(plan.rank_low) <= 2 and 0 <= int(plan.rank_high) <= 2


def test_extreme_exclusive_cuts_extrapolate_like_python():
    # c = 3, p = 1/8: Python gives 2*y1 - ... (see the oracle test); the plan weights go negative.
    plan = plan_public(Cut(Fraction(1, 8), "exclusive"), 3)
    assert plan.weight_high < 0 < plan.weight_low
    assert plan_value(plan, 3) == oracles.exact_quantile(
        [Fraction(f(r)) for r in (1, 2, 3)], Fraction(1, 8), "exclusive")


fractions_strategy = st.integers(1, 10_000).flatmap(
    lambda b: st.integers(0, b).map(lambda a: Fraction(a, b)))


@settings(max_examples=400, deadline=None)
@given(count=st.integers(1, 400), fraction=fractions_strategy, method=st.sampled_from(METHODS))
def test_plans_match_oracle_property(count, fraction, method):
    cut = Cut(fraction, method)
    public = plan_public(cut, count)
    secure = secure_like_plan(cut, count)
    check_plan(public, cut, count)
    check_plan(secure, cut, count)
    assert plan_value(public, count) == plan_value(secure, count)


@settings(max_examples=200, deadline=None)
@given(data=st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=60),
       exponent=st.integers(0, 7), method=st.sampled_from(METHODS), numerator=st.integers(0))
def test_plan_public_matches_numpy_exactly_property(data, exponent, method, numerator):
    """Against numpy itself (no oracle in between), where numpy is exact: integers, dyadic p."""
    fraction = Fraction(numerator % (2**exponent + 1), 2**exponent)
    count = len(data)
    if method == "exclusive" and count > 1 and not oracles.weibull_agrees_with_exclusive(
            count, fraction):
        return
    ordered = sorted(data)
    plan = plan_public(Cut(fraction, method), count)
    got = plan_value(plan, count, lambda r: ordered[r - 1])
    expected = np.percentile(np.array(data, dtype=np.float64), float(fraction * 100),
                             method=oracles.NUMPY_METHOD[method])
    assert got == Fraction(float(expected))
