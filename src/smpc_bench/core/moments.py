"""Exact variances in the wide field: ``(c*S2 - S1**2) / (c*(c-1))`` without widening the round.

``S2`` of offset values reaches ``n * 2**(2*value_bits)`` and the numerator ``n**2`` times that,
far beyond the round's main (64-bit) field.  So only the second moments are computed in the wide
field of :mod:`smpc_bench.core.field_switch`: the validity flags ``v`` and the products ``v*x``
are moved there once (one masked opening of ``2*K*n`` values), then ``S1 = sum v*x``,
``c = sum v``, ``S2 = sum (v*x)**2`` (one inner product per KPI: one resharing) and the numerator
``c*S2 - S1**2`` (with public counts ``S1**2`` shares that resharing; else one more).  A table whose
sizing has no wide field (``moment_field_bits`` None: the main field holds the moments) computes
the same in the main field, as :mod:`smpc_bench.core.aggregates` always did.

What is opened for a released variance or standard deviation is its numerator ``c*S2 - S1**2``
over the denominator ``c*(c-1)`` (``c**2`` for the population form), with the count ``c`` that
every statistic is released with.  Together they are exactly the variance: the numerator is
invariant under shifting every value, so it says nothing about the mean, and a standard
deviation released while the mean is suppressed does not disclose the mean.  ``S1`` and ``S2``
themselves are never opened (``S2`` with ``c`` and the variance would give the mean's square).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from smpc_bench.core.field_switch import wide_cells
from smpc_bench.core.secure_fraction import SecureFraction
from smpc_bench.core.secure_table import SecureTable

__all__ = ["spread"]


def _sums(valid: Any, products: Any) -> tuple[Any, Any, Any]:
    """``(c, S1, S2)`` per KPI from the flags and the products ``v*x`` of one field."""
    num_kpis, num_rows = valid.shape
    squares = (products.reshape(num_kpis, 1, num_rows)
               @ products.reshape(num_kpis, num_rows, 1)).reshape(num_kpis)  # v*v = v
    return np.sum(valid, axis=1), np.sum(products, axis=1), squares


def spread(table: SecureTable, *, sample: bool = True, root: bool = False,
           counts: Sequence[int] | None = None) -> SecureFraction:
    """Exact variance (or its root, the standard deviation) of every KPI, squared units.

    Args:
        table: The secret-shared table.
        sample: ``statistics.variance`` (denominator ``c*(c-1)``) if True, else
            ``statistics.pvariance`` (``c**2``).
        root: Release the square root (a standard deviation) of the exact variance.
        counts: Public counts of valid cells per KPI if already released: the denominator is
            then public and the numerator needs one resharing fewer.

    Returns:
        The fraction; its numerator (and secure denominator) is in the wide field when the
        table's sizing has one.
    """
    if table.sizing.moment_field_bits is None:
        valid = table.valid
        products = valid * table.values
    else:
        cells = wide_cells(table)
        valid, products = cells.valid, cells.products
    secure_counts, total, squares = _sums(valid, products)
    if counts is not None:
        public = np.array([int(c) for c in counts], dtype=object)
        numerator = squares * public - total * total
        denominator: Any = public * (public - 1) if sample else public * public
        count: Any = [int(c) for c in counts]
    else:
        numerator = secure_counts * squares - total * total
        denominator = secure_counts * (secure_counts - 1) if sample else \
            secure_counts * secure_counts
        count = np.sum(table.valid, axis=1)  # main field, as every other statistic's count
    return SecureFraction(numerator, denominator, root=root, power=2, count=count)
