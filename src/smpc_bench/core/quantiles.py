"""Secure quantiles, percentiles, medians, minimum and maximum of every KPI in one walk.

All cuts requested in one call share a single oblivious radix walk (see
:mod:`smpc_bench.core.order_stats`); results are exact :class:`SecureFraction` values in encoded
units.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from smpc_bench.core.order_stats import order_statistics
from smpc_bench.core.secure_fraction import SecureFraction
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.quantile_methods import Cut, RankPlan, plan_public, plan_secure

__all__ = [
    "cuts_for_quantiles",
    "maximum",
    "median",
    "median_high",
    "median_low",
    "minimum",
    "percentiles",
    "quantile_cuts",
    "quantiles",
]


def cuts_for_quantiles(n: int = 4, method: str = "exclusive") -> list[Cut]:
    """The ``n - 1`` cut points of ``statistics.quantiles(data, n=n, method=method)``."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return [Cut(Fraction(i, n), method) for i in range(1, n)]


def quantile_cuts(
    table: SecureTable, cuts: Sequence[Cut], *, counts: Sequence[int] | None = None
) -> SecureFraction:
    """Compute any list of quantile cuts for every KPI in one oblivious walk.

    Args:
        table: The secret-shared KPI table.
        cuts: The quantiles to compute (fraction and method each).
        counts: Public number of valid cells per KPI, if already released (the count is a
            declared output of every benchmark).  With public counts the ranks are public and
            the walk needs no secure division; without them everything stays secret.

    Returns:
        Exact results, numerator shape ``(K, len(cuts))``, public denominators.
    """
    if not cuts:
        raise ValueError("at least one quantile cut is needed")
    if counts is not None:
        if len(counts) != table.num_kpis:
            raise ValueError("one count per KPI is needed")
        return _cuts_public(table, list(cuts), [int(c) for c in counts])
    return _cuts_secure(table, list(cuts))


def _offsets(table: SecureTable) -> np.ndarray:
    return np.array([spec.lower_units for spec in table.specs], dtype=object)


def _cuts_public(table: SecureTable, cuts: list[Cut], counts: list[int]) -> SecureFraction:
    plans = [[plan_public(cut, count) for cut in cuts] for count in counts]
    lanes = [sorted({r for plan in row for r in (plan.rank_low, plan.rank_high)}) for row in plans]
    width = max(len(row) for row in lanes)
    ranks = np.ones((table.num_kpis, width), dtype=np.int64)
    # selection[k, lane, cut]: the weight of order statistic `lane` in cut `cut` of KPI k.
    selection = np.zeros((table.num_kpis, width, len(cuts)), dtype=object)
    for k, (row_plans, row_lanes) in enumerate(zip(plans, lanes, strict=True)):
        ranks[k, : len(row_lanes)] = row_lanes
        for i, plan in enumerate(row_plans):
            selection[k, row_lanes.index(plan.rank_low), i] += plan.weight_low
            selection[k, row_lanes.index(plan.rank_high), i] += plan.weight_high
    order_stats = _walk(table, table.sectype.array(ranks))
    denominators = np.array([cut.denominator for cut in cuts], dtype=object)
    weighted = (order_stats.reshape(table.num_kpis, 1, width) @ selection).reshape(
        table.num_kpis, len(cuts)
    )
    return SecureFraction(weighted, denominators, offset=_offsets(table), count=list(counts))


def _cuts_secure(table: SecureTable, cuts: list[Cut]) -> SecureFraction:
    mpc = runtime()
    sectype = table.sectype
    counts = np.sum(table.valid, axis=1)  # (K,) secure, local
    count_list = [counts[k] for k in range(table.num_kpis)]
    plans: list[list[RankPlan]] = [[plan_secure(cut, c) for cut in cuts] for c in count_list]

    def as_secure(x: Any) -> Any:
        return x if isinstance(x, sectype) else sectype(x)

    def stack(attribute: str) -> Any:
        flat = [as_secure(getattr(plan, attribute)) for row in plans for plan in row]
        return mpc.np_reshape(mpc.np_fromlist(flat), (table.num_kpis, len(cuts)))

    ranks = np.concatenate((stack("rank_low"), stack("rank_high")), axis=1)  # (K, 2*cuts)
    order_stats = _walk(table, ranks)
    low = order_stats[:, : len(cuts)]
    high = order_stats[:, len(cuts) :]
    denominators = np.array([cut.denominator for cut in cuts], dtype=object)
    numerators = low * stack("weight_low") + high * stack("weight_high")
    return SecureFraction(numerators, denominators, offset=_offsets(table), count=counts)


def _walk(table: SecureTable, ranks: Any) -> Any:
    return order_statistics(
        table.indicators, table.valid, ranks, count_bits=table.sizing.count_bits
    )


def quantiles(
    table: SecureTable,
    n: int = 4,
    *,
    method: str = "exclusive",
    counts: Sequence[int] | None = None,
) -> SecureFraction:
    """Like ``statistics.quantiles(data, n=n, method=method)`` for every KPI: ``(K, n-1)``."""
    return quantile_cuts(table, cuts_for_quantiles(n, method), counts=counts)


def percentiles(
    table: SecureTable,
    percents: Sequence[float | int | Fraction | str],
    *,
    method: str = "inclusive",
    counts: Sequence[int] | None = None,
) -> SecureFraction:
    """Percentiles ``0..100`` (e.g. ``[10, 50, 90]``) of every KPI; numpy's method names."""
    fractions = [Fraction(str(p)) / 100 if isinstance(p, float) else Fraction(p) / 100
                 for p in percents]
    return quantile_cuts(table, [Cut(f, method) for f in fractions], counts=counts)


def _single(table: SecureTable, cut: Cut, counts: Sequence[int] | None) -> SecureFraction:
    result = quantile_cuts(table, [cut], counts=counts)
    return SecureFraction(
        result.numerator.reshape(table.num_kpis), int(result.denominator[0]),
        offset=result.offset, count=result.count,
    )


def median(table: SecureTable, *, counts: Sequence[int] | None = None) -> SecureFraction:
    """Like ``statistics.median``: the middle value, or the mean of the two middle values."""
    return _single(table, Cut(Fraction(1, 2), "inclusive"), counts)


def median_low(table: SecureTable, *, counts: Sequence[int] | None = None) -> SecureFraction:
    """Like ``statistics.median_low``."""
    return _single(table, Cut(Fraction(1, 2), "lower"), counts)


def median_high(table: SecureTable, *, counts: Sequence[int] | None = None) -> SecureFraction:
    """Like ``statistics.median_high``."""
    return _single(table, Cut(Fraction(1, 2), "higher"), counts)


def minimum(table: SecureTable, *, counts: Sequence[int] | None = None) -> SecureFraction:
    """Smallest valid value of every KPI."""
    return _single(table, Cut(Fraction(0), "lower"), counts)


def maximum(table: SecureTable, *, counts: Sequence[int] | None = None) -> SecureFraction:
    """Largest valid value of every KPI."""
    return _single(table, Cut(Fraction(1), "lower"), counts)
