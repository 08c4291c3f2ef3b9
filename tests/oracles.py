"""Plaintext oracles for the protocol tests, and the plaintext side of building test tables.

Everything here works on lists of exact :class:`~fractions.Fraction` values, so the secure results
(exact fractions after :func:`smpc_bench.core.reveal.open_fraction`) can be compared with ``==``.

Three families of references:

* Python's :mod:`statistics` (``mean``, ``median``, ``median_low/high``, ``variance``,
  ``pvariance``, ``stdev``, ``pstdev``, ``quantiles`` exclusive/inclusive), wrapped so that a
  statistic over too little data is ``None`` (what smpc-bench releases) instead of an exception,
  and so that ``quantiles`` of a single value is that value repeated (Python 3.13's behaviour;
  Python 3.11 raises).
* :func:`exact_quantile`: the exact Fraction formula of every quantile method for any fraction
  ``p`` in ``[0, 1]``, written from the *definitions* (Python's ``statistics.quantiles`` source
  for ``exclusive``/``inclusive``; numpy's virtual-index definitions for ``lower``, ``higher``,
  ``midpoint`` and ``inverted_cdf``), independently of ``smpc_bench.spec.quantile_methods``.
* :func:`numpy_quantile`: ``numpy.percentile`` itself, in floats, to cross-check the exact
  formulas (exact on small integers and dyadic fractions; see ``tests/unit``).

This module never imports ``mpyc.runtime``: :func:`build_secure_table` loads it on first use.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.quantile_methods import METHODS
from smpc_bench.spec.sizing import Sizing

#: numpy.percentile's name for each of our quantile methods.
NUMPY_METHOD = {
    "exclusive": "weibull",
    "inclusive": "linear",
    "lower": "lower",
    "higher": "higher",
    "midpoint": "midpoint",
    "nearest-rank": "inverted_cdf",
}
assert set(NUMPY_METHOD) == set(METHODS)

Released = Fraction | float | None


# --------------------------------------------------------------------------------------------
# Python's statistics, with smpc-bench's conventions for too little data
# --------------------------------------------------------------------------------------------


def count(data: Sequence[Fraction]) -> int:
    return len(data)


def fsum(data: Sequence[Fraction]) -> Fraction | None:
    return Fraction(sum(data)) if data else None


def mean(data: Sequence[Fraction]) -> Fraction | None:
    return Fraction(statistics.mean(data)) if data else None


def median(data: Sequence[Fraction]) -> Fraction | None:
    return Fraction(statistics.median(data)) if data else None


def median_low(data: Sequence[Fraction]) -> Fraction | None:
    return Fraction(statistics.median_low(data)) if data else None


def median_high(data: Sequence[Fraction]) -> Fraction | None:
    return Fraction(statistics.median_high(data)) if data else None


def minimum(data: Sequence[Fraction]) -> Fraction | None:
    return min(data) if data else None


def maximum(data: Sequence[Fraction]) -> Fraction | None:
    return max(data) if data else None


def variance(data: Sequence[Fraction]) -> Fraction | None:
    return Fraction(statistics.variance(data)) if len(data) >= 2 else None


def pvariance(data: Sequence[Fraction]) -> Fraction | None:
    return Fraction(statistics.pvariance(data)) if data else None


def stdev(data: Sequence[Fraction]) -> float | None:
    return float(statistics.stdev(data)) if len(data) >= 2 else None


def pstdev(data: Sequence[Fraction]) -> float | None:
    return float(statistics.pstdev(data)) if data else None


def quantiles(data: Sequence[Fraction], n: int = 4, method: str = "exclusive") -> list[Released]:
    """``statistics.quantiles``; one value gives that value ``n - 1`` times; no data gives Nones."""
    if not data:
        return [None] * (n - 1)
    if len(data) == 1:
        return [Fraction(data[0])] * (n - 1)
    return [Fraction(q) for q in statistics.quantiles(data, n=n, method=method)]


def stdlib_quantile(data: Sequence[Fraction], fraction: Fraction, method: str) -> Fraction:
    """The cut ``fraction = i/n`` (``0 < i < n``) taken from ``statistics.quantiles`` itself."""
    fraction = Fraction(fraction)
    assert method in ("exclusive", "inclusive") and 0 < fraction < 1 and len(data) >= 2
    cuts = statistics.quantiles(data, n=fraction.denominator, method=method)
    return Fraction(cuts[fraction.numerator - 1])


# --------------------------------------------------------------------------------------------
# Exact quantile formulas from the definitions
# --------------------------------------------------------------------------------------------


def exact_quantile(data: Sequence[Fraction], fraction: Fraction, method: str) -> Fraction | None:
    """The ``fraction``-quantile of ``data`` by ``method``, exactly (None for no data).

    ``exclusive`` follows CPython's ``statistics.quantiles`` code with ``n = b``, ``i = a`` for
    ``fraction = a/b`` (so it extrapolates beyond the data at the extremes, as Python does, where
    numpy's ``weibull`` clips); the other methods follow numpy's definitions.
    """
    if method not in METHODS:
        raise ValueError(method)
    p = Fraction(fraction)
    assert 0 <= p <= 1
    y = sorted(Fraction(v) for v in data)
    c = len(y)
    if c == 0:
        return None
    if c == 1:
        return y[0]
    a, b = p.numerator, p.denominator
    if method == "exclusive":
        m = c + 1
        j = a * m // b
        j = 1 if j < 1 else c - 1 if j > c - 1 else j
        delta = a * m - j * b
        return (y[j - 1] * (b - delta) + y[j] * delta) / b
    if method == "inclusive":
        h = p * (c - 1)  # 0-based virtual index, numpy "linear"
        lo, hi = math.floor(h), math.ceil(h)
        return y[lo] + (h - lo) * (y[hi] - y[lo])
    if method == "lower":
        return y[math.floor(p * (c - 1))]
    if method == "higher":
        return y[math.ceil(p * (c - 1))]
    if method == "midpoint":
        return (y[math.floor(p * (c - 1))] + y[math.ceil(p * (c - 1))]) / 2
    # nearest-rank / inverted_cdf: smallest value with at least p*c values at or below it.
    rank = max(math.ceil(p * c), 1)
    return y[rank - 1]


def numpy_quantile(data: Sequence[Any], fraction: Fraction | float, method: str) -> float:
    """``numpy.percentile`` with numpy's name for ``method`` (floats)."""
    values = np.array([float(v) for v in data], dtype=np.float64)
    percent = float(Fraction(fraction) * 100)
    return float(np.percentile(values, percent, method=NUMPY_METHOD[method]))


def numpy_quantiles(data: Sequence[Any], fractions: Sequence[Fraction], method: str
                    ) -> list[float]:
    """:func:`numpy_quantile` for many fractions in one ``numpy.percentile`` call."""
    values = np.array([float(v) for v in data], dtype=np.float64)
    percents = np.array([float(Fraction(p) * 100) for p in fractions], dtype=np.float64)
    return [float(q) for q in np.percentile(values, percents, method=NUMPY_METHOD[method])]


def weibull_agrees_with_exclusive(count: int, fraction: Fraction) -> bool:
    """Whether numpy's ``weibull`` (which clips) equals Python's ``exclusive`` (which
    extrapolates): exactly when the 1-based position ``p*(c+1)`` lies in ``[1, c]``."""
    return 1 <= Fraction(fraction) * (count + 1) <= count


# --------------------------------------------------------------------------------------------
# Oracle for a Metric, with open_fraction's conventions
# --------------------------------------------------------------------------------------------


def reference(metric: Metric, data: Sequence[Fraction]) -> Released:
    """What ``open_fraction(summarize(...)[metric])`` must give for one KPI's valid values."""
    kind = metric.kind
    if kind == "count":
        return Fraction(len(data))
    if kind == "sum":
        return fsum(data)
    if kind == "mean":
        return mean(data)
    if kind == "variance":
        return variance(data)
    if kind == "stdev":
        return stdev(data)
    if kind == "min":
        return minimum(data)
    if kind == "max":
        return maximum(data)
    assert metric.fraction is not None and metric.method is not None
    return exact_quantile(data, metric.fraction, metric.method)


def same(released: Released, expected: Released, *, rel: float = 1e-12) -> bool:
    """Exact equality for fractions; relative tolerance for floats (square roots)."""
    if expected is None or released is None:
        return released is None and expected is None
    if isinstance(expected, float) or isinstance(released, float):
        return math.isclose(float(released), float(expected), rel_tol=rel, abs_tol=1e-300)
    return Fraction(released) == Fraction(expected) and not isinstance(released, float)


# --------------------------------------------------------------------------------------------
# Plaintext side of a test table
# --------------------------------------------------------------------------------------------


@dataclass
class TableData:
    """A KPI table as the owners would share it, plus what the MPC should make of it.

    Attributes:
        specs: One KPI per row of ``offsets``.
        offsets: ``(K, n)`` int64 offset values as shared; may hold *smuggled* values in
            ``(span, 2**value_bits)`` that bypassed the owners' local range check.
        claimed: ``(K, n)`` int64 0/1 validity as claimed by the owners (0 = missing cell).
    """

    specs: tuple[KpiSpec, ...]
    offsets: np.ndarray
    claimed: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.offsets.shape[0]), int(self.offsets.shape[1])

    def accepted(self, k: int) -> list[bool]:
        span = self.specs[k].span
        return [bool(c) and 0 <= int(u) <= span
                for u, c in zip(self.offsets[k], self.claimed[k], strict=True)]

    def values(self, k: int) -> list[Fraction]:
        """The valid values of KPI ``k`` in its own unit (what the oracles see)."""
        spec = self.specs[k]
        return [spec.decode(int(u))
                for u, ok in zip(self.offsets[k], self.accepted(k), strict=True) if ok]

    def counts(self) -> list[int]:
        return [sum(self.accepted(k)) for k in range(len(self.specs))]

    def rejected(self) -> list[int]:
        return [int(np.sum(self.claimed[k])) - sum(self.accepted(k))
                for k in range(len(self.specs))]


def table_from_columns(
    specs: Sequence[KpiSpec],
    columns: Sequence[Sequence[object]],
    *,
    smuggled: dict[tuple[int, int], int] | None = None,
) -> TableData:
    """Encode columns of KPI values (``None`` = missing) like an honest owner would.

    Args:
        specs: The KPIs.
        columns: One list of raw values per KPI, all of the same length.
        smuggled: ``{(k, i): offset}``: cells whose *offset* value is replaced after encoding,
            as a dishonest owner would (claimed valid); typically in ``(span, 2**value_bits)``.
    """
    from smpc_bench.spec.kpi import encode_column_with_missing

    encoded = [encode_column_with_missing(spec, column)
               for spec, column in zip(specs, columns, strict=True)]
    offsets = np.stack([values for values, _ in encoded])
    claimed = np.stack([valid for _, valid in encoded])
    for (k, i), offset in (smuggled or {}).items():
        offsets[k, i] = offset
        claimed[k, i] = 1
    return TableData(tuple(specs), offsets, claimed)


def bits_of(offsets: np.ndarray, value_bits: int) -> np.ndarray:
    """``(K, n, value_bits)`` 0/1 array, least significant bit first."""
    return (np.asarray(offsets, dtype=np.int64)[..., None] >> np.arange(value_bits)) & 1


PATHS = ("digits", "bits", "values")


def build_secure_table(data: TableData, sizing: Sizing, *, path: str = "digits",
                       radix_bits: int = 4) -> Any:
    """Secret-share ``data`` at m=1 and build the :class:`SecureTable` by ``path``.

    ``path`` is ``"digits"`` (:meth:`SecureTable.from_digits`), ``"bits"``
    (:meth:`SecureTable.from_bits`) or ``"values"`` (:meth:`SecureTable.from_values`).
    Call it inside the coroutine given to ``mpc.run``.
    """
    from smpc_bench.core.secure_table import SecureTable, encode_digits
    from smpc_bench.engine.driver import runtime

    mpc = runtime()
    sec = mpc.SecInt(sizing.field_bits)
    claimed = sec.array(np.asarray(data.claimed, dtype=np.int64))
    if path == "digits":
        digits = encode_digits(data.offsets, sizing.value_bits, radix_bits)
        return SecureTable.from_digits(data.specs, sizing, sec.array(digits), claimed,
                                       radix_bits=radix_bits)
    if path == "bits":
        bits = bits_of(data.offsets, sizing.value_bits)
        return SecureTable.from_bits(data.specs, sizing, sec.array(bits), claimed,
                                     radix_bits=radix_bits)
    if path == "values":
        values = sec.array(np.asarray(data.offsets, dtype=np.int64))
        return SecureTable.from_values(data.specs, sizing, values, claimed,
                                       radix_bits=radix_bits)
    raise ValueError(f"unknown path {path!r}")
