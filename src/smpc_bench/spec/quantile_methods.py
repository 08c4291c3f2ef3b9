"""Quantile definitions as exact integer formulas over the (possibly secret) count.

Every supported method picks order statistics ``y[r1], y[r2]`` (1-based ranks among the ``c``
valid values, sorted) and weights with ``w1 + w2 == D``; the quantile is
``(w1 * y[r1] + w2 * y[r2]) / D`` exactly.  The same formulas run on public ints and on MPyC
secure integers, so a secret count needs no secure division: only a secure ``mod`` by the public
``D`` and a few comparisons.

Methods (``p`` is the requested fraction, ``c`` the count):

* ``"exclusive"``: Python's ``statistics.quantiles(method="exclusive")`` (numpy ``weibull``):
  position ``p*(c+1)``, clamped to ``[1, c-1]``, linear interpolation (which may extrapolate
  beyond the data for extreme ``p`` and small ``c``, exactly as Python does).
* ``"inclusive"``: ``statistics.quantiles(method="inclusive")`` and numpy's default ``linear``:
  position ``p*(c-1)`` (0-based), linear interpolation.
* ``"lower"`` / ``"higher"`` / ``"midpoint"``: numpy's methods of the same name.
* ``"nearest-rank"``: the smallest value with at least ``p*c`` values at or below it
  (numpy ``inverted_cdf``; the classic nearest-rank percentile).

With ``c == 1`` every method returns the single value (as Python 3.13's ``quantiles`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["METHODS", "Cut", "RankPlan", "plan_public", "plan_secure"]

METHODS = ("exclusive", "inclusive", "lower", "higher", "midpoint", "nearest-rank")

#: Largest denominator of a quantile fraction (percentiles with two decimals: 1/10000).  The
#: secure type is sized for it (:mod:`smpc_bench.spec.sizing`); finer fractions are refused.
MAX_QUANTILE_DENOMINATOR = 10_000


@dataclass(frozen=True)
class Cut:
    """One requested quantile: a fraction ``p`` in ``[0, 1]`` and a method."""

    fraction: Fraction
    method: str

    def __post_init__(self) -> None:
        fraction = Fraction(self.fraction)
        if not 0 <= fraction <= 1:
            raise ValueError(f"quantile fraction must lie in [0, 1], got {fraction}")
        if fraction.denominator > MAX_QUANTILE_DENOMINATOR:
            raise ValueError(
                f"quantile fraction {fraction} is finer than 1/{MAX_QUANTILE_DENOMINATOR}; "
                "use percentiles with at most two decimals"
            )
        if self.method not in METHODS:
            raise ValueError(f"unknown quantile method {self.method!r}; choose from {METHODS}")
        object.__setattr__(self, "fraction", fraction)

    @property
    def denominator(self) -> int:
        """Public denominator ``D`` of the result."""
        if self.method == "midpoint":
            return 2
        if self.method in ("exclusive", "inclusive"):
            return self.fraction.denominator
        return 1


@dataclass(frozen=True)
class RankPlan:
    """Ranks and weights for one cut: value ``= (w1*y[r1] + w2*y[r2]) / D``."""

    rank_low: Any
    rank_high: Any
    weight_low: Any
    weight_high: Any
    denominator: int


def plan_public(cut: Cut, count: int) -> RankPlan:
    """Ranks and weights for a public count (plain integers)."""
    a, b = cut.fraction.numerator, cut.fraction.denominator
    c = max(count, 1)  # count 0 has no answer; any in-range plan keeps the walk well-defined
    if cut.method == "exclusive":
        numerator = a * (c + 1)
        j = min(max(numerator // b, 1), c - 1)
        if c == 1:
            return RankPlan(1, 1, b, 0, b)
        delta = numerator - j * b
        return RankPlan(j, j + 1, b - delta, delta, b)
    if cut.method == "inclusive":
        j, delta = divmod(a * (c - 1), b)
        return RankPlan(j + 1, min(j + 2, c), b - delta, delta, b)
    return _discrete_plan(
        cut.method,
        low=lambda: a * (c - 1) // b + 1,
        high=lambda: -(-a * (c - 1) // b) + 1,
        nearest=lambda: max(-(-a * c // b), 1),
    )


def _discrete_plan(method: str, *, low: Callable[[], Any], high: Callable[[], Any],
                   nearest: Callable[[], Any]) -> RankPlan:
    """Plans of the methods without interpolation; only the rank a method needs is computed."""
    if method == "lower":
        rank = low()
        return RankPlan(rank, rank, 1, 0, 1)
    if method == "higher":
        rank = high()
        return RankPlan(rank, rank, 1, 0, 1)
    if method == "midpoint":
        return RankPlan(low(), high(), 1, 1, 2)
    rank = nearest()
    return RankPlan(rank, rank, 1, 0, 1)


def _floor_divmod(numerator: Any, divisor: int) -> tuple[Any, Any]:
    """Secure ``divmod`` by a public positive divisor (exact: field division of a multiple)."""
    if divisor == 1:
        return numerator, 0
    remainder = numerator % divisor
    return (numerator - remainder) / divisor, remainder


def plan_secure(cut: Cut, count: Any) -> RankPlan:
    """Ranks and weights for a secret count (MPyC secure integer); opens nothing.

    A secure ``%`` by the public denominator gives the integer part exactly; clamps use
    secure comparisons whose outcome stays secret.  Results for ``count == 0`` are unspecified
    (statistics over no data are suppressed by the caller).
    """
    a, b = cut.fraction.numerator, cut.fraction.denominator
    c = count
    if cut.method == "exclusive":
        numerator = a * (c + 1)
        j, _ = _floor_divmod(numerator, b)
        # Clamp j to [1, c-1]: j < 1 iff numerator < b; j > c-1 iff numerator >= b*c.
        too_low = numerator < b
        too_high = numerator >= b * c
        single = c < 2
        j = j + too_low * (1 - j) + too_high * (c - 1 - j)
        delta = numerator - j * b
        # With one value both ranks are 1 (and the weights still add up to b).
        rank_low = j + single * (1 - j)
        rank_high = j + 1 - single * j
        return RankPlan(rank_low, rank_high, b - delta, delta, b)
    if cut.method == "inclusive":
        j, delta = _floor_divmod(a * (c - 1), b)
        # rank_high may exceed c only when delta == 0 (weight zero): no clamp needed.
        return RankPlan(j + 1, j + 2, b - delta, delta, b)
    return _discrete_plan(
        cut.method,
        low=lambda: _floor_divmod(a * (c - 1), b)[0] + 1,
        high=lambda: _floor_divmod(a * (c - 1) + b - 1, b)[0] + 1,
        # p = 0 asks for rank max(0, 1) = 1; otherwise ceil(p * c) >= 1 whenever c >= 1.
        nearest=lambda: 1 if a == 0 else _floor_divmod(a * c + b - 1, b)[0],
    )
