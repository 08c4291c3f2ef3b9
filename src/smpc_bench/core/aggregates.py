"""Secure count, sum, mean, variance and standard deviation of every KPI, exactly.

Sums are local (free); every product needed is one batched inner product per KPI, so the
moments cost ``K*n`` multiplications and two resharing rounds whatever ``n`` is, plus one masked
opening when they need the wide field (:mod:`smpc_bench.core.moments`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smpc_bench.core.moments import spread
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


def variance(table: SecureTable) -> SecureFraction:
    """Exact sample variance (``statistics.variance``) in squared encoded units.

    In the wide field of :mod:`smpc_bench.core.moments` when the table's sizing has one.
    """
    return spread(table, sample=True)


def pvariance(table: SecureTable) -> SecureFraction:
    """Exact population variance (``statistics.pvariance``) in squared encoded units."""
    return spread(table, sample=False)


def stdev(table: SecureTable) -> SecureFraction:
    """Sample standard deviation, released as the square root of the exact variance."""
    return spread(table, sample=True, root=True)


def pstdev(table: SecureTable) -> SecureFraction:
    """Population standard deviation, released as the root of the exact variance."""
    return spread(table, sample=False, root=True)
