"""Exact secure results: a secret numerator over a secret or public denominator.

Every statistic smpc-bench releases is released together with the number of valid contributions
behind it.  Given that count, opening the numerator and denominator of a mean, a variance or an
interpolated quantile discloses exactly as much as the statistic itself, and lets us divide in
the clear, exactly (no secure division, no rounding inside the MPC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SecureFraction"]


@dataclass(frozen=True)
class SecureFraction:
    """A secure array of exact ratios in encoded units (offset already added back).

    Attributes:
        numerator: Secure integer array, shape ``(K, ...)`` with one row per KPI.
        denominator: Secure integer array broadcastable to ``numerator``, or a public integer
            numpy array / int.  A zero denominator marks an undefined value (e.g. no data).
        root: Whether the released statistic is the square root of the ratio (standard
            deviation released as its exact variance).
        power: Power of the KPI's unit the ratio is expressed in: 1 for values, 2 for
            variances, 0 for pure numbers such as counts.
        offset: Public per-KPI shift in encoded units, added to the ratio after opening (the
            KPI's lower bound: values are stored offset to keep the field small), or None.
        count: The count of valid cells per KPI behind the statistic (secure array ``(K,)``,
            or public ints), released with it: a statistic over no data decodes to None.
        offset_per_count: The offset is added once per valid cell (sums:
            ``value = numerator + offset * count``) instead of once.
    """

    numerator: Any
    denominator: Any
    root: bool = False
    power: int = 1
    offset: Any = None
    count: Any = None
    offset_per_count: bool = False

    @property
    def public_denominator(self) -> bool:
        """Whether the denominator is public (known to every party without opening)."""
        return isinstance(self.denominator, (int, np.integer, np.ndarray))
