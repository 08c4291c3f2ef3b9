"""Private positions: each firm's rank, percentile and band per KPI, for that firm alone.

Definitions, per KPI among its ``c`` valid contributions (missing or rejected cells get no
position and count for nobody), for a contribution with value ``x``:

* ``below = #{valid j: x_j < x}`` and ``at_or_below = #{valid j: x_j <= x}`` (itself included).
* **rank**, 1 = best, ties share the best rank of their group (the "min" rule):
  ``1 + #{valid j strictly better}``, i.e. ``1 + c - at_or_below`` if higher values are better,
  else ``1 + below``; the same as pandas ``Series.rank(method="min",
  ascending=not higher_is_better)``.
* **percentile** in ``(0, 100)``: ``scipy.stats.percentileofscore(values, x, kind="mean")``,
  the share of contributions below ``x`` with ties counted half:
  ``100 * (below + equal / 2) / c = 50 * (below + at_or_below) / c``, exact.  It is taken in
  value order (whatever the KPI's direction), so it reads against the released quantiles:
  percentile 80 means 80% of the values are lower.
* **band** in ``1..B`` (``B = 4`` quartiles or ``10`` deciles): ``1 + floor(B * percentile /
  100)``, 1 = lowest values, the convention of :mod:`smpc_bench.report.own_section`.
* **gaps** to the median and to the top quartile are the firm's own value minus a *released*
  statistic: public arithmetic on the firm's own figure, done on its own machine by
  :mod:`smpc_bench.report.own_section`, exactly as private as a secure computation (and a gap to a
  statistic that is not released would reveal that statistic, so none is computed here).

What is computed in the MPC (:func:`position_records`) is one record per KPI and row,
multiplied by the cell's validity flag (all zero for an invalid cell):

* default: ``(rank, below + at_or_below, c)``: the percentile is ``50 * field_1 / field_2``
  and the band follows from it, on the firm's machine;
* coarsened (``PositionRules(bands_only=True)``): ``(band, c)``, so the firm learns nothing
  finer than its band.  The band exceeds ``q`` iff ``B * (below + at_or_below) >= 2 * q * c``
  (scaled integers, no division): ``B - 1`` secure comparisons per cell, or, when the counts
  are public and ``n`` is small (peer mode), the exact interpolating polynomial of the band in
  the numerator, which needs no comparison and hence no random bits (its cost does not grow
  with the threshold).

The count ``c`` is a declared output of every round anyway (pass the opened counts as
``counts``); without them the secure count is used and each firm learns its KPI's count from
its record.

The counts ``below`` and ``at_or_below`` come from one of three oblivious counting protocols:
``"all-pairs"`` (:func:`smpc_bench.positions.pairwise.all_pairs_counts`, peer mode, ``n**2``
digit comparisons in a few rounds), ``"np-less"`` (the same with MPyC's comparison) or
``"sort"`` (:func:`smpc_bench.positions.shuffle.sorted_counts`, outsourced mode, ``O(n)`` work
per digit).  All of them open nothing that depends on the data.

Delivery: in peer mode :func:`deliver_to_owners` opens each firm's rows to that firm alone
(``mpc.output(..., receivers=[firm])``); in outsourced mode each compute server sends its
:func:`own_shares` of a row to the row's firm, which recombines them with
:func:`recombine_shares`.  :func:`decode_positions` turns a firm's records into
:class:`smpc_bench.report.own_section.PrivatePosition` values for its report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from smpc_bench.core.secure_table import SecureTable
from smpc_bench.engine.driver import runtime
from smpc_bench.positions.pairwise import all_pairs_counts, all_pairs_counts_np_less
from smpc_bench.positions.shuffle import ShuffleKeys, sorted_counts

__all__ = [
    "BAND_KINDS",
    "METHODS",
    "PositionRules",
    "order_counts",
    "position_records",
]

SecureArray = Any

#: Supported band counts and their names.
BAND_KINDS = {4: "quartile", 10: "decile"}

#: Counting protocols: all-pairs on one-hot digits, all-pairs with MPyC's comparison, sorting.
METHODS = ("all-pairs", "np-less", "sort")


@dataclass(frozen=True)
class PositionRules:
    """What each firm learns about its own position.

    Attributes:
        bands: 4 (quartile bands) or 10 (decile bands).
        bands_only: Coarsening: release only the band (and the count), not rank or percentile.
    """

    bands: int = 4
    bands_only: bool = False

    def __post_init__(self) -> None:
        if self.bands not in BAND_KINDS:
            raise ValueError(f"bands must be one of {sorted(BAND_KINDS)}, got {self.bands!r}")

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the record fields computed in the MPC, in order."""
        return ("band", "count") if self.bands_only else ("rank", "percentile_numerator", "count")

    @property
    def definition(self) -> str:
        """Plain-words definition of what is released, for reports."""
        band = (f"band = {BAND_KINDS[self.bands]} 1..{self.bands} of the percentile scale, "
                f"1 + floor({self.bands} * percentile / 100) (1 = lowest values)")
        if self.bands_only:
            return f"Only your {BAND_KINDS[self.bands]} band was released: {band}."
        return ("rank = 1 + number of contributions strictly better than yours (ties share the "
                "best rank; pandas rank method 'min'); percentile = share of contributions with a "
                "lower value, ties counted half (scipy percentileofscore kind 'mean'); " + band
                + ".")


def order_counts(table: SecureTable, *, method: str = "all-pairs",
                 keys: ShuffleKeys | None = None) -> tuple[SecureArray, SecureArray]:
    """Secure ``(below, at_or_below)`` counts ``(K, n)`` of every cell, by the chosen protocol.

    Args:
        table: The secret-shared table.
        method: One of :data:`METHODS`.
        keys: Shuffle keys (from :func:`smpc_bench.positions.shuffle.agree_shuffle_keys`), needed
            by ``"sort"``.
    """
    if method == "all-pairs":
        return all_pairs_counts(table)
    if method == "np-less":
        return all_pairs_counts_np_less(table)
    if method == "sort":
        if keys is None:
            raise ValueError("method 'sort' needs shuffle keys (agree_shuffle_keys())")
        return sorted_counts(table, keys)
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def _secure_counts(table: SecureTable, counts: Sequence[int] | None) -> SecureArray:
    """The count of every cell's KPI as a secure ``(K, n)`` array (public counts embedded)."""
    num_kpis, num_rows = table.valid.shape
    if counts is None:
        per_kpi = np.sum(table.valid, axis=1).reshape(num_kpis, 1)
        return per_kpi + table.sectype.array(np.zeros((num_kpis, num_rows), dtype=np.int64))
    if len(counts) != num_kpis:
        raise ValueError("one count per KPI is needed")
    public = np.array([int(c) for c in counts], dtype=np.int64).reshape(num_kpis, 1)
    return table.sectype.array(np.broadcast_to(public, (num_kpis, num_rows)).copy())


def _bands_by_comparison(numerator: SecureArray, count: SecureArray, bands: int,
                         num_rows: int) -> SecureArray:
    """``1 + floor(B * percentile / 100)`` from ``B - 1`` secure comparisons, no division.

    ``percentile = 50 * numerator / count``, so the band exceeds ``q`` iff
    ``B * numerator >= 2 * q * count``.  Works with a secret count; costs MPyC comparisons
    (random bits from PRSS, whose cost grows like ``C(m - 1, t)``).
    """
    mpc = runtime()
    num_kpis = numerator.shape[0]
    steps = np.arange(1, bands).reshape(1, 1, bands - 1)
    gaps = (bands * numerator).reshape(num_kpis, num_rows, 1) - 2 * steps * count.reshape(
        num_kpis, num_rows, 1)
    # |gaps| <= 2 * B * n for valid and invalid cells alike (all counts lie in [0, n]).
    bits = (2 * bands * (num_rows + 1)).bit_length() + 1
    short = mpc.np_sgn(gaps, l=bits, LT=True)  # [B * num < 2 q c]: the band is at most q
    return bands - np.sum(short, axis=2)


#: Largest numerator range for which bands are evaluated as a polynomial (peer-mode sizes).
MAX_INTERPOLATION_DEGREE = 64


def _interpolating_coefficients(values: list[int], modulus: int) -> list[int]:
    """Coefficients ``a_d`` (mod p) of the polynomial with ``f(v) = values[v]``, ``v = 0..D``."""
    degree = len(values) - 1
    # Newton's divided differences on the nodes 0..D, then expansion into monomials.
    table = [v % modulus for v in values]
    for order in range(1, degree + 1):
        inverse = pow(order, -1, modulus)
        for v in range(degree, order - 1, -1):
            table[v] = (table[v] - table[v - 1]) * inverse % modulus
    coefficients = [0] * (degree + 1)
    for order in range(degree, -1, -1):  # Horner in Newton form: c = c * (x - order) + table
        coefficients = [((coefficients[d - 1] if d else 0) - order * coefficients[d]) % modulus
                        for d in range(degree + 1)]
        coefficients[0] = (coefficients[0] + table[order]) % modulus
    return coefficients


def _powers(x: SecureArray, degree: int) -> SecureArray:
    """Secure ``x**0 .. x**degree`` on a new last axis, in ``ceil(log2 degree)`` rounds."""
    ones = type(x).sectype.array(np.ones((*x.shape, 1), dtype=np.int64))
    powers = np.concatenate((ones, x.reshape(*x.shape, 1)), axis=-1)  # x**0, x**1
    known = 1
    while known < degree:
        step = min(known, degree - known)
        top = powers[..., known : known + 1]  # x**known times x**1 .. x**step
        powers = np.concatenate((powers, top * powers[..., 1 : step + 1]), axis=-1)
        known += step
    return powers


def _bands_by_interpolation(numerator: SecureArray, counts: Sequence[int], bands: int,
                            num_rows: int) -> SecureArray:
    """The same bands for public counts, as a public polynomial of the secret numerator.

    The numerator lies in ``[0, 2n]``, so ``band(numerator)`` is the polynomial of degree
    ``2n`` through its ``2n + 1`` values: about ``2n`` multiplications per cell in
    ``log2(2n)`` rounds, and no comparison, hence no random bits and no PRSS: for the small
    ``n`` of peer mode this keeps the coarsened release cheap at any threshold.
    """
    sectype = type(numerator).sectype
    modulus = int(sectype.field.modulus)
    degree = 2 * num_rows
    rows = []
    for count in counts:
        values = [0 if count <= 0 else min(bands, 1 + bands * v // (2 * count))
                  for v in range(degree + 1)]
        rows.append(_interpolating_coefficients(values, modulus))
    coefficients = np.array(rows, dtype=object).reshape(len(counts), degree + 1, 1)
    powers = _powers(numerator, degree)  # (K, n, D + 1)
    return (powers @ coefficients).reshape(numerator.shape)  # public coefficients: local


def _bands(numerator: SecureArray, count: SecureArray, counts: Sequence[int] | None,
           bands: int, num_rows: int) -> SecureArray:
    """The secure band of every cell, by the cheaper exact method available."""
    if counts is not None and 2 * num_rows <= MAX_INTERPOLATION_DEGREE:
        return _bands_by_interpolation(numerator, counts, bands, num_rows)
    return _bands_by_comparison(numerator, count, bands, num_rows)


def position_records(
    table: SecureTable,
    *,
    rules: PositionRules | None = None,
    counts: Sequence[int] | None = None,
    method: str = "all-pairs",
    keys: ShuffleKeys | None = None,
) -> SecureArray:
    """Every row's private position record per KPI (see the module docstring); opens nothing.

    Args:
        table: The secret-shared table; rows are contributions.
        rules: What is released (default: rank, percentile, quartile band).
        counts: Public number of valid cells per KPI, if already released; otherwise the
            secure counts are used (and each firm learns its KPI's count from its record).
        method: Counting protocol, one of :data:`METHODS`.
        keys: Shuffle keys for ``method="sort"``.

    Returns:
        Secure integer array ``(K, n, F)`` with ``F = len(rules.fields)``; all zero for invalid
        cells.  Deliver it with :func:`deliver_to_owners` or :func:`own_shares`.
    """
    rules = rules or PositionRules()
    num_kpis, num_rows = table.valid.shape
    below, at_or_below = order_counts(table, method=method, keys=keys)
    count = _secure_counts(table, counts)
    numerator = below + at_or_below  # 2 * below + equal
    if rules.bands_only:
        fields = [_bands(numerator, count, counts, rules.bands, num_rows), count]
    else:
        higher = np.array([[int(spec.higher_is_better)] for spec in table.specs], dtype=np.int64)
        rank = higher * (count - at_or_below) + (1 - higher) * below + 1  # public weights: local
        fields = [rank, numerator, count]
    record = np.stack(fields, axis=2)  # (K, n, F); explicit axis (see order_stats)
    return record * table.valid.reshape(num_kpis, num_rows, 1)


