"""Every requested statistic of every KPI from one secure table, in one pass.

All order statistics (quantiles, median, min, max) share one oblivious walk; the moments share
one inner product (in the wide field of :mod:`smpc_bench.core.moments` where they need it).
Nothing is opened here.
"""

from __future__ import annotations

from collections.abc import Sequence

from smpc_bench.core import aggregates, moments
from smpc_bench.core.quantiles import quantile_cuts
from smpc_bench.core.secure_fraction import SecureFraction
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.spec.metrics import Metric

__all__ = ["summarize"]


def summarize(
    table: SecureTable, metrics: Sequence[Metric], *, counts: Sequence[int] | None = None
) -> dict[Metric, SecureFraction]:
    """Secure results for ``metrics`` (each computed for every KPI of ``table``).

    Args:
        table: The secret-shared table.
        metrics: What to compute; duplicates are computed once.
        counts: Public counts of valid cells per KPI if already released (see
            :func:`smpc_bench.core.quantiles.quantile_cuts`).

    Returns:
        ``{metric: SecureFraction}``; each numerator has one row per KPI.
    """
    unique = list(dict.fromkeys(metrics))
    results: dict[Metric, SecureFraction] = {}
    order_metrics = [m for m in unique if m.kind in ("min", "max", "quantile")]
    if order_metrics:
        walked = quantile_cuts(table, [m.cut for m in order_metrics], counts=counts)
        for i, metric in enumerate(order_metrics):
            results[metric] = SecureFraction(
                walked.numerator[:, i], int(walked.denominator[i]), offset=walked.offset,
                count=walked.count,
            )
    kinds = {m.kind for m in unique}
    if "count" in kinds:
        results[Metric.COUNT] = SecureFraction(aggregates.count(table), 1, power=0)
    if "sum" in kinds:
        results[Metric.SUM] = aggregates.fsum(table)
    if "mean" in kinds:
        results[Metric.MEAN] = aggregates.mean(table)
    if kinds & {"variance", "stdev"}:
        variance = moments.spread(table, counts=counts)  # one inner product serves both
        results[Metric.VARIANCE] = variance
        results[Metric.STDEV] = SecureFraction(variance.numerator, variance.denominator,
                                               root=True, power=2, count=variance.count)
    return {metric: results[metric] for metric in unique}
