"""Plaintext answers for ``smpc_bench.stats``: Python's ``statistics`` on exact Fractions.

``exact(name, data, ...)`` is what ``stats.<name>(..., exact=True)`` must open to (a Fraction; a
float for ``stdev``/``pstdev``, the correctly rounded root Python's ``statistics`` gives), and
``rounded(name, data, frac_length, ...)`` what the default (rounded) result must open to: the
exact value rounded once to the grid ``2**-frac_length``, halves up.  Never imports MPyC.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from tests.oracles import exact_quantile

ROOTS = {"stdev": "variance", "pstdev": "pvariance"}
MOMENTS = ("mean", "variance", "pvariance", "stdev", "pstdev")
MEDIANS = ("median", "median_low", "median_high")


def exact(name: str, data: Sequence[Any], **kwargs: Any) -> Any:
    """The exact answer of ``statistics.<name>`` (lists for quantiles and percentiles)."""
    values = [Fraction(v) for v in data]
    if name == "quantiles":
        n, method = kwargs.get("n", 4), kwargs.get("method", "exclusive")
        if method in ("exclusive", "inclusive") and len(values) > 1:
            return [Fraction(q) for q in statistics.quantiles(values, n=n, method=method)]
        return [exact_quantile(values, Fraction(i, n), method) for i in range(1, n)]
    if name == "percentiles":
        return [exact_quantile(values, Fraction(str(p)) / 100, kwargs.get("method", "inclusive"))
                for p in kwargs["ps"]]
    centre = kwargs.get("centre")
    if name in ROOTS:
        return getattr(statistics, name)(values, None if centre is None else Fraction(centre))
    if name in ("variance", "pvariance"):
        return Fraction(getattr(statistics, name)(
            values, None if centre is None else Fraction(centre)))
    return Fraction(getattr(statistics, name)(values))


def on_grid(value: Fraction, frac_length: int) -> Fraction:
    """``value`` rounded to the nearest multiple of ``2**-frac_length``, halves up."""
    scale = 1 << frac_length
    return Fraction(math.floor(value * scale + Fraction(1, 2)), scale)


def rounded(name: str, data: Sequence[Any], frac_length: int, **kwargs: Any) -> Any:
    """The default result of ``stats.<name>`` for a type with ``frac_length`` fractional bits."""
    if name in ROOTS:
        variance = exact(ROOTS[name], data, **kwargs) * (1 << (2 * frac_length))
        # floor(sqrt(v) + 1/2) = (isqrt(floor(4v)) + 1) // 2
        root = (math.isqrt(math.floor(4 * variance)) + 1) // 2
        return Fraction(root, 1 << frac_length)
    answer = exact(name, data, **kwargs)
    if isinstance(answer, list):
        return [on_grid(a, frac_length) for a in answer]
    return on_grid(answer, frac_length)
