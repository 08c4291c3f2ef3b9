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
from decimal import ROUND_HALF_EVEN, Decimal
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
    """The square root, in floats, of the exact variance: what smpc-bench releases.

    (``statistics.stdev`` rounds the exact square root once; ``math.sqrt`` of the Fraction
    rounds the variance to a float first, so the two may differ in the last bit.)
    """
    return math.sqrt(statistics.variance(data)) if len(data) >= 2 else None


def pstdev(data: Sequence[Fraction]) -> float | None:
    return math.sqrt(statistics.pvariance(data)) if data else None


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


def same(released: Released, expected: Released) -> bool:
    """Exact equality: fractions as fractions, floats (square roots) as the same float."""
    if expected is None or released is None:
        return released is None and expected is None
    if isinstance(expected, float) or isinstance(released, float):
        return isinstance(released, float) and isinstance(expected, float) and (
            released == expected)
    return Fraction(released) == Fraction(expected)


# --------------------------------------------------------------------------------------------
# Plaintext side of a test table
# --------------------------------------------------------------------------------------------


def is_missing_cell(cell: object) -> bool:
    """An empty cell as the tests write one: None, NaN or blank text."""
    if cell is None:
        return True
    if isinstance(cell, float):
        return math.isnan(cell)
    return isinstance(cell, str) and not cell.strip()


def exact_cell(cell: object, decimals: int) -> Fraction:
    """A raw cell (number or numeric text) as the exact value a KPI keeps: rounded half to
    even to ``decimals`` (the shortest text of a float, as it would be written in a file)."""
    if isinstance(cell, Fraction):
        return Fraction(round(cell * 10**decimals), 10**decimals)  # round() is half to even
    text = str(cell).strip()  # str(float) is the shortest text that round-trips
    return Fraction(Decimal(text).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN))


def _bounds(spec: KpiSpec) -> tuple[Fraction, Fraction]:
    return Fraction(Decimal(str(spec.lower))), Fraction(Decimal(str(spec.upper)))


def offset_value(spec: KpiSpec, offset: int) -> Fraction:
    """The value an offset stands for: ``lower + offset / 10**decimals``."""
    return _bounds(spec)[0] + Fraction(int(offset), 10**spec.decimals)


def offset_span(spec: KpiSpec) -> int:
    """The largest offset in range: ``(upper - lower) * 10**decimals``."""
    lower, upper = _bounds(spec)
    span = (upper - lower) * 10**spec.decimals
    assert span.denominator == 1
    return int(span)


@dataclass
class TableData:
    """A KPI table as the owners would share it, plus what the MPC should make of it.

    The oracle side (:meth:`accepted`, :meth:`values`, :meth:`counts`, :meth:`rejected`) is
    computed from the raw cells and the KPIs' declared bounds and decimals alone, never with the
    encoding under test: the value of a raw cell is the cell rounded half to even, that of a
    cell given as an offset (smuggled, or a table built from offsets) ``lower + offset /
    10**decimals``; a cell counts iff it is claimed valid and within the bounds.

    Attributes:
        specs: One KPI per row of ``offsets``.
        offsets: ``(K, n)`` int64 offset values as shared; may hold *smuggled* values in
            ``(span, 2**value_bits)`` that bypassed the owners' local range check.
        claimed: ``(K, n)`` int64 0/1 validity as claimed by the owners (0 = missing cell).
        raw: ``(K, n)`` raw cells the offsets were encoded from (None: the cell was given as
            an offset).
    """

    specs: tuple[KpiSpec, ...]
    offsets: np.ndarray
    claimed: np.ndarray
    raw: list[list[object]] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.offsets.shape[0]), int(self.offsets.shape[1])

    def _raw(self, k: int, i: int) -> object:
        return None if self.raw is None else self.raw[k][i]

    def cell_value(self, k: int, i: int) -> Fraction:
        """The exact value of cell ``(k, i)`` (whether it counts or not)."""
        spec = self.specs[k]
        raw = self._raw(k, i)
        if raw is None:
            return offset_value(spec, int(self.offsets[k, i]))
        return exact_cell(raw, spec.decimals)

    def accepted(self, k: int) -> list[bool]:
        lower, upper = _bounds(self.specs[k])
        return [bool(self.claimed[k, i]) and lower <= self.cell_value(k, i) <= upper
                for i in range(self.shape[1])]

    def values(self, k: int) -> list[Fraction]:
        """The valid values of KPI ``k`` in its own unit (what the oracles see)."""
        return [self.cell_value(k, i) for i, ok in enumerate(self.accepted(k)) if ok]

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

    The shared offsets come from the product's encoder
    (:func:`smpc_bench.spec.encoding.encode_column_with_missing`); the oracle side keeps the raw
    cells (see :class:`TableData`), and the offsets are checked against the definition.

    Args:
        specs: The KPIs.
        columns: One list of raw values per KPI, all of the same length.
        smuggled: ``{(k, i): offset}``: cells whose *offset* value is replaced after encoding,
            as a dishonest owner would (claimed valid); typically in ``(span, 2**value_bits)``.
    """
    from smpc_bench.spec.encoding import encode_column_with_missing

    encoded = [encode_column_with_missing(spec, column)
               for spec, column in zip(specs, columns, strict=True)]
    offsets = np.stack([values for values, _ in encoded])
    claimed = np.stack([valid for _, valid in encoded])
    raw: list[list[object]] = [[None if is_missing_cell(cell) else cell for cell in column]
                               for column in columns]
    for k, (spec, column) in enumerate(zip(specs, raw, strict=True)):
        for i, cell in enumerate(column):
            if cell is None:
                assert claimed[k, i] == 0
                continue
            expected = (exact_cell(cell, spec.decimals) - _bounds(spec)[0]) * 10**spec.decimals
            assert claimed[k, i] == 1 and offsets[k, i] == expected, (spec.name, i, cell)
    for (k, i), offset in (smuggled or {}).items():
        offsets[k, i] = offset
        claimed[k, i] = 1
        raw[k][i] = None
    return TableData(tuple(specs), offsets, claimed, raw)


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
    from smpc_bench.core.secure_table import SecureTable
    from smpc_bench.engine.driver import runtime
    from smpc_bench.spec.encoding import encode_digits

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


# --------------------------------------------------------------------------------------------
# Oracles on a firm's raw files (integration tests)
# --------------------------------------------------------------------------------------------


def file_column(path: Any, column: str, decimals: int) -> list[Fraction]:
    """A CSV column's filled cells, read as text with pandas, rounded half to even, exact."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return [exact_cell(cell, decimals) for cell in frame[column] if not is_missing_cell(cell)]


def parse_statistic(name: str) -> tuple[str, Fraction | None, str | None]:
    """A released statistic's name (``mean``, ``median``, ``p90``, ``p25:exclusive``,
    ``p12.5``) as ``(kind, fraction, method)``; quantiles default to ``inclusive``."""
    base, _, method = name.partition(":")
    if base in ("count", "sum", "mean", "variance", "stdev", "min", "max"):
        assert not method, name
        return base, None, None
    if base == "median":
        return "quantile", Fraction(1, 2), method or "inclusive"
    assert base.startswith("p"), name
    return "quantile", Fraction(base[1:]) / 100, method or "inclusive"


def released(name: str, values: Sequence[Fraction]) -> Released:
    """What a round releases for statistic ``name`` over one KPI's valid values, exactly:
    ``statistics`` for moments (the standard deviation as :func:`stdev`: the float square root
    of the exact variance), :func:`exact_quantile` for quantiles, None where undefined."""
    kind, fraction, method = parse_statistic(name)
    data = list(values)
    if kind == "count":
        return Fraction(len(data))
    if kind == "variance":
        return variance(data)
    if kind == "stdev":
        return stdev(data)
    if not data:
        return None
    if kind in ("sum", "mean", "min", "max"):
        return {"sum": fsum, "mean": mean, "min": minimum, "max": maximum}[kind](data)
    assert fraction is not None and method is not None
    return exact_quantile(data, fraction, method)


def same_released(item: dict[str, Any], expected: Released) -> bool:
    """An outcome file's statistic (``value`` text, ``value_float``) equals ``expected``
    exactly: the exact text for fractions, the float itself for square roots."""
    if expected is None:
        return item["value"] is None
    if isinstance(expected, float):
        return item["value_float"] == expected
    return item["value"] is not None and Fraction(item["value"]) == expected
