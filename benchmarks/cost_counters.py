"""Deterministic cost counters shared by the benchmarks (not a test module).

:func:`count_costs` records, while its block runs, facts that do not depend on timing or (for
oblivious protocols) on the data: every opening, through
:func:`smpc_bench.costs.openings.record_openings`, and the shape of every oblivious walk that
:mod:`smpc_bench.core.quantiles` starts.  :meth:`Costs.as_dict` flattens them for
``benchmark.extra_info`` or a JSON line.  Rounds, bytes, comparisons and reshared elements are
counted by :mod:`smpc_bench.costs` (``costs.track()``), which the budget gate uses.

Needs the MPyC runtime (it is loaded through :func:`smpc_bench.engine.driver.runtime`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from smpc_bench.core import quantiles as quantiles_module
from smpc_bench.costs.openings import OpeningLog, record_openings


@dataclass
class Costs:
    """What one block cost, in deterministic units."""

    openings: OpeningLog = field(default_factory=OpeningLog)
    walks: list[dict[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """Flat counters: openings, opened elements, walks and their levels/lanes."""
        opened = sum(math.prod(o.shape) if o.shape else 1 for o in self.openings.openings)
        result = {
            "openings": len(self.openings),
            "opened_elements": opened,
            "walks": len(self.walks),
        }
        if self.walks:
            result["walk_levels"] = sum(w["levels"] for w in self.walks)
            result["walk_lanes"] = max(w["lanes"] for w in self.walks)
            result["walk_kpis"] = max(w["kpis"] for w in self.walks)
        return result


@contextlib.contextmanager
def count_costs() -> Iterator[Costs]:
    """Count openings and walk shapes while the block runs (not re-entrant)."""
    costs = Costs()
    original_walk = quantiles_module.order_statistics

    def counting_walk(indicators: Any, valid: Any, ranks: Any, **kwargs: Any) -> Any:
        costs.walks.append(
            {"levels": len(indicators), "lanes": int(ranks.shape[1]), "kpis": int(valid.shape[0])}
        )
        return original_walk(indicators, valid, ranks, **kwargs)

    quantiles_module.order_statistics = counting_walk
    try:
        with record_openings() as log:
            costs.openings = log
            yield costs
    finally:
        quantiles_module.order_statistics = original_walk
