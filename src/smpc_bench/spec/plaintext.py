"""Plaintext reference answers, computed the ordinary way with ``statistics`` and numpy.

Only for checking: the demo and the tests hold every firm's data, which a real round never does.
Quantile methods map to numpy's: exclusive = ``weibull``, inclusive = ``linear``,
nearest-rank = ``inverted_cdf``; ``lower``, ``higher``, ``midpoint`` keep their names.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from smpc_bench.spec.metrics import Metric

__all__ = ["NUMPY_METHOD", "firm_shares", "reference"]

NUMPY_METHOD = {
    "exclusive": "weibull",
    "inclusive": "linear",
    "lower": "lower",
    "higher": "higher",
    "midpoint": "midpoint",
    "nearest-rank": "inverted_cdf",
}


def firm_shares(values_by_firm: Sequence[Sequence[Fraction]]) -> list[Fraction]:
    """Each firm's share of a KPI's total, as the dominance rule measures it.

    A firm's contribution is the absolute value of the sum of its valid values; the shares are
    relative to the sum of those absolute values (all 0 when every firm's total is 0).
    """
    magnitudes = [abs(sum(values, Fraction(0))) for values in values_by_firm]
    whole = sum(magnitudes, Fraction(0))
    return [m / whole if whole else Fraction(0) for m in magnitudes]


def reference(metric: Metric, values: Sequence[Fraction]) -> float | int | None:
    """The plaintext value of ``metric`` over ``values`` (None where undefined)."""
    data = list(values)
    if metric.kind == "count":
        return len(data)
    if not data:
        return None
    if metric.kind == "sum":
        return float(sum(data))
    if metric.kind == "mean":
        return float(statistics.mean(data))
    if metric.kind in ("variance", "stdev"):
        if len(data) < 2:
            return None
        return float(statistics.variance(data) if metric.kind == "variance"
                     else statistics.stdev(data))
    if metric.kind == "min":
        return float(min(data))
    if metric.kind == "max":
        return float(max(data))
    assert metric.fraction is not None and metric.method is not None
    if len(data) == 1:
        return float(data[0])
    floats = np.array([float(v) for v in data])
    percent = float(metric.fraction) * 100
    if metric.method == "exclusive" and (metric.fraction * 100).denominator == 1:
        # statistics.quantiles(n=100) is the exact definition; numpy's weibull clips instead
        # of extrapolating at the extremes.
        cuts = statistics.quantiles(data, n=100, method="exclusive")
        return float(cuts[int(percent) - 1]) if 0 < percent < 100 else float(
            np.percentile(floats, percent, method="weibull"))
    method: Any = NUMPY_METHOD[metric.method]  # numpy types its methods as a Literal
    return float(np.percentile(floats, percent, method=method))
