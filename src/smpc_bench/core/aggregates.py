"""Secure count, sum, mean, variance and standard deviation of every KPI, exactly.

Sums are local (free); every product needed is one batched inner product per KPI, so the
moments cost ``K*n`` multiplications and two resharing rounds whatever ``n`` is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smpc_bench.core.secure_fraction import SecureFraction
from smpc_bench.core.secure_table import SecureTable

__all__ = ["count", "fsum", "mean", "pstdev", "pvariance", "stdev", "variance"]


def count(table: SecureTable) -> Any:
    """Number of valid cells per KPI: secure integer array ``(K,)``."""
    return np.sum(table.valid, axis=1)


def _offsets(table: SecureTable) -> np.ndarray:
    return np.array([spec.lower_units for spec in table.specs], dtype=object)


def _valid_sum(table: SecureTable) -> tuple[Any, Any]:
    """``(sum of valid offset values, valid values themselves)``, both secure."""
    valid_values = table.valid * table.values  # (K, n)
    return np.sum(valid_values, axis=1), valid_values


def fsum(table: SecureTable) -> SecureFraction:
    """Exact sum of the valid values of every KPI (encoded units, denominator 1)."""
    total, _ = _valid_sum(table)
    return SecureFraction(total, 1, offset=_offsets(table), count=count(table),
                          offset_per_count=True)


def mean(table: SecureTable) -> SecureFraction:
    """Exact mean of every KPI: ``sum / count`` (denominator zero when there is no data)."""
    total, _ = _valid_sum(table)
    counts = count(table)
    return SecureFraction(total, counts, offset=_offsets(table), count=counts)


def _second_moment(table: SecureTable, *, sample: bool) -> SecureFraction:
    total, valid_values = _valid_sum(table)
    counts = count(table)
    num_kpis, num_rows = table.valid.shape
    squares = (
        valid_values.reshape(num_kpis, 1, num_rows) @ table.values.reshape(num_kpis, num_rows, 1)
    ).reshape(num_kpis)
    # Variance is shift invariant, so the offset values serve: (c*S2 - S1**2) / (c*(c-1)).
    numerator = counts * squares - total * total
    denominator = counts * (counts - 1) if sample else counts * counts
    return SecureFraction(numerator, denominator, power=2, count=counts)


def variance(table: SecureTable) -> SecureFraction:
    """Exact sample variance (``statistics.variance``) in squared encoded units."""
    return _second_moment(table, sample=True)


def pvariance(table: SecureTable) -> SecureFraction:
    """Exact population variance (``statistics.pvariance``) in squared encoded units."""
    return _second_moment(table, sample=False)


def stdev(table: SecureTable) -> SecureFraction:
    """Sample standard deviation, released as the square root of the exact variance."""
    result = variance(table)
    return SecureFraction(result.numerator, result.denominator, root=True, power=2,
                          count=result.count)


def pstdev(table: SecureTable) -> SecureFraction:
    """Population standard deviation, released as the root of the exact variance."""
    result = pvariance(table)
    return SecureFraction(result.numerator, result.denominator, root=True, power=2,
                          count=result.count)
