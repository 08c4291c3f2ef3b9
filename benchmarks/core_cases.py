"""Sizes, KPIs and plaintext data of the in-process benchmark suite (imported by its modules).

``SMPC_BENCH_QUICK=1`` selects the quick mode for CI: small sizes only and fewer rounds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from smpc_bench.core.secure_table import SecureTable
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import Sizing, size_for

#: Quick mode (CI): small sizes, few rounds.
QUICK = os.environ.get("SMPC_BENCH_QUICK", "0") not in ("", "0")
SIZES = (100, 1000) if QUICK else (100, 1000, 10_000)
KPI_COUNTS = (1, 6)

#: Six KPIs of a trade benchmark; the first alone is the one-KPI case (20-bit values).
KPIS = (
    KpiSpec("revenue_keur", 0, 1_000_000, unit="kEUR"),
    KpiSpec("gross_margin", -50, 100, decimals=2, unit="%"),
    KpiSpec("employees", 0, 500),
    KpiSpec("labour_cost_per_hour", 0, 200, decimals=2, unit="EUR"),
    KpiSpec("growth", -100, 100, decimals=1, unit="%"),
    KpiSpec("days_receivable", 0, 365),
)


def rounds_for(n: int) -> int:
    """Timed rounds per benchmark (after one warm-up round)."""
    if QUICK:
        return 3
    return 5 if n <= 1000 else 3


@dataclass
class Plain:
    """A plaintext table: offset values ``(K, n)`` and their KPIs."""

    specs: tuple[KpiSpec, ...]
    offsets: np.ndarray
    sizing: Sizing

    def column(self, k: int) -> list[int]:
        """Values of KPI ``k`` in encoded units (offset added back)."""
        return [int(v) + self.specs[k].lower_units for v in self.offsets[k]]


def make_plain(n: int, kpis: int, *, moments: bool, seed: int = 7) -> Plain:
    """Random integer data within each KPI's range (the same data for every ``moments``).

    ``moments`` sizes the field as a round does that releases a variance or standard deviation
    (wider: ``n**2 * 2**(2*value_bits)`` must fit), or not.
    """
    specs = KPIS[:kpis]
    rng = np.random.default_rng(seed + 1000 * kpis + n)
    offsets = np.stack([rng.integers(0, spec.span + 1, n) for spec in specs])
    return Plain(specs, offsets, size_for(specs, n, moments=moments))


@dataclass
class Case:
    """Shares of one benchmark size: the digits as the owners shared them, and the table."""

    plain: Plain
    digits: Any
    valid: Any
    table: SecureTable

    def fresh(self) -> SecureTable:
        """A new table on the same shares, without the lazily cached recombined values."""
        t = self.table
        return SecureTable(t.specs, t.sizing, t.indicators, t.valid, t.rejected, t.radix_bits)


