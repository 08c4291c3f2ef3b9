"""What every party of a round must agree on before any data moves, and its hash.

All parties must make the same sequence of MPyC calls; a round whose parties disagree on the
KPIs, bounds, statistics or threshold would hang or compute garbage.  Each party hashes the
canonical form of its :class:`RoundSpec` and the parties compare hashes first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from smpc_bench.kpi import KpiSpec
from smpc_bench.metrics import DEFAULT_METRICS, Metric
from smpc_bench.secure_table import DEFAULT_RADIX_BITS

__all__ = ["RoundSpec"]


@dataclass(frozen=True)
class RoundSpec:
    """The agreed parameters of one benchmarking round.

    Attributes:
        name: Human-readable round name, e.g. ``"Bakery benchmark 2026"``.
        kpis: The KPIs, in column order.
        metrics: Per KPI name, the statistics to release.
        min_contributions: Minimum number of valid contributions behind a released statistic.
        radix_bits: Digit width of the quantile walk.
        threshold: How many colluding firms the round withstands (MPyC's ``-T``); None for
            MPyC's default ``(m - 1) // 2`` (see :mod:`smpc_bench.threshold`).
    """

    name: str
    kpis: tuple[KpiSpec, ...]
    metrics: tuple[tuple[Metric, ...], ...]
    min_contributions: int = 5
    radix_bits: int = DEFAULT_RADIX_BITS
    threshold: int | None = None

    @classmethod
    def create(
        cls,
        name: str,
        kpis: Sequence[KpiSpec],
        metrics: Sequence[Sequence[Metric]] | None = None,
        *,
        min_contributions: int = 5,
        radix_bits: int = DEFAULT_RADIX_BITS,
        threshold: int | None = None,
    ) -> RoundSpec:
        """Build a spec; ``metrics`` defaults to :data:`DEFAULT_METRICS` for every KPI."""
        kpis = tuple(kpis)
        if not kpis:
            raise ValueError("a round needs at least one KPI")
        names = [k.name for k in kpis]
        if len(set(names)) != len(names):
            raise ValueError(f"KPI names must be unique, got {names}")
        if metrics is None:
            metrics = [DEFAULT_METRICS] * len(kpis)
        if len(metrics) != len(kpis):
            raise ValueError("one list of statistics per KPI is needed")
        if min_contributions < 3:
            raise ValueError("min_contributions must be at least 3")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, int) or threshold < 1):
            raise ValueError(f"the threshold must be a whole number of at least 1, not "
                             f"{threshold!r}")
        per_kpi = tuple(tuple(dict.fromkeys(m)) for m in metrics)
        return cls(name, kpis, per_kpi, min_contributions, radix_bits, threshold)

    @property
    def all_metrics(self) -> tuple[Metric, ...]:
        """Every statistic any KPI asks for (each computed once, for all KPIs)."""
        return tuple(dict.fromkeys(m for row in self.metrics for m in row))

    def canonical(self) -> str:
        """Canonical JSON text: equal for equal specs, on every machine."""
        document = {
            "name": self.name,
            "kpis": [
                {
                    "name": k.name,
                    "lower": str(k.lower_units),
                    "upper": str(k.lower_units + k.span),
                    "decimals": k.decimals,
                    "unit": k.unit,
                    "higher_is_better": k.higher_is_better,
                }
                for k in self.kpis
            ],
            "metrics": [[m.name for m in row] for row in self.metrics],
            "min_contributions": self.min_contributions,
            "radix_bits": self.radix_bits,
        }
        if self.threshold is not None:  # absent, not null: hashes of older files stay valid
            document["threshold"] = self.threshold
        return json.dumps(document, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of :meth:`canonical`, hex."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()
